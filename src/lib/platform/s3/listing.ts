import {readdir} from 'node:fs/promises'
import {join} from 'node:path'
import S3Error from 's3rver/lib/models/error.js'

/**
 * Key listing over s3rver's on-disk layout (<bucket>/<key dirs>/<last segment>._S3rver_object), replacing
 * s3rver's own listObjects, whose walk follows directory order (so "a/b" came before "a.b") and whose
 * continuation tokens need the `des` cipher that OpenSSL 3 disables. Keys are sorted by UTF-8 byte order, like S3.
 */

export const OBJECT_SUFFIX = '._S3rver_object'
export const UPLOADS_DIR = '._S3rver_uploads'

/** Byte-order (UTF-8) comparison, which is S3's key order. */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0
  // UTF-16 order equals UTF-8 order unless surrogates are involved
  if (!/[\uD800-\uDFFF]/.test(a) && !/[\uD800-\uDFFF]/.test(b)) return a < b ? -1 : 1
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

/** All object keys in a bucket directory that start with `prefix`, sorted. */
export async function listKeys(bucketPath: string, prefix = ''): Promise<string[]> {
  const keys: string[] = []
  const walk = async (dir: string, rel: string): Promise<void> => {
    let entries
    try {
      entries = await readdir(dir, {withFileTypes: true})
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
      throw error
    }
    await Promise.all(
      entries.map(async (entry) => {
        if (entry.isDirectory()) {
          if (rel === '' && entry.name === UPLOADS_DIR) return
          const sub = `${rel}${entry.name}/`
          // only descend where keys can start with the prefix
          if (sub.startsWith(prefix) || prefix.startsWith(sub)) await walk(join(dir, entry.name), sub)
        } else if (entry.name.endsWith(OBJECT_SUFFIX)) {
          const key = rel + entry.name.slice(0, -OBJECT_SUFFIX.length)
          if (key !== '' && key.startsWith(prefix)) keys.push(key)
        }
      }),
    )
  }
  await walk(bucketPath, '')
  return keys.sort(compareKeys)
}

export interface ListPageOptions {
  prefix?: string
  delimiter?: string
  maxKeys: number
  /** ListObjectsV2 StartAfter: keys ≤ this are skipped */
  startAfter?: string
  /** marker (v1) or decoded continuation token (v2): entries (keys or common prefixes) ≤ this are skipped */
  marker?: string
}

export interface ListPage {
  keys: string[]
  commonPrefixes: string[]
  isTruncated: boolean
  /** the last entry returned (key or common prefix): the next marker / continuation token */
  last?: string
}

/**
 * One page of a listing, S3 semantics: keys and common prefixes together count towards maxKeys; a listing resumes
 * after the last entry returned. (The entry of a key — the key itself or its common prefix — is monotonic in key order,
 * so "skip entries ≤ marker" resumes exactly after a common prefix too.)
 */
export function listPage(sortedKeys: string[], options: ListPageOptions): ListPage {
  const prefix = options.prefix ?? ''
  const delimiter = options.delimiter ?? ''
  const page: ListPage = {keys: [], commonPrefixes: [], isTruncated: false}
  let count = 0
  for (const key of sortedKeys) {
    if (!key.startsWith(prefix)) continue
    if (options.startAfter !== undefined && compareKeys(key, options.startAfter) <= 0) continue
    let entry = key
    let isPrefix = false
    if (delimiter) {
      const at = key.indexOf(delimiter, prefix.length)
      if (at !== -1) {
        entry = key.slice(0, at + delimiter.length)
        isPrefix = true
      }
    }
    if (options.marker !== undefined && compareKeys(entry, options.marker) <= 0) continue
    if (isPrefix && page.last === entry) continue
    if (count >= options.maxKeys) {
      page.isTruncated = true
      break
    }
    if (isPrefix) page.commonPrefixes.push(entry)
    else page.keys.push(entry)
    page.last = entry
    count++
  }
  return page
}

const TOKEN_PREFIX = 'cape1:'

/** Opaque ListObjectsV2 continuation token: base64url of the last entry returned. */
export const encodeContinuationToken = (last: string) => Buffer.from(TOKEN_PREFIX + last, 'utf8').toString('base64url')

export function decodeContinuationToken(token: string): string {
  const decoded = Buffer.from(token, 'base64url').toString('utf8')
  if (!decoded.startsWith(TOKEN_PREFIX)) {
    throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', {ArgumentName: 'continuation-token'})
  }
  return decoded.slice(TOKEN_PREFIX.length)
}
