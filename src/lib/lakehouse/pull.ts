import {createHash} from 'node:crypto'
import {setMaxListeners} from 'node:events'
import {closeSync, constants as fsConstants, createReadStream, fstatSync, futimesSync, lstatSync, openSync, renameSync, rmSync, writeSync} from 'node:fs'
import {lstat, open, rename, unlink} from 'node:fs/promises'
import path from 'node:path'
import type {Readable} from 'node:stream'
import {GetObjectCommand, HeadObjectCommand, type S3Client} from '@aws-sdk/client-s3'
import pLimit from 'p-limit'
import picomatch from 'picomatch/posix.js'
import {mapAwsError} from '../aws/errors.js'
import {humanBytes} from '../cli/render.js'
import type {Reporter} from '../reporter.js'
import {DirectGetter} from './direct-get.js'
import {isDenied, walkPages, type ObjectEntry} from './list.js'
import {DestGuard, PART_SUFFIX, UnsafeKeyError} from './paths.js'
import {PullState} from './pull-state.js'

/** cape's object metadata with the SHA-256 (hex) of the object's bytes (S3: x-amz-meta-cape-sha256). */
export const SHA256_METADATA = 'cape-sha256'
/** Objects up to this size are read into memory and written in one go; bigger ones are streamed. */
const SMALL_OBJECT = 1024 * 1024
/** A partial temp file of an object at least this big is resumed with a ranged GET. */
const RESUME_MIN = 1024 * 1024
/** At most this many failures are kept in the result (the count is always exact). */
const MAX_FAILURES_KEPT = 1000
/** Listing pages whose downloads may be pending at once (memory stays bounded whatever the number of keys). */
const PAGES_AHEAD = 2

export const DENIED_HINT = 'The identity in use may not read this zone: `cape access check` shows who can reach what.'

export interface PullOptions {
  bucket: string
  /** Key prefix; without a trailing `/` it still names a folder (`participants` = `participants/…`) or one object. */
  prefix: string
  /** The zone path, for messages: `curated/participants/`. */
  source: string
  dest: string
  include?: string[]
  exclude?: string[]
  /** Parallel downloads (default 16). */
  concurrency?: number
  dryRun?: boolean
  /** Hash local files that cape has no record of (MD5 vs single-part ETag, else SHA-256 vs cape-sha256 metadata). */
  checksum?: boolean
  /** Emit `progress` events (files, bytes, rate) — for a TTY. */
  progress?: boolean
  signal?: AbortSignal
}

export interface PullFailure {
  key: string
  reason: string
}

export interface PullResult {
  source: string
  dest: string
  dryRun: boolean
  /** Files downloaded (with --dry-run: that would be). */
  downloaded: number
  /** Files already up to date. */
  skipped: number
  failed: PullFailure[]
  /** Set when more failures happened than `failed` lists. */
  failedTotal?: number
  /** Bytes transferred (with --dry-run: that would be). */
  bytes: number
  /** Downloads continued from an interrupted run's partial file. */
  resumed: number
  seconds: number
  hints: string[]
}

export interface PullContext {
  s3: S3Client
  reporter: Reporter
}

/** The object's MD5 when its ETag is one (single-part upload, no SSE-KMS/SSE-C), else undefined. */
export function md5FromEtag(etag: string | undefined): string | undefined {
  const e = (etag ?? '').replace(/^(W\/)?"|"$/g, '')
  return /^[0-9a-f]{32}$/i.test(e) ? e.toLowerCase() : undefined
}

/**
 * A key relative to the pulled prefix, or undefined when the key is not under it. A prefix without a trailing `/`
 * names a folder (`participants` → `participants/a.csv` is `a.csv`) or a single object (its base name); keys that
 * merely share the characters (`participants-old/…`) are not under it.
 */
export function relativeKey(key: string, prefix: string): string | undefined {
  if (prefix === '') return key
  if (prefix.endsWith('/')) return key.startsWith(prefix) ? key.slice(prefix.length) : undefined
  if (key === prefix) return key.slice(key.lastIndexOf('/') + 1)
  return key.startsWith(`${prefix}/`) ? key.slice(prefix.length + 1) : undefined
}

