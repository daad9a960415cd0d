import {open} from 'node:fs/promises'
import {Writable} from 'node:stream'
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import {withUnsignedPayload} from '../aws/unsigned-payload.js'

/**
 * Writing one S3 object from a stream (createS3Writer) or a file (uploadFile): a single PutObject when it all fits
 * in one part, otherwise a multipart upload with `queueSize` parts in flight. Unlike lib-storage's Upload (which
 * concatenates each part from the incoming chunks), bytes go into a small pool of part buffers that are reused —
 * a file is read straight into them — so no 8 MiB buffers pile up waiting for V8's next full collection and memory
 * stays at (queueSize + 1) × partSize (queueSize × partSize for a file). The object appears only on success: on an error (or when `signal` aborts),
 * the multipart upload is aborted and nothing is left behind.
 *
 * Every part (and a single PUT) carries a CRC32 checksum that the store verifies, and is signed without a payload
 * hash (see unsigned-payload.ts): one cheap checksum pass instead of two SHA-256 passes per byte.
 */
export interface S3WriterOptions {
  s3: S3Client
  bucket: string
  key: string
  contentType?: string
  metadata?: Record<string, string>
  /** Default 8 MiB (S3's minimum is 5 MiB for all parts but the last). */
  partSize?: number
  /** Parts uploaded at once. Default 2. */
  queueSize?: number
  signal?: AbortSignal
  /**
   * Create the object only if none exists under the key (`If-None-Match: *` on the PUT or on
   * CompleteMultipartUpload): an existing object is never replaced — S3 answers 412 PreconditionFailed instead.
   */
  createOnly?: boolean
  /** createS3Writer: called with each written chunk once its bytes are copied (the chunk is no longer needed). */
  onCopied?: (chunk: Buffer) => void
}

export interface S3Writer {
  stream: Writable
  /** Resolves when the object exists (after the stream ended), rejects on any failure. */
  done: Promise<{bytes: number; parts: number}>
}

/** The part buffers and uploads of one object, shared by the stream and the file entry points. */
function partUploader(options: S3WriterOptions, spare = 1) {
  const {s3, bucket, key, signal} = options
  const partSize = options.partSize ?? 8 * 1024 * 1024
  const queueSize = options.queueSize ?? 2
  const free: Buffer[] = []
  let allocated = 0
  let uploadId: Promise<string> | undefined
  let partNumber = 0
  const inFlight = new Set<Promise<void>>()
  const parts: Array<{PartNumber: number; ETag: string; ChecksumCRC32?: string}> = []
  const state = {failure: undefined as unknown}
  let waiting: (() => void) | undefined
  const sendOptions = signal ? {abortSignal: signal} : {}
  const condition = options.createOnly ? {IfNoneMatch: '*'} : {}

  // queueSize buffers in flight, plus `spare` being filled meanwhile
  const take = (): Buffer | undefined => free.pop() ?? (allocated < queueSize + spare ? (allocated++, Buffer.allocUnsafe(partSize)) : undefined)

  function startUpload(): Promise<string> {
    uploadId ??= s3
      .send(new CreateMultipartUploadCommand({Bucket: bucket, Key: key, ContentType: options.contentType, Metadata: options.metadata, ChecksumAlgorithm: 'CRC32'}), sendOptions)
      .then((r) => r.UploadId!)
    return uploadId
  }

  return {
    partSize,
    state,
    get sentParts() {
      return partNumber
    },
    /** A free part buffer now, or undefined (then `onFree` is called once one is back). */
    take(onFree: () => void): Buffer | undefined {
      const buf = take()
      if (!buf) waiting = onFree
      return buf
    },
    /** A free part buffer, waiting while all are being uploaded. */
    acquire(): Promise<Buffer> {
      return new Promise((resolve) => {
        const attempt = (): void => {
          const buf = this.take(attempt)
          if (buf) resolve(buf)
        }
        attempt()
      })
    },
    /** Upload `length` bytes of `buf` as the next part; the buffer goes back to the pool after. */
    sendPart(buf: Buffer, length: number): void {
      const number = ++partNumber
      const p = (async () => {
        const id = await startUpload()
        const part = new UploadPartCommand({Bucket: bucket, Key: key, UploadId: id, PartNumber: number, Body: buf.subarray(0, length), ContentLength: length, ChecksumAlgorithm: 'CRC32'})
        const r = await s3.send(withUnsignedPayload(part), sendOptions)
        parts.push({PartNumber: number, ETag: r.ETag!, ...(r.ChecksumCRC32 ? {ChecksumCRC32: r.ChecksumCRC32} : {})})
      })()
        .catch((e) => {
          state.failure ??= e
        })
        .finally(() => {
          inFlight.delete(p)
          free.push(buf)
          const w = waiting
          waiting = undefined
          w?.()
        })
      inFlight.add(p)
    },
    /** Copy bytes `start`–`end` (inclusive) of an S3 object as the next part, server-side (UploadPartCopy). */
    async sendCopy(source: CopySource, start: number, end: number): Promise<void> {
      while (inFlight.size >= queueSize) await Promise.race([...inFlight])
      const number = ++partNumber
      const p = (async () => {
        const id = await startUpload()
        const copySource = `${source.bucket}/${source.key.split('/').map(encodeURIComponent).join('/')}`
        const r = await s3.send(new UploadPartCopyCommand({Bucket: bucket, Key: key, UploadId: id, PartNumber: number, CopySource: copySource, CopySourceRange: `bytes=${start}-${end}`}), sendOptions)
        const checksum = r.CopyPartResult?.ChecksumCRC32
        parts.push({PartNumber: number, ETag: r.CopyPartResult!.ETag!, ...(checksum ? {ChecksumCRC32: checksum} : {})})
      })()
        .catch((e) => {
          state.failure ??= e
        })
        .finally(() => inFlight.delete(p))
      inFlight.add(p)
    },
    /** A single PUT of everything (no part was sent). */
    async put(body: Buffer): Promise<void> {
      const put = new PutObjectCommand({Bucket: bucket, Key: key, Body: body, ContentLength: body.length, ContentType: options.contentType, Metadata: options.metadata, ChecksumAlgorithm: 'CRC32', ...condition})
      await s3.send(withUnsignedPayload(put), sendOptions)
    },
    /** Wait for the parts in flight and complete the multipart upload. */
    async complete(): Promise<number> {
      while (inFlight.size > 0) await Promise.all([...inFlight])
      if (state.failure) throw state.failure
      const id = await startUpload()
      parts.sort((a, b) => a.PartNumber - b.PartNumber)
      await s3.send(new CompleteMultipartUploadCommand({Bucket: bucket, Key: key, UploadId: id, MultipartUpload: {Parts: parts}, ...condition}), sendOptions)
      return parts.length
    },
    async abort(): Promise<void> {
      await Promise.allSettled([...inFlight])
      if (uploadId) {
        const id = await uploadId.catch(() => undefined)
        if (id) await s3.send(new AbortMultipartUploadCommand({Bucket: bucket, Key: key, UploadId: id})).catch(() => undefined)
      }
    },
  }
}

