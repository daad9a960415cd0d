import type {IncomingMessage} from 'node:http'
import type {KoaContext} from 's3rver'
import S3Error from 's3rver/lib/models/error.js'

import type {BucketConfigStore} from './bucket-config.js'
import type {ObjectExtras} from './object-extras.js'
import type {ObjectInfo, ObjectStore} from './objects.js'

/**
 * What the S3 operations kept in their own modules (acl, tagging, attributes, object-lock, policy-status) get from
 * the service: the request, the stores and the service's helpers. Keeps those modules off service.ts.
 */
export interface ExtRequest {
  ctx: KoaContext
  requestId: string
  bucket?: string
  key?: string
  query: URLSearchParams
}

export interface ExtDeps {
  accountId: string
  region: string
  configs: BucketConfigStore
  objects: ObjectStore
  extras: ObjectExtras
  requireBucket(name: string | undefined): Promise<string>
  readBody(req: IncomingMessage): Promise<string>
  sendXml(ctx: KoaContext, root: string, body: Record<string, unknown>, status?: number): void
}

export type ExtHandler = (r: ExtRequest) => Promise<void>

/** An S3 error with an explicit HTTP status. */
export function s3Err(code: string, message: string, status: number, detail: Record<string, unknown> = {}): S3Error {
  const err = new S3Error(code, message, detail)
  err.status = status
  err.expose = status < 500
  return err
}

/** The bucket and key of an object request, and the object's info; NoSuchKey (404) when it does not exist. */
export async function requireObject(deps: ExtDeps, r: ExtRequest): Promise<{bucket: string; key: string; info: ObjectInfo}> {
  const bucket = await deps.requireBucket(r.bucket)
  const key = r.key as string
  const info = await deps.objects.head(bucket, key)
  if (!info) throw s3Err('NoSuchKey', 'The specified key does not exist.', 404, {Key: key})
  return {bucket, key, info}
}

/** One header's value (joined when repeated). */
export function headerOf(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name]
  if (v === undefined) return undefined
  return Array.isArray(v) ? v.join(',') : v
}
