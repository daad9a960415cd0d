/**
 * Map an S3 REST request (path-style: bucket and key already decoded by the caller) to the IAM action, resource ARN
 * and condition context AWS would authorize it with. Pure.
 *
 * Unknown sub-resources map to the action `s3:UnsupportedOperation` (operation 'Unsupported') so that only a
 * policy granting `s3:*` / `*` (or root) lets them through to the S3 backend.
 */

export interface S3AuthzCheck {
  action: string
  resource: string
}

export interface S3Authz extends S3AuthzCheck {
  /** Condition keys for the request (s3:prefix, s3:delimiter, s3:max-keys, s3:x-amz-acl, …). */
  context: Record<string, string>
  /** S3 API operation name (ListObjectsV2, PutObject, …). */
  operation: string
  /** Further checks the request needs (CopyObject / UploadPartCopy: s3:GetObject on the source object). */
  extra?: S3AuthzCheck[]
  /**
   * DeleteObjects: the real check is `action` on `objectArn(bucket, key)` for every key of the request body, done by
   * the S3 service; `resource` is then `arn:aws:s3:::<bucket>/*`.
   */
  perKey?: boolean
}

export type HeaderBag = Record<string, string | string[] | undefined>

export const bucketArn = (bucket: string): string => `arn:aws:s3:::${bucket}`
export const objectArn = (bucket: string, key: string): string => `arn:aws:s3:::${bucket}/${key}`

/** Bucket sub-resources: [GET, PUT, DELETE] as [operation, action] pairs. */
const BUCKET_SUBRESOURCES: Record<string, Partial<Record<'GET' | 'PUT' | 'DELETE', [string, string]>>> = {
  policy: {
    GET: ['GetBucketPolicy', 's3:GetBucketPolicy'],
    PUT: ['PutBucketPolicy', 's3:PutBucketPolicy'],
    DELETE: ['DeleteBucketPolicy', 's3:DeleteBucketPolicy'],
  },
  policyStatus: {GET: ['GetBucketPolicyStatus', 's3:GetBucketPolicyStatus']},
  notification: {
    GET: ['GetBucketNotificationConfiguration', 's3:GetBucketNotification'],
    PUT: ['PutBucketNotificationConfiguration', 's3:PutBucketNotification'],
  },
  versioning: {
    GET: ['GetBucketVersioning', 's3:GetBucketVersioning'],
    PUT: ['PutBucketVersioning', 's3:PutBucketVersioning'],
  },
  encryption: {
    GET: ['GetBucketEncryption', 's3:GetEncryptionConfiguration'],
    PUT: ['PutBucketEncryption', 's3:PutEncryptionConfiguration'],
    DELETE: ['DeleteBucketEncryption', 's3:PutEncryptionConfiguration'],
  },
  publicAccessBlock: {
    GET: ['GetPublicAccessBlock', 's3:GetBucketPublicAccessBlock'],
    PUT: ['PutPublicAccessBlock', 's3:PutBucketPublicAccessBlock'],
    DELETE: ['DeletePublicAccessBlock', 's3:PutBucketPublicAccessBlock'],
  },
  acl: {
    GET: ['GetBucketAcl', 's3:GetBucketAcl'],
    PUT: ['PutBucketAcl', 's3:PutBucketAcl'],
  },
  location: {GET: ['GetBucketLocation', 's3:GetBucketLocation']},
  tagging: {
    GET: ['GetBucketTagging', 's3:GetBucketTagging'],
    PUT: ['PutBucketTagging', 's3:PutBucketTagging'],
    DELETE: ['DeleteBucketTagging', 's3:PutBucketTagging'],
  },
  cors: {
    GET: ['GetBucketCors', 's3:GetBucketCORS'],
    PUT: ['PutBucketCors', 's3:PutBucketCORS'],
    DELETE: ['DeleteBucketCors', 's3:PutBucketCORS'],
  },
  website: {
    GET: ['GetBucketWebsite', 's3:GetBucketWebsite'],
    PUT: ['PutBucketWebsite', 's3:PutBucketWebsite'],
    DELETE: ['DeleteBucketWebsite', 's3:DeleteBucketWebsite'],
  },
  lifecycle: {
    GET: ['GetBucketLifecycleConfiguration', 's3:GetLifecycleConfiguration'],
    PUT: ['PutBucketLifecycleConfiguration', 's3:PutLifecycleConfiguration'],
    DELETE: ['DeleteBucketLifecycle', 's3:PutLifecycleConfiguration'],
  },
  ownershipControls: {
    GET: ['GetBucketOwnershipControls', 's3:GetBucketOwnershipControls'],
    PUT: ['PutBucketOwnershipControls', 's3:PutBucketOwnershipControls'],
    DELETE: ['DeleteBucketOwnershipControls', 's3:PutBucketOwnershipControls'],
  },
  logging: {
    GET: ['GetBucketLogging', 's3:GetBucketLogging'],
    PUT: ['PutBucketLogging', 's3:PutBucketLogging'],
  },
  'object-lock': {
    GET: ['GetObjectLockConfiguration', 's3:GetBucketObjectLockConfiguration'],
    PUT: ['PutObjectLockConfiguration', 's3:PutBucketObjectLockConfiguration'],
  },
  requestPayment: {
    GET: ['GetBucketRequestPayment', 's3:GetBucketRequestPayment'],
    PUT: ['PutBucketRequestPayment', 's3:PutBucketRequestPayment'],
  },
  accelerate: {
    GET: ['GetBucketAccelerateConfiguration', 's3:GetAccelerateConfiguration'],
    PUT: ['PutBucketAccelerateConfiguration', 's3:PutAccelerateConfiguration'],
  },
  replication: {
    GET: ['GetBucketReplication', 's3:GetReplicationConfiguration'],
    PUT: ['PutBucketReplication', 's3:PutReplicationConfiguration'],
    DELETE: ['DeleteBucketReplication', 's3:PutReplicationConfiguration'],
  },
}

