/**
 * EC2 networking resources on the local platform are *recorded*, not run: there is no network to build. Each
 * resource checks its required properties (and CIDR syntax), gets an AWS-shaped id (vpc-0abc…), and exposes the
 * attributes templates read with Fn::GetAtt. Everything is kept in the stack's resource state.
 */
import {randomBytes} from 'node:crypto'
import type {Json} from '../template.js'
import {ProviderError, type Attributes, type Properties, type ProviderContext, type ResourceProvider} from './types.js'

export const ec2Id = (prefix: string) => `${prefix}-0${randomBytes(8).toString('hex').slice(0, 16)}`

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/

export function parseCidr(cidr: string): {base: number; bits: number} | undefined {
  const m = CIDR.exec(cidr)
  if (!m) return undefined
  const octets = m.slice(1, 5).map(Number)
  const bits = Number(m[5])
  if (octets.some((o) => o > 255) || bits > 32) return undefined
  const base = ((octets[0] << 24) >>> 0) + (octets[1] << 16) + (octets[2] << 8) + octets[3]
  return {base, bits}
}

function requireString(type: string, props: Properties, name: string): string {
  const v = props[name]
  if (v === undefined || v === null || v === '') throw new ProviderError(`Property ${name} is required for ${type}`)
  if (typeof v !== 'string' && typeof v !== 'number') throw new ProviderError(`Property ${name} of ${type} must be a string`)
  return String(v)
}

function requireCidr(type: string, props: Properties, name: string, minBits = 16, maxBits = 28): string {
  const cidr = requireString(type, props, name)
  const parsed = parseCidr(cidr)
  if (!parsed) throw new ProviderError(`Value (${cidr}) for parameter cidrBlock is invalid. This is not a valid CIDR block. (${type})`)
  if (parsed.bits < minBits || parsed.bits > maxBits) {
    throw new ProviderError(`The CIDR '${cidr}' is invalid: the netmask must be between /${minBits} and /${maxBits} (${type})`)
  }
  return cidr
}

interface RecordedSpec {
  prefix: string
  attributes: readonly string[]
  /** Validate the properties and compute attributes (id is the generated physical id). */
  build(ctx: ProviderContext, id: string, props: Properties, previous?: Attributes): Attributes
  /** Physical id is not `prefix-…` but built from the properties (e.g. routes). */
  physicalId?(props: Properties): string
}

/** A provider that only records the resource: create generates an id, update recomputes attributes, delete is a no-op. */
export function recordedProvider(type: string, spec: RecordedSpec): ResourceProvider {
  return {
    attributes: spec.attributes,
    async create(ctx, _logicalId, props) {
      const id = spec.physicalId ? spec.physicalId(props) : ec2Id(spec.prefix)
      return {physicalId: id, attributes: spec.build(ctx, id, props)}
    },
    async update(ctx, _logicalId, physicalId, _oldProps, newProps) {
      return {attributes: spec.build(ctx, physicalId, newProps)}
    },
    async delete() {},
  }
}

const tagsOf = (props: Properties): Json => (Array.isArray(props.Tags) ? props.Tags : [])