export function createS3Writer(options: S3WriterOptions): S3Writer {
  const {key, signal} = options
  const up = partUploader(options)
  const partSize = up.partSize
  let current: Buffer | undefined
  let filled = 0
  let bytes = 0
  let finished = false
  let resolveDone!: (v: {bytes: number; parts: number}) => void
  let rejectDone!: (e: unknown) => void
  const done = new Promise<{bytes: number; parts: number}>((resolve, reject) => {
    resolveDone = resolve
    rejectDone = reject
  })
  done.catch(() => {})

  /** Copy `chunk` into part buffers, sending each full one; calls back when there is room for more. */
  function write(chunk: Buffer, cb: (e?: Error | null) => void): void {
    let offset = 0
    const step = (): void => {
      if (up.state.failure) return cb(up.state.failure as Error)
      while (offset < chunk.length) {
        if (!current) {
          current = up.take(step)
          filled = 0
          if (!current) return // all part buffers are being uploaded: step() again when one is back
        }
        const n = chunk.copy(current, filled, offset)
        filled += n
        offset += n
        bytes += n
        if (filled === partSize) {
          up.sendPart(current, filled)
          current = undefined
        }
      }
      options.onCopied?.(chunk)
      cb()
    }
    step()
  }

  const stream = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, cb) {
      write(chunk, cb)
    },
    final(cb) {
      void (async () => {
        try {
          if (up.sentParts === 0) {
            await up.put(current ? current.subarray(0, filled) : Buffer.alloc(0))
            finished = true
            resolveDone({bytes, parts: 1})
            return cb()
          }
          if (current && filled > 0) up.sendPart(current, filled)
          current = undefined
          const parts = await up.complete()
          finished = true
          resolveDone({bytes, parts})
          cb()
        } catch (e) {
          await up.abort()
          rejectDone(e)
          cb(e as Error)
        }
      })()
    },
    destroy(err, cb) {
      if (!finished) {
        const reason = err ?? new Error(`the upload of ${key} was closed before its end`)
        up.state.failure ??= reason
        void up.abort().finally(() => rejectDone(reason))
      }
      cb(err)
    },
  })
  if (signal) {
    const onAbort = () => stream.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'))
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, {once: true})
    void done.finally(() => signal.removeEventListener('abort', onAbort)).catch(() => {})
  }
  return {stream, done}
}

