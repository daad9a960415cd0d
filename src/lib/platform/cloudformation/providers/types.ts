/**
 * The resource-provider interface of the local CloudFormation engine, and the registry keyed by resource type.
 */
import type {Json} from '../template.js'

/** What a provider knows about the operation it runs in. */
export interface ProviderContext {
  stackName: string
  stackId: string
  logicalId: string
  accountId: string
  region: string
}

export type Properties = Record<string, Json>
export type Attributes = Record<string, Json>

export interface CreateResult {
  /** What `Ref` returns and DescribeStackResources shows as PhysicalResourceId. */
  physicalId: string
  /** Values for Fn::GetAtt. */
  attributes: Attributes
}

export interface UpdateResult {
  /** Set when the update produced a different physical resource. */
  physicalId?: string
  attributes: Attributes
}

export interface ResourceProvider {
  create(ctx: ProviderContext, logicalId: string, props: Properties): Promise<CreateResult>
  /** In-place update (the engine replaces — create new, delete old — when a replacement property changed). */
  update(ctx: ProviderContext, logicalId: string, physicalId: string, oldProps: Properties, newProps: Properties): Promise<UpdateResult>
  /** Delete; must succeed when the resource is already gone. */
  delete(ctx: ProviderContext, physicalId: string, props: Properties): Promise<void>
  /** Attribute names Fn::GetAtt accepts; anything else is a template error. Undefined = any. */
  attributes?: readonly string[]
  /** Attributes whose values are secrets: masked in events, ResourceProperties and status reasons. */
  secretAttributes?: readonly string[]
}

export type ProviderRegistry = Map<string, ResourceProvider>

/** Error a provider throws for bad input; its message becomes the resource's ResourceStatusReason. */
export class ProviderError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ProviderError'
  }
}

export const unsupportedResourceType = (type: string) => `Unsupported resource type ${type} on the local platform`