export function ec2Providers(): Record<string, ResourceProvider> {
  return {
    'AWS::EC2::VPC': recordedProvider('AWS::EC2::VPC', {
      prefix: 'vpc',
      attributes: ['CidrBlock', 'CidrBlockAssociations', 'DefaultNetworkAcl', 'DefaultSecurityGroup', 'Ipv6CidrBlocks', 'VpcId'],
      build: (_ctx, id, props) => {
        const cidr = requireCidr('AWS::EC2::VPC', props, 'CidrBlock')
        return {
          VpcId: id, CidrBlock: cidr, CidrBlockAssociations: [ec2Id('vpc-cidr-assoc')],
          DefaultNetworkAcl: ec2Id('acl'), DefaultSecurityGroup: ec2Id('sg'), Ipv6CidrBlocks: [],
          EnableDnsHostnames: String(props.EnableDnsHostnames ?? false), EnableDnsSupport: String(props.EnableDnsSupport ?? true),
          Tags: tagsOf(props),
        }
      },
    }),
    'AWS::EC2::Subnet': recordedProvider('AWS::EC2::Subnet', {
      prefix: 'subnet',
      attributes: ['AvailabilityZone', 'AvailabilityZoneId', 'CidrBlock', 'Ipv6CidrBlocks', 'NetworkAclAssociationId', 'OutpostArn', 'SubnetId', 'VpcId'],
      build: (ctx, id, props) => {
        const vpcId = requireString('AWS::EC2::Subnet', props, 'VpcId')
        const cidr = requireCidr('AWS::EC2::Subnet', props, 'CidrBlock')
        const az = props.AvailabilityZone === undefined ? `${ctx.region}a` : String(props.AvailabilityZone)
        return {
          SubnetId: id, VpcId: vpcId, CidrBlock: cidr, AvailabilityZone: az,
          AvailabilityZoneId: `use1-az${(az.charCodeAt(az.length - 1) - 96) || 1}`, Ipv6CidrBlocks: [],
          NetworkAclAssociationId: ec2Id('aclassoc'), OutpostArn: '', Tags: tagsOf(props),
        }
      },
    }),
    'AWS::EC2::RouteTable': recordedProvider('AWS::EC2::RouteTable', {
      prefix: 'rtb',
      attributes: ['RouteTableId'],
      build: (_ctx, id, props) => ({RouteTableId: id, VpcId: requireString('AWS::EC2::RouteTable', props, 'VpcId'), Tags: tagsOf(props)}),
    }),
    'AWS::EC2::SubnetRouteTableAssociation': recordedProvider('AWS::EC2::SubnetRouteTableAssociation', {
      prefix: 'rtbassoc',
      attributes: ['Id'],
      build: (_ctx, id, props) => ({
        Id: id,
        SubnetId: requireString('AWS::EC2::SubnetRouteTableAssociation', props, 'SubnetId'),
        RouteTableId: requireString('AWS::EC2::SubnetRouteTableAssociation', props, 'RouteTableId'),
      }),
    }),
    'AWS::EC2::VPCEndpoint': recordedProvider('AWS::EC2::VPCEndpoint', {
      prefix: 'vpce',
      attributes: ['CreationTimestamp', 'DnsEntries', 'Id', 'NetworkInterfaceIds'],
      build: (_ctx, id, props) => {
        const type = props.VpcEndpointType === undefined ? 'Gateway' : String(props.VpcEndpointType)
        if (!['Gateway', 'Interface', 'GatewayLoadBalancer'].includes(type)) {
          throw new ProviderError(`Invalid VpcEndpointType ${type} (AWS::EC2::VPCEndpoint)`)
        }
        return {
          Id: id, ServiceName: requireString('AWS::EC2::VPCEndpoint', props, 'ServiceName'),
          VpcId: requireString('AWS::EC2::VPCEndpoint', props, 'VpcId'), VpcEndpointType: type,
          CreationTimestamp: new Date().toISOString(), DnsEntries: [], NetworkInterfaceIds: [],
        }
      },
    }),
    'AWS::EC2::SecurityGroup': recordedProvider('AWS::EC2::SecurityGroup', {
      prefix: 'sg',
      attributes: ['GroupId', 'VpcId'],
      build: (_ctx, id, props) => {
        requireString('AWS::EC2::SecurityGroup', props, 'GroupDescription')
        return {GroupId: id, VpcId: props.VpcId === undefined ? '' : String(props.VpcId), Tags: tagsOf(props)}
      },
    }),
    'AWS::EC2::InternetGateway': recordedProvider('AWS::EC2::InternetGateway', {
      prefix: 'igw',
      attributes: ['InternetGatewayId'],
      build: (_ctx, id, props) => ({InternetGatewayId: id, Tags: tagsOf(props)}),
    }),
    'AWS::EC2::VPCGatewayAttachment': recordedProvider('AWS::EC2::VPCGatewayAttachment', {
      prefix: 'igw-attach',
      attributes: [],
      physicalId: (props) => `IGW|${String(props.VpcId ?? '')}`,
      build: (_ctx, _id, props) => {
        requireString('AWS::EC2::VPCGatewayAttachment', props, 'VpcId')
        return {}
      },
    }),
    'AWS::EC2::Route': recordedProvider('AWS::EC2::Route', {
      prefix: 'r',
      attributes: [],
      physicalId: (props) => `${String(props.RouteTableId ?? '')}|${String(props.DestinationCidrBlock ?? props.DestinationIpv6CidrBlock ?? '')}`,
      build: (_ctx, _id, props) => {
        requireString('AWS::EC2::Route', props, 'RouteTableId')
        return {}
      },
    }),
  }
}
