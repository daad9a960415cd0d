import S3Error from 's3rver/lib/models/error.js'

import type {EncryptionSetting, PublicAccessBlockSetting, TagSet, VersioningSetting} from './bucket-config.js'
import {asArray, text} from './xml.js'

/**
 * Bucket settings that are accepted, persisted and reported back (not enforced): versioning, default encryption,
 * public access block, tags. Each has its S3 API (SDK) JSON shape, a parser for the PUT body XML and the XML body of
 * the GET answer.
 */

const malformed = () =>
  new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.')

const bool = (v: unknown): boolean | undefined => {
  if (v === undefined || v === null || v === '') return undefined
  if (typeof v === 'boolean') return v
  const s = text(v).toLowerCase()
  if (s === 'true') return true
  if (s === 'false') return false
  throw malformed()
}

const defined = <T extends Record<string, unknown>>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T

// ---- versioning

export function parseVersioning(doc: Record<string, any>): VersioningSetting {
  const root = doc.VersioningConfiguration
  if (root === undefined) throw malformed()
  const status = text(root?.Status) || undefined
  const mfa = text(root?.MfaDelete ?? root?.MFADelete) || undefined
  if (status !== undefined && status !== 'Enabled' && status !== 'Suspended') throw malformed()
  return defined({Status: status, MFADelete: mfa})
}

export const versioningXmlBody = (v: VersioningSetting | undefined) =>
  defined({Status: v?.Status, MfaDelete: v?.MFADelete})

// ---- encryption

export function parseEncryption(doc: Record<string, any>): EncryptionSetting {
  const root = doc.ServerSideEncryptionConfiguration
  if (root === undefined) throw malformed()
  const rules = asArray<any>(root?.Rule).map((rule) => {
    const byDefault = rule?.ApplyServerSideEncryptionByDefault
    return defined({
      ApplyServerSideEncryptionByDefault:
        byDefault === undefined
          ? undefined
          : defined({SSEAlgorithm: text(byDefault?.SSEAlgorithm), KMSMasterKeyID: text(byDefault?.KMSMasterKeyID) || undefined}),
      BucketKeyEnabled: bool(rule?.BucketKeyEnabled),
    })
  })
  if (rules.length === 0) throw malformed()
  return {Rules: rules}
}

/** What GetBucketEncryption reports when nothing was put: S3's default SSE-S3 (AES256) encryption. */
export const DEFAULT_ENCRYPTION: EncryptionSetting = {
  Rules: [{ApplyServerSideEncryptionByDefault: {SSEAlgorithm: 'AES256'}, BucketKeyEnabled: false}],
}

export const encryptionXmlBody = (e: EncryptionSetting) => ({Rule: e.Rules})

// ---- public access block

const PAB_FIELDS = ['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets'] as const

export function parsePublicAccessBlock(doc: Record<string, any>): PublicAccessBlockSetting {
  const root = doc.PublicAccessBlockConfiguration
  if (root === undefined) throw malformed()
  return normalizePublicAccessBlock(typeof root === 'object' && root !== null ? root : {})
}

export function normalizePublicAccessBlock(value: Record<string, unknown>): PublicAccessBlockSetting {
  const out: PublicAccessBlockSetting = {}
  for (const f of PAB_FIELDS) {
    const b = bool(value[f])
    if (b !== undefined) out[f] = b
  }
  return out
}

export const publicAccessBlockXmlBody = (p: PublicAccessBlockSetting) =>
  Object.fromEntries(PAB_FIELDS.map((f) => [f, p[f] ?? false]))

// ---- tags

export function parseTagging(doc: Record<string, any>): TagSet {
  const root = doc.Tagging
  if (root === undefined) throw malformed()
  return asArray<any>(root?.TagSet?.Tag).map((t) => ({Key: String(t?.Key ?? ''), Value: String(t?.Value ?? '')}))
}

export const taggingXmlBody = (tags: TagSet) => ({TagSet: {Tag: tags}})

// ---- internal API input (putBucketSetting)

const badSetting = (kind: string, detail: string) => new S3Error('InvalidArgument', `Invalid ${kind} setting: ${detail}`)

/** Normalize a putBucketSetting value (S3 API shape, or the CloudFormation property shape) to the stored shape. */
export function normalizeSetting(kind: 'versioning' | 'encryption' | 'publicAccessBlock' | 'tags', value: unknown): unknown {
  const obj = (value ?? {}) as Record<string, any>
  switch (kind) {
    case 'versioning': {
      const status = obj.Status === undefined ? undefined : String(obj.Status)
      if (status !== undefined && status !== 'Enabled' && status !== 'Suspended') throw badSetting(kind, `Status ${status}`)
      return defined({Status: status, MFADelete: obj.MFADelete === undefined ? undefined : String(obj.MFADelete)})
    }
    case 'encryption': {
      const rules = asArray<any>(obj.Rules ?? obj.ServerSideEncryptionConfiguration)
      if (rules.length === 0) throw badSetting(kind, 'no rules')
      return {
        Rules: rules.map((r) => {
          const byDefault = r?.ApplyServerSideEncryptionByDefault ?? r?.ServerSideEncryptionByDefault
          return defined({
            ApplyServerSideEncryptionByDefault:
              byDefault === undefined
                ? undefined
                : defined({SSEAlgorithm: String(byDefault.SSEAlgorithm), KMSMasterKeyID: byDefault.KMSMasterKeyID === undefined ? undefined : String(byDefault.KMSMasterKeyID)}),
            BucketKeyEnabled: r?.BucketKeyEnabled === undefined ? undefined : bool(r.BucketKeyEnabled),
          })
        }),
      }
    }
    case 'publicAccessBlock':
      return normalizePublicAccessBlock(obj)
    case 'tags': {
      const tags = asArray<any>(Array.isArray(value) ? value : obj.TagSet)
      return tags.map((t) => {
        if (typeof t?.Key !== 'string') throw badSetting(kind, 'every tag needs a Key')
        return {Key: t.Key, Value: String(t.Value ?? '')}
      })
    }
  }
}
