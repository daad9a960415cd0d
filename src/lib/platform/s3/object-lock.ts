import type {IncomingMessage} from 'node:http'

import {type ExtDeps, type ExtHandler, headerOf, s3Err} from './extension.js'

/**
 * Object Lock as S3 answers it for a bucket created without Object Lock (the only kind the platform makes):
 * GetObjectLockConfiguration → ObjectLockConfigurationNotFoundError; legal hold and retention reads and writes,
 * and object-lock headers on writes → InvalidRequest "Bucket is missing Object Lock Configuration".
 */

const missing = () => s3Err('InvalidRequest', 'Bucket is missing Object Lock Configuration', 400)

/** PutObject / CopyObject / CreateMultipartUpload with x-amz-object-lock-* headers on a bucket without Object Lock. */
export function checkObjectLockHeaders(req: IncomingMessage): void {
  for (const name of ['x-amz-object-lock-mode', 'x-amz-object-lock-retain-until-date', 'x-amz-object-lock-legal-hold']) {
    if (headerOf(req, name) !== undefined) throw missing()
  }
}

export function objectLockHandlers(deps: ExtDeps): Record<string, ExtHandler> {
  const refuse: ExtHandler = async (r) => {
    await deps.requireBucket(r.bucket)
    await deps.readBody(r.ctx.req)
    throw missing()
  }
  return {
    async GetObjectLockConfiguration(r) {
      const bucket = await deps.requireBucket(r.bucket)
      throw s3Err('ObjectLockConfigurationNotFoundError', 'Object Lock configuration does not exist for this bucket', 404, {BucketName: bucket})
    },
    async PutObjectLockConfiguration(r) {
      const bucket = await deps.requireBucket(r.bucket)
      await deps.readBody(r.ctx.req)
      if (deps.configs.get(bucket).versioning?.Status !== 'Enabled') {
        throw s3Err('InvalidBucketState', "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration", 409)
      }
      throw s3Err('NotImplemented', 'PutObjectLockConfiguration is not implemented by the cape local platform', 501)
    },
    GetObjectLegalHold: refuse,
    PutObjectLegalHold: refuse,
    GetObjectRetention: refuse,
    PutObjectRetention: refuse,
  }
}
