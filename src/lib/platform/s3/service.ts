import {createHash, randomBytes} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {mkdir, readFile, rm} from 'node:fs/promises'
import type {IncomingMessage} from 'node:http'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import pLimit from 'p-limit'
import S3rver, {type KoaContext} from 's3rver'
import S3Error from 's3rver/lib/models/error.js'

import {CapeError} from '../../cli/errors.js'
import {ExitCode} from '../../cli/exit-codes.js'
import {checkPolicyDocument, type PolicyDocument} from '../auth/policy.js'
import {objectArn, parseCopySource, s3Authz, type S3Authz} from '../auth/s3-actions.js'
import {checkPayloadHash} from '../auth/sigv4.js'
import {getRequestPrincipal} from '../identity.js'
import {attributesHandlers, partRange} from './attributes.js'
import {aclFromHeaders, aclHandlers, checkAclAllowed, OWNERSHIP_VALUES, owner} from './acl.js'
import {AwsChunkedDecoder, isAwsChunked} from './aws-chunked.js'
import {BucketConfigStore, type NotificationSettings} from './bucket-config.js'
import {compareKeys, decodeContinuationToken, encodeContinuationToken, listKeys, listPage} from './listing.js'
import {checkWriteConditions, hasWriteConditions, KeyLocks} from './conditions.js'
import {buildEvent, nextSequencer, notificationXmlBody, parseNotificationXml, targetMatches, validateTarget} from './notifications.js'
import type {ExtDeps} from './extension.js'
import {ObjectExtras} from './object-extras.js'
import {objectReadHeaders, prepareObjectWrite, prepareUpload, uploadExtras} from './object-hooks.js'
import {objectLockHandlers} from './object-lock.js'
import {metadataFromHeaders, type ObjectInfo, ObjectStore, validateKey} from './objects.js'
import {policyStatusHandlers} from './policy-status.js'
import {
  DEFAULT_ENCRYPTION,
  encryptionXmlBody,
  normalizeSetting,
  parseEncryption,
  parsePublicAccessBlock,
  parseTagging,
  parseVersioning,
  publicAccessBlockXmlBody,
  taggingXmlBody,
  versioningXmlBody,
} from './settings.js'
import {taggingHandlers} from './tagging.js'
import {listObjectVersions} from './version-listing.js'
import {type DeleteOutcome, Versioning} from './versioning.js'
import {VersionsStore} from './versions-store.js'
import type {AuthorizeCheck, BucketSettingKind, S3Service, S3ServiceOptions} from './types.js'
import {asArray, parseXml, text, toXml} from './xml.js'

/**
 * The local platform's S3 service: s3rver 3.7.1's Koa app with one middleware spliced in front of s3rver's router.
 * That middleware authorizes every request (action/resource/context from auth/s3-actions, the bucket policy, the
 * platform's `authorize`) and serves most operations itself on s3rver's FilesystemStore, fixing s3rver's pitfalls
 * (see ARCHITECTURE.md): listings (sorted, > 1,000 keys, own continuation tokens), aws-chunked bodies, atomic writes,
 * multipart (md5-of-md5s-N ETags, UploadPartCopy, ListParts, ListMultipartUploads, Abort), CopySource decoding, DeleteObjects events,
 * Range GET, bucket policy / notification / versioning / encryption / public access block / tagging.
 * Object versions (ids, kept versions, delete markers, reads/deletes/copies by versionId, ListObjectVersions) live in
 * versioning.ts, versions-store.ts and version-listing.ts; every write here goes through `conditionalWrite`.
 * ACLs, ownership controls, object tagging, part reads, GetObjectAttributes, policy status and object lock live in
 * their own modules (acl.ts, tagging.ts, attributes.ts, object-lock.ts, policy-status.ts, object-hooks.ts).
 * Left to s3rver's own controllers: bucket CORS and website.
 * s3rver's own 'event' emitter is not used: notifications are raised here, after the response, never failing it.
 */

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/
const MAX_XML_BODY = 2 * 1024 * 1024

const s3Error = (code: string, message: string, status: number, detail: Record<string, unknown> = {}) => {
  const err = new S3Error(code, message, detail)
  err.status = status
  err.expose = status < 500
  return err
}

const isAuthError = (e: unknown): e is Error & {code: string; status: number} =>
  e instanceof Error && typeof (e as {code?: unknown}).code === 'string' && typeof (e as {status?: unknown}).status === 'number'

function validBucketName(name: string): boolean {
  return BUCKET_NAME.test(name) && !name.includes('..') && !/^\d+\.\d+\.\d+\.\d+$/.test(name)
}

/** Per-request state. */
interface Req {
  ctx: KoaContext
  requestId: string
  bucket?: string
  key?: string
  query: URLSearchParams
  authz: S3Authz
}

