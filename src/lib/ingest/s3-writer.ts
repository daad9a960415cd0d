import {Writable} from 'node:stream'
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import {withUnsignedPayload} from '../aws/unsigned-payload.js'

/**
 * A Writable that stores what is written as one S3 object: a single PutObject when it all fits in one part,
 * otherwise a multipart upload with `queueSize` parts in flight. Unlike lib-storage's Upload (which concatenates
 * each part from the incoming chunks), bytes are copied into a small pool of part buffers that are reused: the
 * incoming chunks die young and no 8 MiB buffers pile up waiting for V8's next full collection, so memory stays at
 * (queueSize + 1) × partSize. The object appears only when the stream ends normally: when it is destroyed with an
 * error (or `signal` aborts), the multipart upload is aborted and nothing is left behind.
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
}

export interface S3Writer {
  stream: Writable
  /** Resolves when the object exists (after the stream ended), rejects on any failure. */
  done: Promise<{bytes: number; parts: number}>
}

export function createS3Writer(options: S3WriterOptions): S3Writer {
  const {s3, bucket, key, signal} = options
  const partSize = options.partSize ?? 8 * 1024 * 1024
  const queueSize = options.queueSize ?? 2
  const free: Buffer[] = []
  let allocated = 0
  let current: Buffer | undefined
  let filled = 0
  let bytes = 0
  let uploadId: Promise<string> | undefined
  let partNumber = 0
  const inFlight = new Set<Promise<void>>()
  const parts: Array<{PartNumber: number; ETag: string; ChecksumCRC32?: string}> = []
  let failure: unknown
  let finished = false
  let waiting: (() => void) | undefined
  let resolveDone!: (v: {bytes: number; parts: number}) => void
  let rejectDone!: (e: unknown) => void
  const done = new Promise<{bytes: number; parts: number}>((resolve, reject) => {
    resolveDone = resolve
    rejectDone = reject
  })
  done.catch(() => {})
  const sendOptions = signal ? {abortSignal: signal} : {}

  const take = (): Buffer | undefined => free.pop() ?? (allocated < queueSize + 1 ? (allocated++, Buffer.allocUnsafe(partSize)) : undefined)

  function startUpload(): Promise<string> {
    uploadId ??= s3
      .send(new CreateMultipartUploadCommand({Bucket: bucket, Key: key, ContentType: options.contentType, Metadata: options.metadata, ChecksumAlgorithm: 'CRC32'}), sendOptions)
      .then((r) => r.UploadId!)
    return uploadId
  }

  function sendPart(buf: Buffer, length: number): void {
    const number = ++partNumber
    const p = (async () => {
      const id = await startUpload()
      const part = new UploadPartCommand({Bucket: bucket, Key: key, UploadId: id, PartNumber: number, Body: buf.subarray(0, length), ContentLength: length, ChecksumAlgorithm: 'CRC32'})
      const r = await s3.send(withUnsignedPayload(part), sendOptions)
      parts.push({PartNumber: number, ETag: r.ETag!, ...(r.ChecksumCRC32 ? {ChecksumCRC32: r.ChecksumCRC32} : {})})
    })()
      .catch((e) => {
        failure ??= e
      })
      .finally(() => {
        inFlight.delete(p)
        free.push(buf)
        const w = waiting
        waiting = undefined
        w?.()
      })
    inFlight.add(p)
  }

  async function abort(): Promise<void> {
    await Promise.allSettled([...inFlight])
    if (uploadId) {
      const id = await uploadId.catch(() => undefined)
      if (id) await s3.send(new AbortMultipartUploadCommand({Bucket: bucket, Key: key, UploadId: id})).catch(() => undefined)
    }
  }

  /** Copy `chunk` into part buffers, sending each full one; calls back when there is room for more. */
  function write(chunk: Buffer, cb: (e?: Error | null) => void): void {
    let offset = 0
    const step = (): void => {
      if (failure) return cb(failure as Error)
      while (offset < chunk.length) {
        if (!current) {
          current = take()
          filled = 0
          if (!current) {
            waiting = step // all part buffers are being uploaded: wait for one
            return
          }
        }
        const n = chunk.copy(current, filled, offset)
        filled += n
        offset += n
        bytes += n
        if (filled === partSize) {
          sendPart(current, filled)
          current = undefined
        }
      }
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
          if (partNumber === 0) {
            // it all fits in one part: a plain PUT
            const body = current ? current.subarray(0, filled) : Buffer.alloc(0)
            const put = new PutObjectCommand({Bucket: bucket, Key: key, Body: body, ContentLength: body.length, ContentType: options.contentType, Metadata: options.metadata, ChecksumAlgorithm: 'CRC32'})
            await s3.send(withUnsignedPayload(put), sendOptions)
            finished = true
            resolveDone({bytes, parts: 1})
            return cb()
          }
          if (current && filled > 0) sendPart(current, filled)
          current = undefined
          while (inFlight.size > 0) await Promise.all([...inFlight])
          if (failure) throw failure
          const id = await startUpload()
          parts.sort((a, b) => a.PartNumber - b.PartNumber)
          await s3.send(new CompleteMultipartUploadCommand({Bucket: bucket, Key: key, UploadId: id, MultipartUpload: {Parts: parts}}), sendOptions)
          finished = true
          resolveDone({bytes, parts: parts.length})
          cb()
        } catch (e) {
          await abort()
          rejectDone(e)
          cb(e as Error)
        }
      })()
    },
    destroy(err, cb) {
      if (!finished) {
        const reason = err ?? new Error(`the upload of ${key} was closed before its end`)
        failure ??= reason
        void abort().finally(() => rejectDone(reason))
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
