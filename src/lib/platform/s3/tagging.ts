import type {IncomingMessage} from 'node:http'

import {type ExtDeps, type ExtHandler, headerOf, requireObject, s3Err} from './extension.js'
import {parseTagging} from './settings.js'
import {parseXml} from './xml.js'

/**
 * Object tagging as S3 answers it: Put/Get/DeleteObjectTagging, `x-amz-tagging` on PutObject / CopyObject
 * (x-amz-tagging-directive COPY|REPLACE) / CreateMultipartUpload, `x-amz-tagging-count` on GET and HEAD, and S3's
 * limits (10 tags, keys ≤ 128 and values ≤ 256 characters, unique keys, no `aws:` keys) → InvalidTag.
 */

export type ObjectTags = Array<{Key: string; Value: string}>

const invalidTag = (message: string, detail: Record<string, unknown> = {}) => s3Err('InvalidTag', message, 400, detail)

export function validateTags(tags: ObjectTags): ObjectTags {
  if (tags.length > 10) throw invalidTag('Object tags cannot be greater than 10')
  const seen = new Set<string>()
  for (const {Key, Value} of tags) {
    if ([...Key].length > 128 || Key === '') throw invalidTag('The TagKey you have provided is invalid', {TagKey: Key})
    if ([...Value].length > 256) throw invalidTag('The TagValue you have provided is invalid', {TagKey: Key, TagValue: Value})
    if (Key.startsWith('aws:')) throw invalidTag('Your TagKey cannot be prefixed with aws:', {TagKey: Key})
    if (seen.has(Key)) throw invalidTag('Cannot provide multiple Tags with the same key', {TagKey: Key})
    seen.add(Key)
  }
  return tags
}

/** The tags of an `x-amz-tagging` header (URL query form), undefined when absent. */
export function tagsFromHeader(req: IncomingMessage): ObjectTags | undefined {
  const v = headerOf(req, 'x-amz-tagging')
  if (v === undefined) return undefined
  return validateTags([...new URLSearchParams(v)].map(([Key, Value]) => ({Key, Value})))
}

/** CopyObject's x-amz-tagging-directive: COPY (default) or REPLACE. */
export function taggingDirective(req: IncomingMessage): 'COPY' | 'REPLACE' {
  const v = (headerOf(req, 'x-amz-tagging-directive') ?? 'COPY').toUpperCase()
  if (v !== 'COPY' && v !== 'REPLACE') {
    throw s3Err('InvalidArgument', 'Unknown tagging directive.', 400, {ArgumentName: 'x-amz-tagging-directive', ArgumentValue: v})
  }
  return v
}

export function taggingHandlers(deps: ExtDeps): Record<string, ExtHandler> {
  return {
    async GetObjectTagging(r) {
      const {bucket, key} = await requireObject(deps, r)
      const tags = (await deps.extras.get(bucket, key)).tags ?? []
      deps.sendXml(r.ctx, 'Tagging', {TagSet: {Tag: tags}})
    },
    async PutObjectTagging(r) {
      const {bucket, key} = await requireObject(deps, r)
      const tags = validateTags(parseTagging(parseXml(await deps.readBody(r.ctx.req))))
      await deps.extras.update(bucket, key, {tags: tags.length > 0 ? tags : undefined})
      r.ctx.status = 200
      r.ctx.body = ''
    },
    async DeleteObjectTagging(r) {
      const {bucket, key} = await requireObject(deps, r)
      await deps.extras.update(bucket, key, {tags: undefined})
      r.ctx.status = 204
    },
  }
}
