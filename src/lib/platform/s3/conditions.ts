import type {IncomingHttpHeaders} from 'node:http'
import S3Error from 's3rver/lib/models/error.js'

import type {ObjectInfo} from './objects.js'

/**
 * Conditional writes (S3, since 2024): `If-None-Match: *` (write only when no object exists under the key) and
 * `If-Match: <etag>` (write only over that exact object) on PutObject, CopyObject and CompleteMultipartUpload.
 * Writes to one key are serialized by {@link KeyLocks}, so the check and the write cannot race: a conflicting
 * concurrent write is answered 412 PreconditionFailed (never AWS's 409 ConditionalRequestConflict).
 */

const precondition = (condition: string) => {
  const err = new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {Condition: condition})
  err.status = 412
  return err
}

const headerOf = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const v = headers[name]
  return v === undefined ? undefined : Array.isArray(v) ? v.join(',') : v
}

/** True when the request carries a write condition (and so must be checked under the key's lock). */
export function hasWriteConditions(headers: IncomingHttpHeaders): boolean {
  return headers['if-none-match'] !== undefined || headers['if-match'] !== undefined
}

/** Throw S3's error when the request's write conditions do not hold for `current` (undefined: no object). */
export function checkWriteConditions(headers: IncomingHttpHeaders, current: ObjectInfo | undefined, key: string): void {
  const noneMatch = headerOf(headers, 'if-none-match')
  if (noneMatch !== undefined) {
    if (noneMatch.trim() !== '*') {
      const err = new S3Error('NotImplemented', 'A header you provided implies functionality that is not implemented', {Header: 'If-None-Match'})
      err.status = 501
      throw err
    }
    if (current) throw precondition('If-None-Match')
  }
  const match = headerOf(headers, 'if-match')
  if (match !== undefined) {
    if (!current) throw new S3Error('NoSuchKey', 'The specified key does not exist.', {Key: key})
    const ok = match.split(',').some((t) => t.trim() === '*' || t.trim().replace(/^W\//, '') === current.etag)
    if (!ok) throw precondition('If-Match')
  }
}

/** One write at a time per bucket/key. */
export class KeyLocks {
  private readonly tails = new Map<string, Promise<unknown>>()

  async run<T>(bucket: string, key: string, fn: () => Promise<T>): Promise<T> {
    const id = `${bucket}\0${key}`
    const previous = this.tails.get(id) ?? Promise.resolve()
    const run = previous.catch(() => undefined).then(fn)
    this.tails.set(id, run)
    try {
      return await run
    } finally {
      if (this.tails.get(id) === run) this.tails.delete(id)
    }
  }
}