function parsePath(path: string): {bucket?: string; key?: string} {
  const rest = path.replace(/^\//, '')
  const slash = rest.indexOf('/')
  const rawBucket = slash === -1 ? rest : rest.slice(0, slash)
  const rawKey = slash === -1 ? '' : rest.slice(slash + 1)
  try {
    const bucket = decodeURIComponent(rawBucket)
    const key = decodeURIComponent(rawKey)
    return {bucket: bucket || undefined, key: key || undefined}
  } catch {
    throw new S3Error('InvalidURI', "Couldn't parse the specified URI.", {URI: path})
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const source: Readable = isAwsChunked(req.headers) ? req.pipe(new AwsChunkedDecoder()) : req
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of source) {
    size += (chunk as Buffer).length
    if (size > MAX_XML_BODY) throw new S3Error('MaxMessageLengthExceeded', 'Your request was too big.')
    chunks.push(chunk as Buffer)
  }
  const body = Buffer.concat(chunks)
  const declared = req.headers['x-amz-content-sha256']
  if (typeof declared === 'string' && !isAwsChunked(req.headers)) {
    checkPayloadHash(declared.toLowerCase(), createHash('sha256').update(body).digest('hex'))
  }
  return body.toString('utf8')
}

function sendXml(ctx: KoaContext, root: string, body: Record<string, unknown>, status = 200): void {
  ctx.status = status
  ctx.type = 'application/xml'
  ctx.body = toXml(root, body)
}

export async function createS3Service(options: S3ServiceOptions): Promise<S3Service> {
  const region = options.region ?? 'us-east-1'
  const accountId = options.accountId ?? '000000000000'
  const objectsDir = join(options.dataDir, 'buckets')
  await mkdir(objectsDir, {recursive: true})
  const configs = new BucketConfigStore(join(options.dataDir, 'bucket-config'))
  await configs.load()

  const app = new S3rver({directory: objectsDir, silent: true, vhostBuckets: false})
  const store = app.store
  const objects = new ObjectStore(store)
  const extras = new ObjectExtras(store)
  const locks = new KeyLocks()
  const versioning = new Versioning(objects, new VersionsStore(join(options.dataDir, 'versions')), configs, locks)
  /**
   * Run a write to bucket/key; with If-None-Match/If-Match, or on a versioned bucket, it runs under the key's lock
   * (after the check; keeping the version it replaces). versionId: the new version's, for x-amz-version-id.
   */
  const conditionalWrite = async <T>(r: Req, bucket: string, key: string, write: () => Promise<T>): Promise<{result: T; versionId?: string}> => {
    const headers = r.ctx.req.headers
    if (!hasWriteConditions(headers) && !versioning.status(bucket)) return {result: await write()}
    return locks.run(bucket, key, async () => {
      if (hasWriteConditions(headers)) checkWriteConditions(headers, await objects.head(bucket, key), key)
      return versioning.record(bucket, key, write)
    })
  }
  const setVersionHeader = (r: Req, versionId: string | undefined) => {
    if (versionId !== undefined) r.ctx.set('x-amz-version-id', versionId)
  }
  const counters: Record<string, number> = {}
  const count = (name: string) => {
    counters[name] = (counters[name] ?? 0) + 1
  }

  // Bucket existence is asked on every request: kept in memory, updated by the create/delete paths below.
  const knownBuckets = new Map<string, boolean>()
  const bucketExists = async (name: string) => {
    if (!validBucketName(name)) return false
    const known = knownBuckets.get(name)
    if (known !== undefined) return known
    const exists = (await store.getBucket(name)) !== null
    knownBuckets.set(name, exists)
    return exists
  }
  const requireBucket = async (name: string | undefined): Promise<string> => {
    if (name === undefined || !(await bucketExists(name))) {
      throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', {BucketName: name ?? ''})
    }
    return name
  }
  const requireKey = (r: Req): string => {
    const key = r.key as string
    validateKey(key)
    return key
  }

  // ---- authorization

  async function check(r: Req, c: AuthorizeCheck): Promise<void> {
    try {
      await options.authorize(r.ctx.req, c)
    } catch (error) {
      if (isAuthError(error)) {
        const resource = c.bucket === undefined ? '/' : `/${c.bucket}${c.key === undefined ? '' : `/${c.key}`}`
        throw s3Error(error.code, error.message || 'Access Denied', error.status, {Resource: resource})
      }
      throw error
    }
  }

  const policyOf = async (bucket: string | undefined): Promise<PolicyDocument | undefined> =>
    bucket !== undefined && (await bucketExists(bucket)) ? configs.get(bucket).policy : undefined

  async function authorizeRequest(r: Req): Promise<void> {
    const {authz} = r
    if (!authz.perKey) {
      await check(r, {
        action: authz.action,
        resource: authz.resource,
        context: authz.context,
        ...(r.bucket !== undefined ? {bucket: r.bucket} : {}),
        ...(r.key !== undefined ? {key: r.key} : {}),
        ...(await policyFields(r.bucket)),
      })
    }
    for (const extra of authz.extra ?? []) {
      const path = extra.resource.replace(/^arn:aws:s3:::/, '')
      const slash = path.indexOf('/')
      const bucket = slash === -1 ? path : path.slice(0, slash)
      const key = slash === -1 ? undefined : path.slice(slash + 1)
      await check(r, {
        action: extra.action,
        resource: extra.resource,
        context: authz.context,
        bucket,
        ...(key !== undefined ? {key} : {}),
        ...(await policyFields(bucket)),
      })
    }
  }

  async function policyFields(bucket: string | undefined): Promise<{bucketPolicy?: PolicyDocument}> {
    const policy = await policyOf(bucket)
    return policy ? {bucketPolicy: policy} : {}
  }

  // ---- notifications

  function notify(r: Req | undefined, bucket: string, key: string, eventName: string, object: {size?: number; eTag?: string}): void {
    const onNotify = options.onNotify
    if (!onNotify) return
    const targets = (configs.get(bucket).notifications?.lambda ?? []).filter((t) => targetMatches(t, eventName, key))
    if (targets.length === 0) return
    const principal = r ? getRequestPrincipal(r.ctx.req) : undefined
    const base = {
      region,
      accountId,
      bucket,
      key,
      eventName,
      principalId: principal ? `AWS:${principal.accessKeyId}` : r ? 'anonymous' : 'cape-local-platform',
      sourceIp: r?.ctx.req.socket.remoteAddress ?? '127.0.0.1',
      requestId: r?.requestId ?? newRequestId(),
      sequencer: nextSequencer(),
      eventTime: new Date().toISOString(),
      ...object,
    }
    for (const target of targets) {
      const event = buildEvent({...base, configurationId: target.id})
      setImmediate(() => {
        count('NotificationsSent')
        try {
          const result = onNotify({functionArn: target.arn, event})
          if (result && typeof (result as Promise<void>).then === 'function') {
            ;(result as Promise<void>).then(undefined, () => count('NotificationErrors'))
          }
        } catch {
          count('NotificationErrors')
        }
      })
    }
  }

  // ---- handlers (one per S3 operation served here)

  const partNumberOf = (r: Req): number => {
    const partNumber = Number(r.query.get('partNumber'))
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10000) {
      throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', {
        ArgumentName: 'partNumber',
        ArgumentValue: r.query.get('partNumber') ?? '',
      })
    }
    return partNumber
  }

  type Handler = (r: Req) => Promise<void>

  const putSetting = async <K extends 'versioning' | 'encryption' | 'publicAccessBlock' | 'tags'>(r: Req, field: K, value: unknown) => {
    const bucket = await requireBucket(r.bucket)
    await configs.set(bucket, field, value as never)
  }

  const handlers: Record<string, Handler> = {
    async ListBuckets(r) {
      const buckets = (await store.listBuckets()).filter((b) => validBucketName(b.name))
      sendXml(r.ctx, 'ListAllMyBucketsResult', {
        Owner: owner(accountId),
        Buckets: {Bucket: buckets.map((b) => ({Name: b.name, CreationDate: b.creationDate.toISOString()}))},
      })
    },

    async CreateBucket(r) {
      const name = r.bucket as string
      await readBody(r.ctx.req) // CreateBucketConfiguration (LocationConstraint) is accepted and ignored
      if (!validBucketName(name)) {
        throw new S3Error('InvalidBucketName', 'The specified bucket is not valid.', {BucketName: name})
      }
      const acl = aclFromHeaders(r.ctx.req, accountId)
      const ownership = r.ctx.req.headers['x-amz-object-ownership'] as string | undefined
      if (ownership !== undefined && !OWNERSHIP_VALUES.has(ownership)) {
        throw s3Error('InvalidArgument', 'Invalid x-amz-object-ownership header', 400, {ArgumentName: 'x-amz-object-ownership', ArgumentValue: ownership})
      }
      if (await bucketExists(name)) {
        // every bucket here is the caller's account's; us-east-1 answers 200 and resets the ACL (legacy), others 409
        if (region !== 'us-east-1') {
          throw new S3Error('BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', {BucketName: name})
        }
        checkAclAllowed(extDeps, name, acl)
        await configs.set(name, 'acl', acl)
      } else {
        await store.putBucket(name)
        knownBuckets.delete(name)
        await versioning.removeBucket(name)
        await configs.remove(name)
        if (ownership !== undefined) await configs.set(name, 'ownership', ownership)
        checkAclAllowed(extDeps, name, acl)
        if (acl !== undefined) await configs.set(name, 'acl', acl)
      }
      r.ctx.set('Location', `/${name}`)
      r.ctx.status = 200
      r.ctx.body = ''
    },

    async HeadBucket(r) {
      await requireBucket(r.bucket)
      r.ctx.set('x-amz-bucket-region', region)
      r.ctx.status = 200
    },

    async DeleteBucket(r) {
      const bucket = await requireBucket(r.bucket)
      if ((await listKeys(store.getBucketPath(bucket))).length > 0 || (await versioning.hasNonCurrent(bucket))) {
        throw new S3Error('BucketNotEmpty', 'The bucket you tried to delete is not empty', {BucketName: bucket})
      }
      await store.deleteBucket(bucket)
      knownBuckets.delete(bucket)
      objects.forgetBucket(bucket)
      await versioning.removeBucket(bucket)
      await configs.remove(bucket)
      r.ctx.status = 204
    },

    async GetBucketLocation(r) {
      await requireBucket(r.bucket)
      sendXml(r.ctx, 'LocationConstraint', region === 'us-east-1' ? {} : {'#text': region})
    },

    ListObjects: (r) => listObjects(r, 1),
    ListObjectVersions: (r) => listObjectVersions(extDeps, versioning, r),
    ListObjectsV2: (r) => listObjects(r, 2),

    async GetBucketPolicy(r) {
      const bucket = await requireBucket(r.bucket)
      const policy = configs.get(bucket).policy
      if (!policy) throw s3Error('NoSuchBucketPolicy', 'The bucket policy does not exist', 404, {BucketName: bucket})
      r.ctx.status = 200
      r.ctx.type = 'application/json'
      r.ctx.body = JSON.stringify(policy)
    },
    async PutBucketPolicy(r) {
      const bucket = await requireBucket(r.bucket)
      const body = await readBody(r.ctx.req)
      let doc: unknown
      try {
        doc = JSON.parse(body)
      } catch {
        throw s3Error('MalformedPolicy', 'Policies must be valid JSON and the first byte must be \'{\'', 400)
      }
      const problems = checkPolicyDocument(doc, 'resource')
      if (problems.length > 0) throw s3Error('MalformedPolicy', problems.join('; '), 400)
      await configs.set(bucket, 'policy', doc as PolicyDocument)
      r.ctx.status = 204
    },
    async DeleteBucketPolicy(r) {
      const bucket = await requireBucket(r.bucket)
      await configs.set(bucket, 'policy', undefined)
      r.ctx.status = 204
    },

    async GetBucketNotificationConfiguration(r) {
      const bucket = await requireBucket(r.bucket)
      sendXml(r.ctx, 'NotificationConfiguration', notificationXmlBody(configs.get(bucket).notifications))
    },
    async PutBucketNotificationConfiguration(r) {
      const bucket = await requireBucket(r.bucket)
      const cfg = parseNotificationXml(parseXml(await readBody(r.ctx.req)))
      await configs.set(bucket, 'notifications', cfg)
      r.ctx.status = 200
      r.ctx.body = ''
    },

    async GetBucketVersioning(r) {
      const bucket = await requireBucket(r.bucket)
      sendXml(r.ctx, 'VersioningConfiguration', versioningXmlBody(configs.get(bucket).versioning))
    },
    async PutBucketVersioning(r) {
      const value = parseVersioning(parseXml(await readBody(r.ctx.req)))
      if (value.MFADelete === 'Enabled' || r.ctx.req.headers['x-amz-mfa'] !== undefined) {
        throw s3Error('NotImplemented', 'MFA delete is not implemented by the cape local platform', 501)
      }
      await putSetting(r, 'versioning', value)
      r.ctx.status = 200
      r.ctx.body = ''
    },

    async GetBucketEncryption(r) {
      const bucket = await requireBucket(r.bucket)
      sendXml(r.ctx, 'ServerSideEncryptionConfiguration', encryptionXmlBody(configs.get(bucket).encryption ?? DEFAULT_ENCRYPTION))
    },
    async PutBucketEncryption(r) {
      const value = parseEncryption(parseXml(await readBody(r.ctx.req)))
      await putSetting(r, 'encryption', value)
      r.ctx.status = 200
      r.ctx.body = ''
    },
    async DeleteBucketEncryption(r) {
      await putSetting(r, 'encryption', undefined)
      r.ctx.status = 204
    },

    async GetPublicAccessBlock(r) {
      const bucket = await requireBucket(r.bucket)
      const value = configs.get(bucket).publicAccessBlock
      if (!value) {
        throw s3Error('NoSuchPublicAccessBlockConfiguration', 'The public access block configuration was not found', 404, {BucketName: bucket})
      }
      sendXml(r.ctx, 'PublicAccessBlockConfiguration', publicAccessBlockXmlBody(value))
    },
    async PutPublicAccessBlock(r) {
      const value = parsePublicAccessBlock(parseXml(await readBody(r.ctx.req)))
      await putSetting(r, 'publicAccessBlock', value)
      r.ctx.status = 200
      r.ctx.body = ''
    },
    async DeletePublicAccessBlock(r) {
      await putSetting(r, 'publicAccessBlock', undefined)
      r.ctx.status = 204
    },

    async GetBucketTagging(r) {
      const bucket = await requireBucket(r.bucket)
      const tags = configs.get(bucket).tags
      if (!tags) throw s3Error('NoSuchTagSet', 'The TagSet does not exist', 404, {BucketName: bucket})
      sendXml(r.ctx, 'Tagging', taggingXmlBody(tags))
    },
    async PutBucketTagging(r) {
      const value = parseTagging(parseXml(await readBody(r.ctx.req)))
      await putSetting(r, 'tags', value)
      r.ctx.status = 204
    },
    async DeleteBucketTagging(r) {
      await putSetting(r, 'tags', undefined)
      r.ctx.status = 204
    },

    GetObject: (r) => getObject(r, false),
    HeadObject: (r) => getObject(r, true),

    async PutObject(r) {
      const bucket = await requireBucket(r.bucket)
      const key = requireKey(r)
      const stored = await prepareObjectWrite(extDeps, r.ctx.req, bucket)
      const {result, versionId} = await conditionalWrite(r, bucket, key, () => objects.put(bucket, key, r.ctx.req, r.ctx.req.headers))
      const {md5, size} = result
      await stored(key)
      setVersionHeader(r, versionId)
      r.ctx.set('ETag', JSON.stringify(md5))
      r.ctx.status = 200
      r.ctx.body = ''
      notify(r, bucket, key, 'ObjectCreated:Put', {size, eTag: md5})
    },

    async CopyObject(r) {
      const bucket = await requireBucket(r.bucket)
      const key = requireKey(r)
      const source = parseCopySource(String(r.ctx.req.headers['x-amz-copy-source'] ?? ''))
      if (!source) {
        throw new S3Error('InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey', {ArgumentName: 'x-amz-copy-source'})
      }
      await requireBucket(source.bucket)
      validateKey(source.key)
      const replace = String(r.ctx.req.headers['x-amz-metadata-directive'] ?? '').toUpperCase() === 'REPLACE'
      if (source.bucket === bucket && source.key === key && !replace && source.versionId === undefined) {
        throw new S3Error(
          'InvalidRequest',
          "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
        )
      }
      const stored = await prepareObjectWrite(extDeps, r.ctx.req, bucket, source)
      const from = await copySourceOf(source)
      const {result: info, versionId} = await conditionalWrite(r, bucket, key, () =>
        objects.copyFrom(from.path, from.info, {bucket, key}, replace ? metadataFromHeaders(r.ctx.req.headers) : undefined),
      )
      await stored(key)
      setVersionHeader(r, versionId)
      if (from.versionId !== undefined) r.ctx.set('x-amz-copy-source-version-id', from.versionId)
      sendXml(r.ctx, 'CopyObjectResult', {LastModified: info.lastModified.toISOString(), ETag: info.etag})
      notify(r, bucket, key, 'ObjectCreated:Copy', {size: info.size, eTag: JSON.parse(info.etag) as string})
    },

    async DeleteObject(r) {
      const bucket = await requireBucket(r.bucket)
      const key = requireKey(r)
      const versionId = r.query.get('versionId') ?? undefined
      const out = await versioning.delete(bucket, key, versionId)
      setVersionHeader(r, out.versionId)
      if (out.deleteMarker) r.ctx.set('x-amz-delete-marker', 'true')
      r.ctx.status = 204
      if (out.existed) notify(r, bucket, key, out.deleteMarker && versionId === undefined ? 'ObjectRemoved:DeleteMarkerCreated' : 'ObjectRemoved:Delete', {})
    },

    async DeleteObjects(r) {
      const bucket = await requireBucket(r.bucket)
      const doc = parseXml(await readBody(r.ctx.req))
      const root = doc.Delete
      const entries = asArray<any>(root?.Object)
      if (root === undefined || entries.length === 0 || entries.length > 1000) {
        throw new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.')
      }
      const quiet = text(root.Quiet).toLowerCase() === 'true'
      const bucketPolicy = configs.get(bucket).policy
      const limit = pLimit(8)
      const results = await Promise.all(
        entries.map((entry) =>
          limit(async () => {
            const key = typeof entry?.Key === 'string' ? entry.Key : String(entry?.Key ?? '')
            const versionId = entry?.VersionId === undefined ? undefined : String(entry.VersionId)
            try {
              validateKey(key)
              await check(r, {
                action: versionId === undefined ? r.authz.action : 's3:DeleteObjectVersion',
                resource: objectArn(bucket, key),
                context: {},
                bucket,
                key,
                ...(bucketPolicy ? {bucketPolicy} : {}),
              })
              const out = await versioning.delete(bucket, key, versionId)
              if (out.existed) notify(r, bucket, key, out.deleteMarker && versionId === undefined ? 'ObjectRemoved:DeleteMarkerCreated' : 'ObjectRemoved:Delete', {})
              return {ok: true as const, key, deleted: deletedEntry(key, versionId, out)}
            } catch (error) {
              const e = error instanceof S3Error ? error : S3Error.fromError(error)
              return {ok: false as const, key, versionId, code: e.code, message: e.message}
            }
          }),
        ),
      )
      sendXml(r.ctx, 'DeleteResult', {
        ...(quiet ? {} : {Deleted: results.flatMap((x) => (x.ok ? [x.deleted] : []))}),
        Error: results.flatMap((x) => (x.ok ? [] : [{Key: x.key, ...(x.versionId !== undefined ? {VersionId: x.versionId} : {}), Code: x.code, Message: x.message}])),
      })
    },

    async CreateMultipartUpload(r) {
      const bucket = await requireBucket(r.bucket)
      const key = requireKey(r)
      const kept = await prepareUpload(extDeps, r.ctx.req, bucket)
      const uploadId = await objects.createUpload(bucket, key, r.ctx.req.headers)
      await kept(objects.uploadDir(bucket, uploadId))
      sendXml(r.ctx, 'InitiateMultipartUploadResult', {Bucket: bucket, Key: key, UploadId: uploadId})
    },

    async UploadPart(r) {
      const bucket = await requireBucket(r.bucket)
      const key = requireKey(r)
      const partNumber = partNumberOf(r)
      const upload = await objects.getUpload(bucket, r.query.get('uploadId') ?? '', key)
      const {md5} = await objects.putPart(upload.dir, partNumber, r.ctx.req, r.ctx.req.headers)
      r.ctx.set('ETag', JSON.stringify(md5))
      r.ctx.status = 200
      r.ctx.body = ''
    },

    // what `aws s3 cp|mv|sync` uses between S3 locations for objects above its multipart threshold (8 MB)
    async UploadPartCopy(r) {
      const bucket = await requireBucket(r.bucket)
      const key = requireKey(r)
      const partNumber = partNumberOf(r)
      const upload = await objects.getUpload(bucket, r.query.get('uploadId') ?? '', key)
      const rawSource = String(r.ctx.req.headers['x-amz-copy-source'] ?? '')
      const source = parseCopySource(rawSource)
      if (!source) {
        throw new S3Error('InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey', {ArgumentName: 'x-amz-copy-source'})
      }
      const {info, path: sourcePath, versionId: sourceVersion} = await copySourceOf(source)
      if (sourceVersion !== undefined) r.ctx.set('x-amz-copy-source-version-id', sourceVersion)
      const rangeHeader = r.ctx.req.headers['x-amz-copy-source-range']
      let range: {start: number; end: number} | undefined
      if (rangeHeader !== undefined) {
        const m = /^bytes=(\d+)-(\d+)$/.exec(String(rangeHeader).trim())
        if (!m || Number(m[2]) < Number(m[1]) || Number(m[2]) >= info.size) {
          throw new S3Error('InvalidArgument', `Range specified is not valid for source object of size: ${info.size}`, {
            ArgumentName: 'x-amz-copy-source-range',
            ArgumentValue: String(rangeHeader),
          })
        }
        range = {start: Number(m[1]), end: Number(m[2])}
      }
      await readBody(r.ctx.req) // no body; drained (and its declared hash checked) before answering
      // the request's own headers describe its (empty) body, not the copied bytes: store the part without them
      const bytes = createReadStream(sourcePath, {...range, highWaterMark: 1 << 20})
      const {md5} = await objects.putPart(upload.dir, partNumber, bytes, {})
      sendXml(r.ctx, 'CopyPartResult', {LastModified: new Date().toISOString(), ETag: JSON.stringify(md5)})
    },

    async CompleteMultipartUpload(r) {
      const bucket = await requireBucket(r.bucket)
      const key = requireKey(r)
      const upload = await objects.getUpload(bucket, r.query.get('uploadId') ?? '', key)
      const doc = parseXml(await readBody(r.ctx.req))
      const parts = asArray<any>(doc.CompleteMultipartUpload?.Part).map((p) => ({partNumber: Number(text(p?.PartNumber)), etag: text(p?.ETag)}))
      if (parts.length === 0) {
        throw new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.')
      }
      const stored = await uploadExtras(extDeps, bucket, upload.dir, parts.map((p) => p.partNumber))
      const {result, versionId} = await conditionalWrite(r, bucket, key, () => objects.completeUpload(bucket, upload, parts))
      const {etag, size} = result
      await stored(key)
      setVersionHeader(r, versionId)
      sendXml(r.ctx, 'CompleteMultipartUploadResult', {
        Location: `/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`,
        Bucket: bucket,
        Key: key,
        ETag: JSON.stringify(etag),
      })
      notify(r, bucket, key, 'ObjectCreated:CompleteMultipartUpload', {size, eTag: etag})
    },

    async AbortMultipartUpload(r) {
      const bucket = await requireBucket(r.bucket)
      const key = requireKey(r)
      const upload = await objects.getUpload(bucket, r.query.get('uploadId') ?? '', key)
      await rm(upload.dir, {recursive: true, force: true})
      r.ctx.status = 204
    },

    async ListParts(r) {
      const bucket = await requireBucket(r.bucket)
      const key = requireKey(r)
      const uploadId = r.query.get('uploadId') ?? ''
      const upload = await objects.getUpload(bucket, uploadId, key)
      const marker = Number(r.query.get('part-number-marker') ?? '0') || 0
      const maxParts = Math.min(1000, Math.max(0, Number(r.query.get('max-parts') ?? '1000') || 1000))
      const after = (await objects.listParts(upload.dir)).filter((p) => p.partNumber > marker)
      const page = after.slice(0, maxParts)
      const truncated = after.length > page.length
      sendXml(r.ctx, 'ListPartsResult', {
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        Initiator: owner(accountId),
        Owner: owner(accountId),
        StorageClass: 'STANDARD',
        PartNumberMarker: marker,
        ...(page.length > 0 ? {NextPartNumberMarker: page[page.length - 1].partNumber} : {}),
        MaxParts: maxParts,
        IsTruncated: truncated,
        Part: page.map((p) => ({PartNumber: p.partNumber, LastModified: p.lastModified.toISOString(), ETag: p.etag, Size: p.size})),
      })
    },

    async ListMultipartUploads(r) {
      const bucket = await requireBucket(r.bucket)
      const prefix = r.query.get('prefix') ?? ''
      const keyMarker = r.query.get('key-marker') ?? ''
      const idMarker = r.query.get('upload-id-marker') ?? ''
      const maxUploads = Math.min(1000, Math.max(1, Number(r.query.get('max-uploads') ?? '1000') || 1000))
      const encodingType = r.query.get('encoding-type') ?? undefined
      if (encodingType !== undefined && encodingType !== 'url') {
        throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', {ArgumentName: 'encoding-type', ArgumentValue: encodingType})
      }
      const enc = (v: string) => (encodingType === 'url' ? encodeURIComponent(v).replace(/%2F/g, '/') : v)
      const all = (await objects.listUploads(bucket))
        .filter((u) => u.key.startsWith(prefix))
        .sort((a, b) => compareKeys(a.key, b.key) || a.initiated.getTime() - b.initiated.getTime() || compareKeys(a.uploadId, b.uploadId))
      const after = all.filter((u) => {
        if (!keyMarker) return true
        const c = compareKeys(u.key, keyMarker)
        return c > 0 || (c === 0 && idMarker !== '' && compareKeys(u.uploadId, idMarker) > 0)
      })
      const page = after.slice(0, maxUploads)
      const truncated = after.length > page.length
      const last = page[page.length - 1]
      sendXml(r.ctx, 'ListMultipartUploadsResult', {
        Bucket: bucket,
        KeyMarker: enc(keyMarker),
        UploadIdMarker: idMarker,
        ...(truncated && last ? {NextKeyMarker: enc(last.key), NextUploadIdMarker: last.uploadId} : {}),
        ...(prefix ? {Prefix: enc(prefix)} : {}),
        ...(encodingType ? {EncodingType: encodingType} : {}),
        MaxUploads: maxUploads,
        IsTruncated: truncated,
        Upload: page.map((u) => ({
          Key: enc(u.key),
          UploadId: u.uploadId,
          Initiator: owner(accountId),
          Owner: owner(accountId),
          StorageClass: 'STANDARD',
          Initiated: u.initiated.toISOString(),
        })),
      })
    },
  }

  /** Operations left to s3rver's own controllers. */
  const DELEGATED = new Set([
    'GetBucketCors',
    'PutBucketCors',
    'DeleteBucketCors',
    'GetBucketWebsite',
    'PutBucketWebsite',
    'DeleteBucketWebsite',
  ])

  // operations kept in their own modules (acl.ts, tagging.ts, object-lock.ts, policy-status.ts)
  const extDeps: ExtDeps = {accountId, region, configs, objects, extras, requireBucket, readBody, sendXml}
  Object.assign(handlers, aclHandlers(extDeps), attributesHandlers(extDeps), taggingHandlers(extDeps), objectLockHandlers(extDeps), policyStatusHandlers(extDeps))

  async function listObjects(r: Req, version: 1 | 2): Promise<void> {
    const bucket = await requireBucket(r.bucket)
    const q = r.query
    const prefix = q.get('prefix') ?? ''
    const delimiter = q.get('delimiter') ?? ''
    const encodingType = q.get('encoding-type') ?? undefined
    if (encodingType !== undefined && encodingType !== 'url') {
      throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', {ArgumentName: 'encoding-type', ArgumentValue: encodingType})
    }
    const enc = (s: string) => (encodingType === 'url' ? encodeURIComponent(s).replace(/%2F/g, '/') : s)
    const rawMax = q.get('max-keys')
    let maxKeys = 1000
    if (rawMax !== null) {
      if (!/^\d+$/.test(rawMax)) {
        throw new S3Error('InvalidArgument', 'Provided max-keys not an integer or within integer range', {ArgumentName: 'max-keys', ArgumentValue: rawMax})
      }
      maxKeys = Math.min(1000, Number(rawMax))
    }
    const token = version === 2 ? (q.get('continuation-token') ?? undefined) : undefined
    const startAfter = version === 2 ? (q.get('start-after') ?? undefined) : undefined
    const marker = version === 2 ? (token === undefined ? undefined : decodeContinuationToken(token)) : (q.get('marker') ?? undefined)

    const keys = await objects.listKeys(bucket, prefix)
    const page = listPage(keys, {prefix, delimiter, maxKeys, ...(startAfter ? {startAfter} : {}), ...(marker ? {marker} : {})})
    const truncated = maxKeys > 0 && page.isTruncated
    const infos = await Promise.all(page.keys.map(async (key) => ({key, info: await objects.head(bucket, key)})))
    const fetchOwner = version === 1 || q.get('fetch-owner') === 'true'
    const contents = infos
      .filter((x) => x.info !== undefined)
      .map(({key, info}) => ({
        Key: enc(key),
        LastModified: info!.lastModified.toISOString(),
        ETag: info!.etag,
        Size: info!.size,
        ...(fetchOwner ? {Owner: owner(accountId)} : {}),
        StorageClass: 'STANDARD',
      }))
    const common = {
      Name: bucket,
      Prefix: enc(prefix),
      ...(delimiter ? {Delimiter: enc(delimiter)} : {}),
      MaxKeys: rawMax ?? 1000,
      ...(encodingType ? {EncodingType: encodingType} : {}),
      IsTruncated: truncated,
    }
    const commonPrefixes = page.commonPrefixes.map((p) => ({Prefix: enc(p)}))
    if (version === 2) {
      sendXml(r.ctx, 'ListBucketResult', {
        ...common,
        KeyCount: contents.length + commonPrefixes.length,
        ...(token !== undefined ? {ContinuationToken: token} : {}),
        ...(truncated && page.last !== undefined ? {NextContinuationToken: encodeContinuationToken(page.last)} : {}),
        ...(startAfter !== undefined ? {StartAfter: enc(startAfter)} : {}),
        Contents: contents,
        CommonPrefixes: commonPrefixes,
      })
    } else {
      sendXml(r.ctx, 'ListBucketResult', {
        ...common,
        Marker: enc(marker ?? ''),
        ...(truncated && page.last !== undefined ? {NextMarker: enc(page.last)} : {}),
        Contents: contents,
        CommonPrefixes: commonPrefixes,
      })
    }
  }

  /** A copy source's bytes and info (by version with `?versionId=`), and its version id for the response. */
  async function copySourceOf(source: {bucket: string; key: string; versionId?: string}): Promise<{path: string; info: ObjectInfo; versionId?: string}> {
    await requireBucket(source.bucket)
    validateKey(source.key)
    if (source.versionId !== undefined) {
      const found = await versioning.resolve(source.bucket, source.key, source.versionId)
      if ('marker' in found) throw s3Error('InvalidRequest', 'The source of a copy request may not specifically refer to a delete marker by version id.', 400)
      return found
    }
    const info = await objects.head(source.bucket, source.key)
    if (!info) throw new S3Error('NoSuchKey', 'The specified key does not exist.', {Key: source.key})
    const versionId = await versioning.currentId(source.bucket, source.key)
    return {path: objects.objectPath(source.bucket, source.key), info, ...(versionId !== undefined ? {versionId} : {})}
  }

  /** What GET/HEAD read: the current object, or the version asked for; undefined after answering 404/405 itself. */
  async function objectToRead(r: Req, head: boolean, bucket: string, key: string): Promise<{info: ObjectInfo; path: string; current: boolean} | undefined> {
    const versionId = r.query.get('versionId')
    const absent = (err: S3Error) => {
      if (!head) throw err
      r.ctx.status = err.status // HEAD answers carry no body
      return undefined
    }
    if (versionId !== null) {
      const found = await versioning.resolve(bucket, key, versionId)
      if ('marker' in found) {
        r.ctx.set('x-amz-delete-marker', 'true')
        r.ctx.set('x-amz-version-id', versionId)
        r.ctx.set('Last-Modified', new Date(found.marker.lastModified).toUTCString())
        return absent(s3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405, {Method: r.ctx.method, ResourceType: 'DeleteMarker'}))
      }
      r.ctx.set('x-amz-version-id', versionId)
      return {info: found.info, path: found.path, current: found.path === objects.objectPath(bucket, key)}
    }
    const info = await objects.head(bucket, key)
    if (!info) {
      const marker = await versioning.currentMarker(bucket, key)
      if (marker) {
        r.ctx.set('x-amz-delete-marker', 'true')
        r.ctx.set('x-amz-version-id', marker.id)
      }
      return absent(new S3Error('NoSuchKey', 'The specified key does not exist.', {Key: key}))
    }
    setVersionHeader(r, await versioning.currentId(bucket, key))
    return {info, path: objects.objectPath(bucket, key), current: true}
  }

  async function getObject(r: Req, head: boolean): Promise<void> {
    const bucket = await requireBucket(r.bucket)
    const key = requireKey(r)
    const read = await objectToRead(r, head, bucket, key)
    if (!read) return
    const {info} = read
    const h = r.ctx.req.headers
    const etagMatches = (list: string) => list.split(',').some((t) => t.trim() === '*' || t.trim().replace(/^W\//, '') === info.etag)
    const lastModified = new Date(Math.floor(info.lastModified.getTime() / 1000) * 1000)
    if (h['if-match'] !== undefined && !etagMatches(h['if-match'])) {
      throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {Condition: 'If-Match'})
    }
    if (h['if-match'] === undefined && h['if-unmodified-since'] !== undefined && lastModified > new Date(h['if-unmodified-since'])) {
      throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {Condition: 'If-Unmodified-Since'})
    }
    const notModified =
      h['if-none-match'] !== undefined
        ? etagMatches(h['if-none-match'])
        : h['if-modified-since'] !== undefined && lastModified <= new Date(h['if-modified-since'])

    const size = info.size
    let range: {start: number; end: number} | undefined
    const rangeHeader = h.range
    const m = rangeHeader === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(rangeHeader.trim())
    if (m && (m[1] !== '' || m[2] !== '')) {
      if (m[1] === '') {
        const suffix = Number(m[2])
        range = {start: Math.max(0, size - suffix), end: size - 1}
        if (suffix === 0) range = {start: size, end: size - 1}
      } else {
        range = {start: Number(m[1]), end: m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)}
        if (m[2] !== '' && Number(m[2]) < Number(m[1])) range = undefined // invalid: S3 ignores it
      }
      if (range && range.start >= size) {
        throw new S3Error('InvalidRange', 'The requested range is not satisfiable', {RangeRequested: rangeHeader, ActualObjectSize: size})
      }
    }
    const part = read.current ? await partRange(extDeps, r, bucket, key, size) : undefined
    if (part) {
      range = part.range
      if (part.partsCount !== undefined) r.ctx.set('x-amz-mp-parts-count', String(part.partsCount))
    }

    const ctx = r.ctx
    for (const [name, value] of Object.entries(info.metadata)) {
      if (name === 'etag' || name === 'last-modified' || name === 'content-length') continue
      ctx.set(name, String(value))
    }
    ctx.set('ETag', info.etag)
    ctx.set('Last-Modified', info.lastModified.toUTCString())
    if (read.current) for (const [name, value] of Object.entries(await objectReadHeaders(extDeps, bucket, key))) ctx.set(name, value)
    ctx.set('Accept-Ranges', 'bytes')
    const overrides: Record<string, string> = {
      'response-content-type': 'Content-Type',
      'response-content-language': 'Content-Language',
      'response-expires': 'Expires',
      'response-cache-control': 'Cache-Control',
      'response-content-disposition': 'Content-Disposition',
      'response-content-encoding': 'Content-Encoding',
    }
    for (const [param, header] of Object.entries(overrides)) {
      const v = r.query.get(param)
      if (v !== null) ctx.set(header, v)
    }
    if (notModified) {
      ctx.status = 304
      return
    }
    const length = range ? range.end - range.start + 1 : size
    ctx.status = range ? 206 : 200
    if (range) ctx.set('Content-Range', `bytes ${range.start}-${range.end}/${size}`)
    if (!head && length > 0) {
      ctx.body = createReadStream(read.path, range ?? {})
    } else if (!head) {
      ctx.body = Buffer.alloc(0)
      ctx.status = range ? 206 : 200
    }
    ctx.length = length
  }

  /** A DeleteObjects `Deleted` entry, as S3 reports it. */
  function deletedEntry(key: string, versionId: string | undefined, out: DeleteOutcome): Record<string, unknown> {
    const entry: Record<string, unknown> = {Key: key}
    if (versionId !== undefined) entry.VersionId = versionId
    if (out.deleteMarker) {
      entry.DeleteMarker = true
      entry.DeleteMarkerVersionId = out.versionId
    }
    return entry
  }

  // ---- the middleware

  const newRequestId = () => randomBytes(8).toString('hex').toUpperCase()

  async function middleware(ctx: KoaContext, next: () => Promise<void>): Promise<void> {
    const requestId = newRequestId()
    ctx.set('x-amz-request-id', requestId)
    ctx.set('x-amz-id-2', createHash('sha256').update(requestId).digest('base64'))
    let operation = 'Unknown'
    try {
      const {bucket, key} = parsePath(ctx.path)
      // presigned-URL parameters are the router's business, not part of the S3 operation
      const query = new URLSearchParams(ctx.querystring)
      for (const name of [...query.keys()]) if (/^x-amz-/i.test(name)) query.delete(name)
      const authz = s3Authz(ctx.method, bucket, key, query, ctx.req.headers as Record<string, string | string[] | undefined>)
      operation = authz.operation
      count(operation)
      const r: Req = {ctx, requestId, query, authz, ...(bucket !== undefined ? {bucket} : {}), ...(key !== undefined ? {key} : {})}
      await authorizeRequest(r)
      const handler = handlers[operation]
      if (handler) {
        await handler(r)
        return
      }
      if (DELEGATED.has(operation)) {
        // s3rver's authentication middleware would check the (already verified) signature against its own key list
        delete ctx.req.headers.authorization
        ctx.querystring = query.toString()
        await next()
        return
      }
      throw s3Error('NotImplemented', `${operation === 'Unsupported' ? 'This operation' : operation} is not implemented by the cape local platform`, 501)
    } catch (error) {
      const err = error instanceof S3Error ? error : isAuthError(error) ? s3Error(error.code, error.message, error.status) : S3Error.fromError(error)
      if (err.status >= 500) count('InternalError')
      err.detail = {...err.detail, RequestId: requestId}
      if (!ctx.req.readableEnded) ctx.req.resume()
      throw err
    }
  }

  // splice in front of s3rver's router (the last middleware), after its XML/vhost middleware
  app.middleware.splice(app.middleware.length - 1, 0, middleware)
  const callback = app.callback()

  // ---- the internal API

  const internal = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn()
    } catch (error) {
      if (error instanceof S3Error) {
        const exit = error.status === 404 ? ExitCode.notFound : ExitCode.inputRejected
        throw new CapeError(error.code, error.message, {exit, data: {status: error.status}, cause: error})
      }
      throw error
    }
  }

  const service: S3Service = {
    handle(req, res) {
      void callback(req, res)
    },

    createBucket: (name) =>
      internal(async () => {
        if (!validBucketName(name)) throw new S3Error('InvalidBucketName', `The specified bucket is not valid: ${name}`, {BucketName: name})
        if (await bucketExists(name)) throw new S3Error('BucketAlreadyOwnedByYou', `The bucket ${name} already exists.`, {BucketName: name})
        await store.putBucket(name)
        knownBuckets.delete(name)
        await versioning.removeBucket(name)
        await configs.remove(name)
      }),

    deleteBucket: (name, opts = {}) =>
      internal(async () => {
        await requireBucket(name)
        if (!opts.force && ((await listKeys(store.getBucketPath(name))).length > 0 || (await versioning.hasNonCurrent(name)))) {
          throw new S3Error('BucketNotEmpty', `The bucket ${name} is not empty`, {BucketName: name})
        }
        await store.deleteBucket(name)
        knownBuckets.delete(name)
        objects.forgetBucket(name)
        await versioning.removeBucket(name)
        await configs.remove(name)
      }),

    bucketExists: (name) => bucketExists(name),

    isBucketEmpty: (name) =>
      internal(async () => {
        await requireBucket(name)
        return (await listKeys(store.getBucketPath(name))).length === 0 && !(await versioning.hasNonCurrent(name))
      }),

    listBuckets: async () =>
      (await store.listBuckets())
        .map((b) => b.name)
        .filter(validBucketName)
        .sort(compareKeys),

    putBucketPolicy: (name, doc) =>
      internal(async () => {
        await requireBucket(name)
        if (doc !== null) {
          const problems = checkPolicyDocument(doc, 'resource')
          if (problems.length > 0) throw s3Error('MalformedPolicy', problems.join('; '), 400)
        }
        await configs.set(name, 'policy', doc ?? undefined)
      }),

    getBucketPolicy: (name) =>
      internal(async () => {
        await requireBucket(name)
        return configs.get(name).policy ?? null
      }),

    putNotifications: (name, cfg) =>
      internal(async () => {
        await requireBucket(name)
        const current = configs.get(name).notifications
        const lambda = cfg.lambda.map((l) =>
          validateTarget({
            id: l.id ?? randomBytes(12).toString('base64url'),
            arn: l.functionArn,
            events: [...l.events],
            ...(l.prefix !== undefined ? {prefix: l.prefix} : {}),
            ...(l.suffix !== undefined ? {suffix: l.suffix} : {}),
          }),
        )
        const next: NotificationSettings = {lambda, queue: current?.queue ?? [], topic: current?.topic ?? []}
        await configs.set(name, 'notifications', next)
      }),

    getNotifications: (name) =>
      internal(async () => {
        await requireBucket(name)
        return {
          lambda: (configs.get(name).notifications?.lambda ?? []).map((t) => ({
            id: t.id,
            functionArn: t.arn,
            events: t.events,
            ...(t.prefix !== undefined ? {prefix: t.prefix} : {}),
            ...(t.suffix !== undefined ? {suffix: t.suffix} : {}),
          })),
        }
      }),

    putBucketSetting: (name, kind, value) =>
      internal(async () => {
        await requireBucket(name)
        await configs.set(name, kind, value === null || value === undefined ? undefined : (normalizeSetting(kind, value) as never))
      }),

    getBucketSetting: (name, kind: BucketSettingKind) =>
      internal(async () => {
        await requireBucket(name)
        return configs.get(name)[kind] ?? null
      }),

    getObjectBytes: (bucket, key) =>
      internal(async () => {
        await requireBucket(bucket)
        validateKey(key)
        if (!(await objects.head(bucket, key))) throw new S3Error('NoSuchKey', `The specified key does not exist: ${key}`, {Key: key})
        return readFile(objects.objectPath(bucket, key))
      }),

    putObjectBytes: (bucket, key, body, meta = {}) =>
      internal(async () => {
        await requireBucket(bucket)
        validateKey(key)
        const headers: Record<string, string> = {}
        for (const [name, value] of Object.entries(meta)) {
          const lower = name.toLowerCase()
          const standard = ['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'content-type', 'expires'].includes(lower)
          headers[standard || lower.startsWith('x-amz-meta-') ? lower : `x-amz-meta-${lower}`] = value
        }
        const source = Buffer.isBuffer(body) ? Readable.from([body]) : body
        const {md5, size} = await locks.run(bucket, key, async () => (await versioning.record(bucket, key, () => objects.put(bucket, key, source, headers))).result)
        notify(undefined, bucket, key, 'ObjectCreated:Put', {size, eTag: md5})
        return {etag: JSON.stringify(md5)}
      }),

    stats: () => ({...counters}),

    close: async () => {
      await configs.flush()
    },
  }
  return service
}

