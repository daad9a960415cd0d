import {readFile, writeFile} from 'node:fs/promises'
import type {IncomingMessage} from 'node:http'
import {join} from 'node:path'

import {aclFromHeaders, checkAclAllowed} from './acl.js'
import type {ExtDeps} from './extension.js'
import {checkObjectLockHeaders} from './object-lock.js'
import type {ObjectExtrasData} from './object-extras.js'
import {taggingDirective, tagsFromHeader} from './tagging.js'

/**
 * What object writes carry besides bytes and metadata (ACL, tags, object-lock headers), checked before the write
 * and stored after it: the service calls `prepareObjectWrite` first, writes, then calls the returned function.
 */
export async function prepareObjectWrite(
  deps: ExtDeps,
  req: IncomingMessage,
  bucket: string,
  source?: {bucket: string; key: string},
): Promise<(key: string) => Promise<void>> {
  checkObjectLockHeaders(req)
  const acl = aclFromHeaders(req, deps.accountId)
  checkAclAllowed(deps, bucket, acl)
  let tags = tagsFromHeader(req)
  if (source && taggingDirective(req) === 'COPY') tags = (await deps.extras.get(source.bucket, source.key)).tags
  return async (key) => {
    if (acl !== undefined || (tags !== undefined && tags.length > 0)) await deps.extras.update(bucket, key, {acl, tags: tags?.length ? tags : undefined})
  }
}

const UPLOAD_EXTRAS = 'cape.json'

/** CreateMultipartUpload: the ACL and tags are checked now and kept with the upload until it completes. */
export async function prepareUpload(deps: ExtDeps, req: IncomingMessage, bucket: string): Promise<(uploadDir: string) => Promise<void>> {
  checkObjectLockHeaders(req)
  const acl = aclFromHeaders(req, deps.accountId)
  checkAclAllowed(deps, bucket, acl)
  const tags = tagsFromHeader(req)
  return async (dir) => {
    if (acl !== undefined || tags !== undefined) await writeFile(join(dir, UPLOAD_EXTRAS), JSON.stringify({acl, tags}))
  }
}

/** CompleteMultipartUpload: read what CreateMultipartUpload kept (before the upload folder goes away). */
export async function uploadExtras(deps: ExtDeps, bucket: string, uploadDir: string, partNumbers: number[]): Promise<(key: string) => Promise<void>> {
  const sizes = new Map((await deps.objects.listParts(uploadDir)).map((p) => [p.partNumber, p.size]))
  const parts = partNumbers.map((n) => sizes.get(n) ?? 0)
  let kept: ObjectExtrasData = {}
  try {
    kept = JSON.parse(await readFile(join(uploadDir, UPLOAD_EXTRAS), 'utf8')) as ObjectExtrasData
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  return async (key) => {
    await deps.extras.update(bucket, key, {acl: kept.acl, tags: kept.tags?.length ? kept.tags : undefined, parts})
  }
}

/** GET/HEAD: x-amz-tagging-count when the object has tags. */
export async function objectReadHeaders(deps: ExtDeps, bucket: string, key: string): Promise<Record<string, string>> {
  const tags = (await deps.extras.get(bucket, key)).tags
  return tags?.length ? {'x-amz-tagging-count': String(tags.length)} : {}
}
