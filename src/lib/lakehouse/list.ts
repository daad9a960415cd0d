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
  /** More pages follow. */
  truncated?: boolean
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
      truncated: Boolean(out.IsTruncated && out.NextContinuationToken),
    }
    token = out.IsTruncated ? out.NextContinuationToken : undefined
  } while (token)
}

export interface WalkOptions extends Omit<ListOptions, 'recursive'> {
  /** Folder listings in flight at once when fanning out (default 8; 1 = one sequential listing). */
  parallel?: number
  /** Fan out only over at most this many folders (each costs one extra request; default 256). */
  maxFanOut?: number
  /** Folders (common prefixes) worth listing; others are not descended into. */
  wantPrefix?: (prefix: string) => boolean
}

/**
 * Everything under a prefix, in no particular order, listed in parallel where the layout allows it: one level is
 * listed with the `/` delimiter; a single folder is descended into (a few levels); up to `maxFanOut` folders are
 * each listed recursively, `parallel` at a time. A truncated level, or more folders than that, falls back to one
 * sequential recursive listing (at most one extra request), so a flat prefix costs what a plain listing costs.
 * Pages pass through a small bounded buffer: memory stays bounded whatever the number of keys.
 */
export async function* walkPages(s3: S3Client, options: WalkOptions): AsyncGenerator<ListPage> {
  const parallel = options.parallel ?? 8
  const maxFanOut = options.maxFanOut ?? 256
  const want = options.wantPrefix ?? (() => true)
  const recursive = (prefix: string) => listPages(s3, {...options, prefix, recursive: true})
  if (parallel <= 1) {
    yield* recursive(options.prefix)
    return
  }
  let level = options.prefix
  for (let depth = 0; depth < 4; depth++) {
    const first = await listPages(s3, {...options, prefix: level, recursive: false}).next()
    if (first.done) return
    const page = first.value
    const folders = page.prefixes.filter(want)
    if (page.truncated || folders.length > maxFanOut) break
    if (page.objects.length > 0) yield {objects: page.objects, prefixes: []}
    if (folders.length === 0) return
    if (folders.length > 1) {
      yield* mergePages(folders.map((f) => () => recursive(f)), parallel)
      return
    }
    level = folders[0]
  }
  yield* recursive(level)
}

/** Run up to `parallel` listings at once and yield their pages as they come (a buffer of 2 × parallel pages). */
export async function* mergePages(listings: Array<() => AsyncGenerator<ListPage>>, parallel: number): AsyncGenerator<ListPage> {
  const buffer: ListPage[] = []
  const room: Array<() => void> = []
  let wakeConsumer: (() => void) | undefined
  let failure: {error: unknown} | undefined
  let closed = false
  let active = 0
  let next = 0
  const wake = () => {
    const w = wakeConsumer
    wakeConsumer = undefined
    w?.()
  }
  const launch = () => {
    while (active < parallel && next < listings.length && !failure && !closed) {
      const pages = listings[next++]()
      active++
      void (async () => {
        try {
          for await (const page of pages) {
            buffer.push(page)
            wake()
            while (buffer.length >= parallel * 2 && !failure && !closed) await new Promise<void>((resolve) => room.push(resolve))
            if (failure || closed) break
          }
        } catch (error) {
          failure ??= {error}
        } finally {
          active--
          launch()
          wake()
        }
      })()
    }
  }
  launch()
  try {
    for (;;) {
      if (failure) throw failure.error
      const page = buffer.shift()
      if (page) {
        room.shift()?.()
        yield page
        continue
      }
      if (active === 0 && next >= listings.length) return
      await new Promise<void>((resolve) => (wakeConsumer = resolve))
    }
  } finally {
    closed = true
    for (const r of room.splice(0)) r()
  }
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