/** Query parameters that are not sub-resources (they never change the operation of a bucket request). */
const BUCKET_PLAIN_PARAMS = new Set([
  'prefix', 'delimiter', 'max-keys', 'marker', 'list-type', 'continuation-token', 'start-after', 'fetch-owner',
  'encoding-type', 'key-marker', 'upload-id-marker', 'max-uploads', 'version-id-marker', 'x-id',
  'optional-object-attributes', 'expected-bucket-owner',
])

function header(headers: HeaderBag, name: string): string | undefined {
  const v = headers[name] ?? headers[Object.keys(headers).find((k) => k.toLowerCase() === name) ?? '']
  if (v === undefined) return undefined
  return Array.isArray(v) ? v.join(',') : v
}

const unsupported = (resource: string, context: Record<string, string> = {}): S3Authz => ({
  operation: 'Unsupported',
  action: 's3:UnsupportedOperation',
  resource,
  context,
})

/**
 * Parse an `x-amz-copy-source` value (`bucket/key`, `/bucket/key`, URL-encoded, optional `?versionId=`).
 * Returns null when it is not of that form (access-point ARNs are not supported).
 */
export function parseCopySource(value: string): {bucket: string; key: string; versionId?: string} | null {
  let v = value.trim()
  let versionId: string | undefined
  const q = v.indexOf('?')
  if (q !== -1) {
    const params = new URLSearchParams(v.slice(q + 1))
    versionId = params.get('versionId') ?? undefined
    v = v.slice(0, q)
  }
  if (v.startsWith('/')) v = v.slice(1)
  let decoded: string
  try {
    decoded = decodeURIComponent(v)
  } catch {
    return null
  }
  const slash = decoded.indexOf('/')
  if (slash <= 0 || slash === decoded.length - 1) return null
  const out: {bucket: string; key: string; versionId?: string} = {bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1)}
  if (versionId !== undefined) out.versionId = versionId
  return out
}

function objectWriteContext(headers: HeaderBag): Record<string, string> {
  const context: Record<string, string> = {}
  for (const h of [
    'x-amz-acl', 'x-amz-server-side-encryption', 'x-amz-server-side-encryption-aws-kms-key-id', 'x-amz-storage-class',
    'x-amz-grant-read', 'x-amz-grant-write', 'x-amz-grant-read-acp', 'x-amz-grant-write-acp', 'x-amz-grant-full-control',
    'x-amz-object-lock-mode', 'x-amz-object-lock-retain-until-date', 'x-amz-object-lock-legal-hold',
  ]) {
    const v = header(headers, h)
    if (v !== undefined) context[`s3:${h}`] = v
  }
  return {...context, ...conditionalWriteContext(headers)}
}

