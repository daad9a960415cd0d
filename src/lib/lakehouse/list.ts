import {ListObjectsV2Command, type S3Client} from '@aws-sdk/client-s3'
import {mapAwsError} from '../aws/errors.js'
import {ZONES, type Zone, type ZoneBuckets} from './zones.js'

/** One object of a listing (the `--json` shape of `cape ls`). */
export interface ObjectEntry {
  key: string
  size: number
  /** As S3 returns it, quoted: "9e107d9d372bb6826bd81d3542a419d6" (multipart: "…-3"). */
  etag: string
  /** ISO 8601. */
  lastModified: string
}

/** A page of a listing: objects, and (one level only) the common prefixes shown as folders. */
export interface ListPage {
  objects: ObjectEntry[]
  prefixes: string[]
}

export interface ListOptions {
  bucket: string
  prefix: string
  /** Everything under the prefix, or one level (common prefixes with delimiter `/`). */
  recursive?: boolean
  signal?: AbortSignal
  /** Keys per page (S3's maximum and default is 1,000). */
  pageSize?: number
  /** The zone path being listed, for error messages ("curated/participants/"). */
  label?: string
}


/**
 * List a prefix page by page (ListObjectsV2 with continuation tokens): only one page is held at a time, so a
 * caller that prints or downloads each page as it comes uses bounded memory whatever the number of keys.
 */
export async function* listPages(s3: S3Client, options: ListOptions): AsyncGenerator<ListPage> {
  let token: string | undefined
  const label = options.label ?? `s3://${options.bucket}/${options.prefix}`
  do {
    let out
    try {
      out = await s3.send(
        new ListObjectsV2Command({
          Bucket: options.bucket,
          Prefix: options.prefix || undefined,
          Delimiter: options.recursive ? undefined : '/',
          ContinuationToken: token,
          MaxKeys: options.pageSize,
        }),
        {abortSignal: options.signal},
      )
    } catch (error) {
      throw mapAwsError(error, {doing: `listing ${label}`})
    }
    yield {
      objects: (out.Contents ?? []).map((o) => ({
        key: o.Key ?? '',
        size: o.Size ?? 0,
        etag: o.ETag ?? '',
        lastModified: (o.LastModified ?? new Date(0)).toISOString(),
      })),
      prefixes: (out.CommonPrefixes ?? []).map((p) => p.Prefix ?? '').filter(Boolean),
    }
    token = out.IsTruncated ? out.NextContinuationToken : undefined
  } while (token)
}

export const isDenied = (error: unknown): boolean => {
  const e = error as {name?: string; Code?: string; $metadata?: {httpStatusCode?: number}}
  return e?.name === 'AccessDenied' || e?.Code === 'AccessDenied' || e?.name === 'Forbidden' || e?.$metadata?.httpStatusCode === 403
}

export interface ZoneInfo {
  zone: Zone
  bucket: string
}

/** The phase's zones with their buckets (what `cape ls` shows without an argument). */
export function zoneList(zones: ZoneBuckets): ZoneInfo[] {
  return ZONES.map((zone) => ({zone, bucket: zones.buckets[zone]}))
}

/**
 * Where names in a listing are shown relative to: the prefix up to its last `/`
 * (`participants/2024` lists `participants/2024-01.csv` as `2024-01.csv`, like `aws s3 ls`).
 */
export function displayBase(prefix: string): string {
  const i = prefix.lastIndexOf('/')
  return i === -1 ? '' : prefix.slice(0, i + 1)
}