/** include/exclude globs (picomatch, against the relative key; patterns without `/` match the file name at any depth). */
export function keyFilter(include: string[] = [], exclude: string[] = []): (rel: string) => boolean {
  // picomatch's `basename` option applies to every pattern: give it only to those without a slash
  const compile = (globs: string[]) => globs.map((g) => picomatch(g, {dot: true, basename: !g.includes('/')}))
  const inc = compile(include)
  const exc = compile(exclude)
  return (rel) => (inc.length === 0 || inc.some((m) => m(rel))) && !exc.some((m) => m(rel))
}

/** A key as it may be shown on a terminal: JSON-quoted when it holds control or odd characters. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const showKey = (key: string) => (/[\u0000-\u001F\u007F-\u009F"\\]/.test(key) ? JSON.stringify(key) : key)

class ItemError extends Error {}

async function hashFile(file: string, algorithm: 'md5' | 'sha256'): Promise<string> {
  const h = createHash(algorithm)
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer)
  return h.digest('hex')
}

function failureReason(error: unknown): string {
  if (error instanceof ItemError || error instanceof UnsafeKeyError) return error.message
  const e = error as {name?: string; $metadata?: {httpStatusCode?: number}; code?: string; message?: string}
  if (e?.name === 'PreconditionFailed' || e?.$metadata?.httpStatusCode === 412) return 'the object changed while pulling; re-run the pull'
  if (e?.$metadata || e?.name === 'TimeoutError') return mapAwsError(error).message
  if (typeof e?.code === 'string' && /^E[A-Z]+$/.test(e.code)) return `${e.code}: ${e.message}`
  return e?.message ?? String(error)
}

const {O_WRONLY, O_CREAT, O_TRUNC, O_APPEND} = fsConstants
/** Never follow a symlink planted at a temp file's name (0 where the platform has no O_NOFOLLOW). */
const O_NOFOLLOW = fsConstants.O_NOFOLLOW ?? 0
const CREATE = O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW
const APPEND = O_WRONLY | O_APPEND | O_NOFOLLOW

/** Checks received bytes: size, MD5 against a single-part ETag (not under SSE-KMS/SSE-C), SHA-256 against cape's metadata. */
function verifier(res: {ETag?: string; Metadata?: Record<string, string>; ServerSideEncryption?: string; SSECustomerAlgorithm?: string}) {
  const kms = res.ServerSideEncryption?.startsWith('aws:kms') || res.SSECustomerAlgorithm !== undefined
  const expectMd5 = kms ? undefined : md5FromEtag(res.ETag)
  const expectSha = res.Metadata?.[SHA256_METADATA]?.toLowerCase()
  const md5 = expectMd5 ? createHash('md5') : undefined
  const sha = expectSha ? createHash('sha256') : undefined
  return {
    update(bytes: Uint8Array) {
      md5?.update(bytes)
      sha?.update(bytes)
    },
    problem(received: number, expected: number): string | undefined {
      if (received !== expected) return `size mismatch: expected ${expected} bytes, received ${received}`
      if (md5 && md5.digest('hex') !== expectMd5) return 'checksum mismatch: the MD5 of the received bytes differs from the ETag'
      if (sha && sha.digest('hex') !== expectSha) return `checksum mismatch: the SHA-256 of the received bytes differs from the ${SHA256_METADATA} metadata`
      return undefined
    },
  }
}

/** Write a verified small object to its temp file, date it, rename it into place; returns the file's mtime. */
function writeSmallFile(tmp: string, target: string, bytes: Uint8Array, mtime: Date): number {
  const fd = openSync(tmp, CREATE, 0o666)
  let mtimeMs: number
  try {
    let done = 0
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done)
    futimesSync(fd, new Date(), mtime)
    mtimeMs = fstatSync(fd).mtimeMs
  } catch (error) {
    closeSync(fd)
    rmSync(tmp, {force: true})
    throw error
  }
  closeSync(fd)
  try {
    renameSync(tmp, target)
  } catch (error) {
    rmSync(tmp, {force: true})
    throw error
  }
  return mtimeMs
}

/**
 * Mirror every object under a prefix into a local folder, keys relative to the prefix.
 *
 * - Listing pages are pipelined into downloads (p-limit), at most a few pages pending: bounded memory.
 * - Unchanged files are skipped without any request besides the listing: the destination's `.cape-pull.json`
 *   records the ETag, size and local mtime of what was downloaded; with `checksum`, unrecorded files of the right
 *   size are hashed instead (MD5 against a single-part ETag, else SHA-256 against cape's metadata).
 * - Each object goes to `.cape-<hash>.part` in its folder and is renamed to its name only after its size and
 *   checksum are verified (MD5 = single-part ETag; SHA-256 = cape-sha256 metadata when present). A partial file
 *   of a big object left by an interrupted run is resumed with a ranged GET (If-Match: same ETag).
 * - A key that would be written outside the destination (`..`, absolute, control characters, through a symlink)
 *   is never written: it is reported with its reason and the rest continue.
 */