/** s3:if-none-match / s3:if-match: the conditional-write headers (absent when not sent, for `Null` conditions). */
function conditionalWriteContext(headers: HeaderBag): Record<string, string> {
  const context: Record<string, string> = {}
  const noneMatch = header(headers, 'if-none-match')
  if (noneMatch !== undefined) context['s3:if-none-match'] = noneMatch
  const match = header(headers, 'if-match')
  if (match !== undefined) context['s3:if-match'] = match
  return context
}

function copyCheck(headers: HeaderBag, context: Record<string, string>): S3AuthzCheck[] | null {
  const source = header(headers, 'x-amz-copy-source')
  if (source === undefined) return []
  const parsed = parseCopySource(source)
  if (!parsed) return null
  context['s3:x-amz-copy-source'] = source
  const directive = header(headers, 'x-amz-metadata-directive')
  if (directive !== undefined) context['s3:x-amz-metadata-directive'] = directive
  return [{
    action: parsed.versionId === undefined ? 's3:GetObject' : 's3:GetObjectVersion',
    resource: objectArn(parsed.bucket, parsed.key),
  }]
}

/** The IAM action/resource/context for one S3 request. `bucket`/`key` are decoded; `key` undefined or '' = bucket level. */
export function s3Authz(method: string, bucket: string | undefined, key: string | undefined, query: URLSearchParams, headers: HeaderBag): S3Authz {
  const m = method.toUpperCase()
  if (!bucket) {
    if (m === 'GET') return {operation: 'ListBuckets', action: 's3:ListAllMyBuckets', resource: '*', context: {}}
    return unsupported('*')
  }
  if (key === undefined || key === '') return bucketLevel(m, bucket, query)
  return objectLevel(m, bucket, key, query, headers)
}

function bucketLevel(m: string, bucket: string, query: URLSearchParams): S3Authz {
  const resource = bucketArn(bucket)
  const subresources = [...query.keys()].filter((k) => !BUCKET_PLAIN_PARAMS.has(k))

  if (subresources.length === 0) {
    switch (m) {
      case 'GET': {
        const context: Record<string, string> = {'s3:prefix': query.get('prefix') ?? ''}
        const delimiter = query.get('delimiter')
        if (delimiter !== null) context['s3:delimiter'] = delimiter
        const maxKeys = query.get('max-keys')
        if (maxKeys !== null) context['s3:max-keys'] = maxKeys
        const operation = query.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects'
        return {operation, action: 's3:ListBucket', resource, context}
      }
      case 'HEAD':
        return {operation: 'HeadBucket', action: 's3:ListBucket', resource, context: {}}
      case 'PUT':
        return {operation: 'CreateBucket', action: 's3:CreateBucket', resource, context: {}}
      case 'DELETE':
        return {operation: 'DeleteBucket', action: 's3:DeleteBucket', resource, context: {}}
      case 'POST':
        // Browser-form upload (PostObject): the key is in the form body; require PutObject on the whole bucket.
        return {operation: 'PostObject', action: 's3:PutObject', resource: `${resource}/*`, context: {}}
      default:
        return unsupported(resource)
    }
  }
  if (subresources.length > 1) return unsupported(resource)
  const sub = subresources[0]
  if (sub === 'uploads' && m === 'GET') {
    const context: Record<string, string> = {'s3:prefix': query.get('prefix') ?? ''}
    const delimiter = query.get('delimiter')
    if (delimiter !== null) context['s3:delimiter'] = delimiter
    return {operation: 'ListMultipartUploads', action: 's3:ListBucketMultipartUploads', resource, context}
  }
  if (sub === 'versions' && m === 'GET') {
    const context: Record<string, string> = {'s3:prefix': query.get('prefix') ?? ''}
    const delimiter = query.get('delimiter')
    if (delimiter !== null) context['s3:delimiter'] = delimiter
    return {operation: 'ListObjectVersions', action: 's3:ListBucketVersions', resource, context}
  }
  if (sub === 'delete' && m === 'POST') {
    return {operation: 'DeleteObjects', action: 's3:DeleteObject', resource: `${resource}/*`, context: {}, perKey: true}
  }
  const entry = BUCKET_SUBRESOURCES[sub]?.[m as 'GET' | 'PUT' | 'DELETE']
  if (!entry) return unsupported(resource)
  return {operation: entry[0], action: entry[1], resource, context: {}}
}