export class FileChangedError extends Error {
  constructor(file: string, expected: number, actual: number) {
    super(`${file} changed while it was being uploaded (${expected} bytes expected, ${actual} read)`)
    this.name = 'FileChangedError'
  }
}

/** An S3 object holding the same bytes as the file being uploaded, at the same offsets. */
export interface CopySource {
  bucket: string
  key: string
}

export interface UploadFileOptions extends S3WriterOptions {
  /**
   * The file's bytes are (once `ready` resolves) also in this S3 object: the parts after the first are copied from
   * it server-side (UploadPartCopy) instead of being sent again, so each byte leaves the client once. Needs
   * `expectedBytes` and no `suffix` (otherwise the whole file is sent).
   */
  copyFrom?: CopySource & {ready: Promise<unknown>}
  file: string
  /** The file's size when it was hashed: a file that grew or shrank since fails the upload (FileChangedError). */
  expectedBytes?: number
  /** Upload the file from this byte on (default 0). */
  start?: number
  /** Bytes stored before the file's bytes, and after them. */
  prefix?: Uint8Array
  suffix?: Uint8Array
  /** Called with the file bytes as they are read (not the prefix or suffix). */
  onBytes?: (bytes: Buffer) => void
  /**
   * Awaited once the last byte is read, before the object is published (CompleteMultipartUpload, or the single
   * PUT): a rejection aborts the upload and nothing appears.
   */
  beforeFinish?: () => Promise<void>
}

/**
 * Upload a local file as one object, read straight into the part buffers (no intermediate chunks): `prefix`, the
 * file from `start`, `suffix`. With `expectedBytes` (from an earlier pass that hashed the file), a file that grew
 * or shrank since fails the upload (FileChangedError) instead of storing bytes its metadata does not describe.
 */
export async function uploadFile(options: UploadFileOptions): Promise<{bytes: number; parts: number}> {
  // no spare buffer: a part is read from the file (page cache) in a moment, so filling need not overlap uploading
  const up = partUploader(options, 0)
  const fh = await open(options.file, 'r')
  const start = options.start ?? 0
  let position = start
  let prefix = options.prefix ?? new Uint8Array(0)
  let suffix = options.suffix ?? new Uint8Array(0)
  let fileDone = false
  let bytes = 0
  /** Fill `buf` from the prefix, the file, the suffix; returns how much (less than its size: the end). */
  const fill = async (buf: Buffer): Promise<number> => {
    let filled = 0
    if (prefix.length > 0) {
      const n = Math.min(prefix.length, buf.length)
      buf.set(prefix.subarray(0, n))
      prefix = prefix.subarray(n)
      filled = n
    }
    while (!fileDone && filled < buf.length) {
      const {bytesRead} = await fh.read(buf, filled, buf.length - filled, position)
      if (bytesRead === 0) {
        fileDone = true
        if (options.expectedBytes !== undefined && position !== options.expectedBytes) throw new FileChangedError(options.file, options.expectedBytes, position)
        break
      }
      options.onBytes?.(buf.subarray(filled, filled + bytesRead))
      position += bytesRead
      filled += bytesRead
    }
    if (fileDone && suffix.length > 0 && filled < buf.length) {
      const n = Math.min(suffix.length, buf.length - filled)
      buf.set(suffix.subarray(0, n), filled)
      suffix = suffix.subarray(n)
      filled += n
    }
    return filled
  }
  const copy = options.copyFrom && options.expectedBytes !== undefined && suffix.length === 0 ? options.copyFrom : undefined
  try {
    for (;;) {
      options.signal?.throwIfAborted()
      if (up.state.failure) throw up.state.failure
      if (copy && up.sentParts > 0 && prefix.length === 0) {
        // the rest is in S3 already: copied there, part by part
        await copy.ready
        for (let at = position; at < options.expectedBytes!; at += up.partSize) await up.sendCopy(copy, at, Math.min(at + up.partSize, options.expectedBytes!) - 1)
        bytes += options.expectedBytes! - position
        await options.beforeFinish?.()
        return {bytes, parts: await up.complete()}
      }
      const buf = await up.acquire()
      const filled = await fill(buf)
      bytes += filled
      const atEnd = filled < buf.length
      if (atEnd && up.sentParts === 0) {
        await options.beforeFinish?.()
        await up.put(buf.subarray(0, filled))
        return {bytes, parts: 1}
      }
      if (filled > 0) up.sendPart(buf, filled)
      if (atEnd) {
        await options.beforeFinish?.()
        return {bytes, parts: await up.complete()}
      }
    }
  } catch (e) {
    up.state.failure ??= e
    await up.abort()
    throw e
  } finally {
    await fh.close()
  }
}