export async function pull(ctx: PullContext, options: PullOptions): Promise<PullResult> {
  const started = Date.now()
  const {s3, reporter} = ctx
  const {signal} = options
  const dryRun = options.dryRun ?? false
  const guard = await DestGuard.open(options.dest, {create: !dryRun})
  const state = await PullState.load(guard.root)
  const wanted = keyFilter(options.include, options.exclude)
  const concurrency = Math.max(1, options.concurrency ?? 16)
  const limit = pLimit(concurrency)
  // small objects: one signed GET without the SDK's per-request middleware (custom path-style endpoints only)
  const direct = dryRun ? undefined : await DirectGetter.create(s3, concurrency)
  // every request in flight listens on the signal
  if (signal) setMaxListeners(0, signal)

  const result: PullResult = {source: options.source, dest: guard.root, dryRun, downloaded: 0, skipped: 0, failed: [], bytes: 0, resumed: 0, seconds: 0, hints: []}
  let failures = 0
  let denied = 0
  let seen = 0

  const fail = (key: string, error: unknown) => {
    failures++
    if (isDenied(error)) denied++
    const reason = failureReason(error)
    if (result.failed.length < MAX_FAILURES_KEPT) result.failed.push({key, reason})
    reporter.notify({code: 'pull.file.failed', level: 'warn', message: `${showKey(key)}: ${reason}`, data: {key, reason}})
  }

  const isUnchanged = async (obj: ObjectEntry, rel: string, target: string): Promise<boolean> => {
    // sync: one cached-inode lookup is far cheaper than a thread-pool round trip (10,000 of these on a re-pull)
    const st = lstatSync(target, {throwIfNoEntry: false})
    if (!st || !st.isFile() || st.size !== obj.size) return false
    const rec = state.get(rel)
    if (rec && rec.etag === obj.etag && rec.size === obj.size && rec.mtimeMs === st.mtimeMs) return true
    if (!options.checksum) return false
    const md5 = md5FromEtag(obj.etag)
    let same = false
    if (md5) {
      same = (await hashFile(target, 'md5')) === md5
    } else {
      const head = await s3.send(new HeadObjectCommand({Bucket: options.bucket, Key: obj.key, IfMatch: obj.etag || undefined}), {abortSignal: signal})
      const sha = head.Metadata?.[SHA256_METADATA]?.toLowerCase()
      same = sha !== undefined && (await hashFile(target, 'sha256')) === sha
    }
    if (same && !dryRun) state.set(rel, {etag: obj.etag, size: obj.size, mtimeMs: st.mtimeMs})
    return same
  }

  const download = async (obj: ObjectEntry, rel: string, target: string): Promise<void> => {
    const tmp = path.join(path.dirname(target), `.cape-${createHash('sha1').update(`${rel}\0${obj.etag}`).digest('hex').slice(0, 20)}${PART_SUFFIX}`)
    const mtime = new Date(obj.lastModified)
    const writeSmall = (res: Parameters<typeof verifier>[0], bytes: Uint8Array) => {
      // verify in memory, then write, date and rename synchronously (cheaper than a thread-pool round trip per call)
      result.bytes += bytes.length
      const check = verifier(res)
      check.update(bytes)
      const problem = check.problem(bytes.length, obj.size)
      if (problem) throw new ItemError(problem)
      const mtimeMs = writeSmallFile(tmp, target, bytes, mtime)
      state.set(rel, {etag: obj.etag, size: obj.size, mtimeMs})
    }
    if (direct && obj.size < RESUME_MIN && obj.size <= SMALL_OBJECT) {
      const res = await direct.get(options.bucket, obj.key, {ifMatch: obj.etag || undefined, signal})
      writeSmall(res, res.bytes)
      return
    }
    let offset = 0
    if (obj.size >= RESUME_MIN) {
      const st = await lstat(tmp).catch(() => undefined)
      if (st?.isFile() && st.size > 0 && st.size < obj.size) offset = st.size
    }
    const res = await s3.send(
      new GetObjectCommand({Bucket: options.bucket, Key: obj.key, IfMatch: obj.etag || undefined, Range: offset > 0 ? `bytes=${offset}-` : undefined}),
      {abortSignal: signal},
    )
    if (offset > 0 && !res.ContentRange) offset = 0 // the server sent the whole object: start over

    if (offset === 0 && obj.size <= SMALL_OBJECT) {
      writeSmall(res, await res.Body!.transformToByteArray())
      return
    }

    const check = verifier(res)
    if (offset > 0) for await (const chunk of createReadStream(tmp, {start: 0, end: offset - 1})) check.update(chunk as Buffer)
    let written = 0
    let mtimeMs = 0
    const fh = await open(tmp, offset > 0 ? APPEND : CREATE, 0o666)
    try {
      for await (const chunk of res.Body as Readable) {
        const b = chunk as Buffer
        check.update(b)
        await fh.write(b)
        written += b.length
        result.bytes += b.length
      }
      const problem = check.problem(offset + written, obj.size)
      if (problem) {
        await fh.close().catch(() => {})
        await unlink(tmp).catch(() => {})
        throw new ItemError(problem)
      }
      await fh.utimes(new Date(), mtime)
      mtimeMs = (await fh.stat()).mtimeMs
    } finally {
      await fh.close().catch(() => {})
    }
    try {
      await rename(tmp, target)
    } catch (error) {
      await unlink(tmp).catch(() => {})
      throw error
    }
    state.set(rel, {etag: obj.etag, size: obj.size, mtimeMs})
    if (offset > 0) result.resumed++
  }

  const one = async (obj: ObjectEntry): Promise<void> => {
    if (signal?.aborted) return
    const rel = relativeKey(obj.key, options.prefix)
    // not under the prefix, or a folder marker ("dir/", size 0)
    if (rel === undefined || rel === '' || (rel.endsWith('/') && obj.size === 0)) return
    if (!wanted(rel)) return
    seen++
    try {
      const target = guard.pathFor(rel)
      if (await isUnchanged(obj, rel, target)) {
        result.skipped++
        return
      }
      await guard.prepare(path.dirname(target), {create: !dryRun})
      if (dryRun) {
        result.downloaded++
        result.bytes += obj.size
        reporter.notify({code: 'pull.file.planned', level: 'info', message: `would download ${showKey(rel)} (${humanBytes(obj.size)})`, data: {key: obj.key, size: obj.size}})
        return
      }
      await download(obj, rel, target)
      result.downloaded++
    } catch (error) {
      if (signal?.aborted) return
      fail(obj.key, error)
    }
  }

  const progress = () => {
    const secs = Math.max(0.001, (Date.now() - started) / 1000)
    const done = result.downloaded + result.skipped + failures
    reporter.notify({
      code: 'pull.progress',
      level: 'progress',
      message: `${done}/${seen} files · ${result.downloaded} ${dryRun ? 'to download' : 'downloaded'}, ${result.skipped} up to date${failures ? `, ${failures} failed` : ''} · ${humanBytes(result.bytes)} · ${humanBytes(result.bytes / secs)}/s, ${Math.round(done / secs)} files/s`,
      data: {done, seen, downloaded: result.downloaded, skipped: result.skipped, failed: failures, bytes: result.bytes},
    })
  }
  const ticker = options.progress ? setInterval(progress, 200) : undefined
  const saver = dryRun ? undefined : setInterval(() => void state.save().catch(() => {}), 2000)

  const pending: Promise<unknown>[] = []
  try {
    const pages = walkPages(s3, {
      bucket: options.bucket,
      prefix: options.prefix,
      signal,
      label: options.source,
      wantPrefix: (folder) => relativeKey(`${folder}x`, options.prefix) !== undefined,
    })
    for await (const page of pages) {
      pending.push(Promise.all(page.objects.map((o) => limit(() => one(o)))))
      if (pending.length > PAGES_AHEAD) await pending.shift()
    }
    await Promise.all(pending)
  } catch (error) {
    limit.clearQueue()
    await Promise.allSettled(pending)
    throw signal?.aborted && signal.reason instanceof Error ? signal.reason : error
  } finally {
    if (ticker) clearInterval(ticker)
    if (saver) clearInterval(saver)
    direct?.destroy()
    if (!dryRun) await state.save()
  }
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('Interrupted')
  if (failures > result.failed.length) result.failedTotal = failures
  if (denied > 0) result.hints.push(DENIED_HINT)
  result.seconds = Math.round((Date.now() - started) / 10) / 100
  return result
}