function objectLevel(m: string, bucket: string, key: string, query: URLSearchParams, headers: HeaderBag): S3Authz {
  const resource = objectArn(bucket, key)
  const versionId = query.get('versionId')
  const context: Record<string, string> = {}
  if (versionId !== null) context['s3:versionid'] = versionId
  const has = (name: string) => query.has(name)

  switch (m) {
    case 'GET':
    case 'HEAD': {
      const head = m === 'HEAD'
      if (has('acl')) return {operation: 'GetObjectAcl', action: versionId === null ? 's3:GetObjectAcl' : 's3:GetObjectVersionAcl', resource, context}
      if (has('tagging')) return {operation: 'GetObjectTagging', action: versionId === null ? 's3:GetObjectTagging' : 's3:GetObjectVersionTagging', resource, context}
      if (has('uploadId')) return {operation: 'ListParts', action: 's3:ListMultipartUploadParts', resource, context}
      if (has('attributes')) return {operation: 'GetObjectAttributes', action: versionId === null ? 's3:GetObjectAttributes' : 's3:GetObjectVersionAttributes', resource, context}
      if (has('retention')) return {operation: 'GetObjectRetention', action: 's3:GetObjectRetention', resource, context}
      if (has('legal-hold')) return {operation: 'GetObjectLegalHold', action: 's3:GetObjectLegalHold', resource, context}
      if (has('torrent')) return unsupported(resource, context)
      return {operation: head ? 'HeadObject' : 'GetObject', action: versionId === null ? 's3:GetObject' : 's3:GetObjectVersion', resource, context}
    }
    case 'PUT': {
      if (has('acl')) return {operation: 'PutObjectAcl', action: versionId === null ? 's3:PutObjectAcl' : 's3:PutObjectVersionAcl', resource, context: {...context, ...objectWriteContext(headers)}}
      if (has('tagging')) return {operation: 'PutObjectTagging', action: versionId === null ? 's3:PutObjectTagging' : 's3:PutObjectVersionTagging', resource, context}
      if (has('retention')) return {operation: 'PutObjectRetention', action: 's3:PutObjectRetention', resource, context}
      if (has('legal-hold')) return {operation: 'PutObjectLegalHold', action: 's3:PutObjectLegalHold', resource, context}
      const writeContext = {...context, ...objectWriteContext(headers)}
      const extra = copyCheck(headers, writeContext)
      if (extra === null) return unsupported(resource, writeContext)
      const part = has('partNumber') && has('uploadId')
      const operation = part ? (extra.length > 0 ? 'UploadPartCopy' : 'UploadPart') : extra.length > 0 ? 'CopyObject' : 'PutObject'
      // s3:ObjectCreationOperation: true for the requests that create the object (not for its parts)
      writeContext['s3:ObjectCreationOperation'] = String(!part)
      return {operation, action: 's3:PutObject', resource, context: writeContext, ...(extra.length > 0 ? {extra} : {})}
    }
    case 'DELETE': {
      if (has('uploadId')) return {operation: 'AbortMultipartUpload', action: 's3:AbortMultipartUpload', resource, context}
      if (has('tagging')) return {operation: 'DeleteObjectTagging', action: versionId === null ? 's3:DeleteObjectTagging' : 's3:DeleteObjectVersionTagging', resource, context}
      return {operation: 'DeleteObject', action: versionId === null ? 's3:DeleteObject' : 's3:DeleteObjectVersion', resource, context}
    }
    case 'POST': {
      if (has('uploads')) {
        return {operation: 'CreateMultipartUpload', action: 's3:PutObject', resource, context: {...objectWriteContext(headers), 's3:ObjectCreationOperation': 'false'}}
      }
      if (has('uploadId')) {
        return {operation: 'CompleteMultipartUpload', action: 's3:PutObject', resource, context: {...context, ...conditionalWriteContext(headers), 's3:ObjectCreationOperation': 'true'}}
      }
      if (has('restore')) return {operation: 'RestoreObject', action: 's3:RestoreObject', resource, context}
      if (has('select')) return {operation: 'SelectObjectContent', action: 's3:GetObject', resource, context}
      return unsupported(resource, context)
    }
    default:
      return unsupported(resource, context)
  }
}
