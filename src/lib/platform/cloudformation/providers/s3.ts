/**
 * AWS::S3::Bucket and AWS::S3::BucketPolicy on the platform's S3 service (its internal API: no HTTP, no authz).
 */
import type {S3Service} from '../../s3/types.js'
import type {Json} from '../template.js'
import {generatedName} from './names.js'
import {ProviderError, type Attributes, type Properties, type ProviderContext, type ResourceProvider} from './types.js'
import {ignoreNotFound, requireStr, same, str, tagList} from './util.js'

export type S3Deps = Pick<S3Service, 'createBucket' | 'deleteBucket' | 'putBucketPolicy' | 'putNotifications' | 'putBucketSetting'>

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/

type Obj = Record<string, Json>
const obj = (v: Json | undefined): Obj | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? v : undefined)

/** CloudFormation's NotificationConfiguration.LambdaConfigurations → the S3 service's notification input. */
export function lambdaNotifications(props: Properties) {
  const configs = obj(props.NotificationConfiguration)?.LambdaConfigurations
  if (configs === undefined) return []
  if (!Array.isArray(configs)) throw new ProviderError('NotificationConfiguration.LambdaConfigurations must be a list')
  const other = Object.keys(obj(props.NotificationConfiguration) ?? {}).filter((k) => k !== 'LambdaConfigurations' && k !== 'EventBridgeConfiguration')
  if (other.length > 0) throw new ProviderError(`NotificationConfiguration.${other[0]} is not supported on the local platform (only LambdaConfigurations)`)
  return configs.map((c, i) => {
    const cfg = obj(c) ?? {}
    const functionArn = str(cfg.Function)
    const event = str(cfg.Event)
    if (!functionArn || !event) throw new ProviderError(`LambdaConfigurations[${i}] needs Event and Function`)
    const rules = obj(obj(cfg.Filter)?.S3Key)?.Rules
    let prefix: string | undefined
    let suffix: string | undefined
    for (const r of Array.isArray(rules) ? rules : []) {
      const rule = obj(r) ?? {}
      const name = String(rule.Name ?? '').toLowerCase()
      if (name === 'prefix') prefix = str(rule.Value)
      else if (name === 'suffix') suffix = str(rule.Value)
      else throw new ProviderError(`Invalid filter rule name ${String(rule.Name)} (prefix or suffix)`)
    }
    return {id: `${i + 1}`, functionArn, events: [event], ...(prefix === undefined ? {} : {prefix}), ...(suffix === undefined ? {} : {suffix})}
  })
}

const SETTINGS = [
  ['VersioningConfiguration', 'versioning'],
  ['BucketEncryption', 'encryption'],
  ['PublicAccessBlockConfiguration', 'publicAccessBlock'],
  ['Tags', 'tags'],
] as const

const UNSUPPORTED_BUCKET_PROPS = ['WebsiteConfiguration', 'ReplicationConfiguration', 'ObjectLockConfiguration', 'ObjectLockEnabled',
  'AccelerateConfiguration', 'InventoryConfigurations', 'AnalyticsConfigurations', 'IntelligentTieringConfigurations']

async function applyBucketSettings(s3: S3Deps, name: string, oldProps: Properties, props: Properties): Promise<void> {
  for (const [prop, kind] of SETTINGS) {
    if (same(oldProps[prop], props[prop])) continue
    const value = props[prop]
    await s3.putBucketSetting(name, kind, value === undefined ? null : kind === 'tags' ? tagList(value) : value)
  }
  if (!same(oldProps.NotificationConfiguration, props.NotificationConfiguration)) {
    await s3.putNotifications(name, {lambda: lambdaNotifications(props)})
  }
}

const bucketAttributes = (ctx: ProviderContext, name: string): Attributes => ({
  Arn: `arn:aws:s3:::${name}`,
  DomainName: `${name}.s3.amazonaws.com`,
  RegionalDomainName: `${name}.s3.${ctx.region}.amazonaws.com`,
  DualStackDomainName: `${name}.s3.dualstack.${ctx.region}.amazonaws.com`,
  WebsiteURL: `http://${name}.s3-website-${ctx.region}.amazonaws.com`,
})

export function s3Providers(s3: S3Deps): Record<string, ResourceProvider> {
  const bucket: ResourceProvider = {
    attributes: ['Arn', 'DomainName', 'RegionalDomainName', 'DualStackDomainName', 'WebsiteURL'],
    async create(ctx, _logicalId, props) {
      const unsupported = UNSUPPORTED_BUCKET_PROPS.filter((p) => props[p] !== undefined)
      if (unsupported.length > 0) throw new ProviderError(`AWS::S3::Bucket property ${unsupported[0]} is not supported on the local platform`)
      const name = str(props.BucketName) ?? generatedName(ctx, {maxLength: 63, lowerCase: true})
      if (!BUCKET_NAME.test(name) || name.includes('..')) throw new ProviderError(`Bucket name should not contain uppercase characters: ${name} is not a valid bucket name`)
      lambdaNotifications(props) // validate before creating anything
      await s3.createBucket(name)
      try {
        await applyBucketSettings(s3, name, {}, props)
      } catch (error) {
        await s3.deleteBucket(name, {force: true}).catch(() => {})
        throw error
      }
      return {physicalId: name, attributes: bucketAttributes(ctx, name)}
    },
    async update(ctx, _logicalId, physicalId, oldProps, newProps) {
      const unsupported = UNSUPPORTED_BUCKET_PROPS.filter((p) => newProps[p] !== undefined)
      if (unsupported.length > 0) throw new ProviderError(`AWS::S3::Bucket property ${unsupported[0]} is not supported on the local platform`)
      await applyBucketSettings(s3, physicalId, oldProps, newProps)
      return {attributes: bucketAttributes(ctx, physicalId)}
    },
    async delete(_ctx, physicalId) {
      // like AWS: a bucket that still holds objects is not deleted (BucketNotEmpty → DELETE_FAILED)
      await ignoreNotFound(() => s3.deleteBucket(physicalId))
    },
  }

  const policy: ResourceProvider = {
    attributes: [],
    async create(_ctx, _logicalId, props) {
      const name = requireStr('AWS::S3::BucketPolicy', props, 'Bucket')
      await s3.putBucketPolicy(name, policyObject(props.PolicyDocument))
      return {physicalId: name, attributes: {}}
    },
    async update(_ctx, _logicalId, physicalId, _oldProps, newProps) {
      await s3.putBucketPolicy(physicalId, policyObject(newProps.PolicyDocument))
      return {attributes: {}}
    },
    async delete(_ctx, physicalId) {
      await ignoreNotFound(() => s3.putBucketPolicy(physicalId, null))
    },
  }
  return {'AWS::S3::Bucket': bucket, 'AWS::S3::BucketPolicy': policy}
}

function policyObject(v: Json | undefined) {
  if (v === undefined || v === null) throw new ProviderError('Property PolicyDocument is required for AWS::S3::BucketPolicy')
  let doc: unknown = v
  if (typeof v === 'string') {
    try {
      doc = JSON.parse(v)
    } catch {
      throw new ProviderError('Policy has invalid JSON (AWS::S3::BucketPolicy)')
    }
  }
  if (typeof doc !== 'object' || doc === null || !('Statement' in doc)) throw new ProviderError('Policy is missing required element - Statement (AWS::S3::BucketPolicy)')
  return doc as Parameters<S3Deps['putBucketPolicy']>[1] & object
}
