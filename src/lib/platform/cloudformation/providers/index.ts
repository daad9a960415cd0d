/**
 * The provider registry: resource type → provider. EC2 types are recorded; S3, IAM and Lambda types call the
 * platform's S3Service / IamStore / LambdaRuntime, passed in through ProviderDeps.
 */
import type {AthenaStore} from '../../athena/store.js'
import type {EventBus} from '../../events/rules.js'
import type {GlueCatalog} from '../../glue/catalog.js'
import type {IamStore} from '../../iam/store.js'
import type {LambdaRuntime} from '../../lambda/types.js'
import type {S3Service} from '../../s3/types.js'
import {analyticsProviders} from './analytics.js'
import {ec2Providers} from './ec2.js'
import {eventsProviders} from './events.js'
import {iamProviders} from './iam.js'
import {lambdaProviders} from './lambda.js'
import {s3Providers} from './s3.js'
import type {ProviderRegistry, ResourceProvider} from './types.js'

export type {ProviderContext, ProviderRegistry, ResourceProvider} from './types.js'

export interface ProviderDeps {
  s3: S3Service
  iam: IamStore
  lambda: LambdaRuntime
  accountId: string
  region: string
  /** Glue catalog and Athena store (phase 2 types); without them those types are unsupported */
  catalog?: GlueCatalog
  athena?: AthenaStore
  /** the platform's event bus (AWS::Events::Rule) */
  events?: EventBus
}

/** Build a registry from provider maps (later maps win). */
export function providerRegistry(...maps: Array<Record<string, ResourceProvider>>): ProviderRegistry {
  const registry: ProviderRegistry = new Map()
  for (const m of maps) for (const [type, p] of Object.entries(m)) registry.set(type, p)
  return registry
}

/** Every resource type the local platform supports, on the platform's services. */
export function platformProviders(deps: ProviderDeps): ProviderRegistry {
  return providerRegistry(
    ec2Providers(),
    s3Providers(deps.s3),
    iamProviders(deps.iam),
    lambdaProviders({lambda: deps.lambda, s3: deps.s3, iam: deps.iam}),
    deps.catalog && deps.athena ? analyticsProviders(deps.catalog, deps.athena) : {},
    deps.events ? eventsProviders(deps.events) : {},
  )
}

/** The resource types platformProviders() registers (for docs and error hints). */
export const SUPPORTED_RESOURCE_TYPES = [
  'AWS::EC2::VPC', 'AWS::EC2::Subnet', 'AWS::EC2::RouteTable', 'AWS::EC2::SubnetRouteTableAssociation', 'AWS::EC2::VPCEndpoint',
  'AWS::EC2::SecurityGroup', 'AWS::EC2::InternetGateway', 'AWS::EC2::VPCGatewayAttachment', 'AWS::EC2::Route',
  'AWS::S3::Bucket', 'AWS::S3::BucketPolicy',
  'AWS::IAM::User', 'AWS::IAM::Group', 'AWS::IAM::Role', 'AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy', 'AWS::IAM::AccessKey',
  'AWS::IAM::UserToGroupAddition',
  'AWS::Lambda::Function', 'AWS::Lambda::Permission',
  'AWS::Glue::Database', 'AWS::Glue::Table', 'AWS::Athena::WorkGroup', 'AWS::Events::Rule',
] as const

/** Alias of platformProviders (the name src/lib/local/boot.ts looks for). */
export const platformRegistry = platformProviders

/** EC2 types only (no platform services needed). */
export const ec2Registry = (): ProviderRegistry => providerRegistry(ec2Providers())
