import {open} from 'node:fs/promises'
import {Worker} from 'node:worker_threads'
import {type CurateOutcome, type CurateTarget, RejectedError, storeReport} from './curate.js'
import type {Datasets} from './datasets.js'
import {compiledWorkerExists} from './pipeline-worker.js'
import type {IngestReport} from './report.js'
import {uploadFile, type UploadFileOptions} from './s3-writer.js'

const WORKER_MAIN = new URL('./verbatim-worker-main.js', import.meta.url)

/** The worker runs compiled JavaScript (dist/): false when running from TypeScript sources (tests, tsx). */
export const verbatimCurateAvailable = (): boolean => compiledWorkerExists(WORKER_MAIN)

export interface CurateFileOptions {
  datasets: Datasets
  dataset?: string
  maxErrors?: number
  signal?: AbortSignal
  /** The file's size when it was hashed (see uploadFile). */
  expectedBytes: number
  queueSize?: number
  partSize?: number
  /** Bytes read and rows checked so far. */
  onProgress?: (bytes: number, rows: number) => void
  /** The file as it is in S3 (raw), once `ready`: the body's parts after the first are copied from it (see uploadFile). */
  copyFrom?: UploadFileOptions['copyFrom']
}

interface WorkerResult {
  report: IngestReport
  identical: boolean
  finalNewline: boolean
}

class NotVerbatim extends Error {
  constructor() {
    super('the curated CSV is not the file body')
  }
}

/**
 * The validating side of curateFileVerbatim(), started early: a worker that reads and validates the file on its own
 * (it needs nothing from the pre-pass), so it can run while this thread hashes the file. Messages are recorded as
 * they come; curateFileVerbatim() picks them up. Call stop() when the file is not curated after all (skipped…).
 */
export interface VerbatimCheck {
  /** The curated header and where the file's body starts, once known (undefined: never — the file has no body to copy). */
  started: Promise<{bodyStart: number; header: string} | undefined>
  result: Promise<WorkerResult>
  /** Resolves as soon as the output is known not to be the body (never otherwise). */
  divergence: Promise<void>
  onProgress?: (bytes: number, rows: number) => void
  stop(): void
}

export function startVerbatimCheck(file: string, options: {datasets: Datasets; dataset?: string; maxErrors?: number}): VerbatimCheck {
  const worker = new Worker(WORKER_MAIN, {
    workerData: {file, options: {datasets: options.datasets, dataset: options.dataset, maxErrors: options.maxErrors}},
    // its live data is small (the pipeline's state, 20,000 unique values): a low cap makes V8 collect garbage early
    // instead of growing the heap over a long file (if it ever runs out, the caller curates in its own thread)
    resourceLimits: {maxOldGenerationSizeMb: 24, maxYoungGenerationSizeMb: 4},
    stdout: false,
    stderr: false,
  })
  let resolveStarted!: (v: {bodyStart: number; header: string} | undefined) => void
  const started = new Promise<{bodyStart: number; header: string} | undefined>((resolve) => (resolveStarted = resolve))
  let resolveResult!: (r: WorkerResult) => void
  let rejectResult!: (e: unknown) => void
  const result = new Promise<WorkerResult>((resolve, reject) => {
    resolveResult = resolve
    rejectResult = reject
  })
  result.catch(() => {})
  const fail = (e: unknown) => {
    resolveStarted(undefined)
    rejectResult(e)
  }
  let resolveDivergence!: () => void
  const check: VerbatimCheck = {
    started,
    result,
    divergence: new Promise<void>((resolve) => (resolveDivergence = resolve)),
    stop: () => {
      fail(new Error('stopped'))
      void worker.terminate()
    },
  }
  worker.on('message', (m: {type: string; bodyStart?: number; header?: string; bytes?: number; rows?: number; message?: string} & Partial<WorkerResult>) => {
    switch (m.type) {
      case 'start':
        resolveStarted({bodyStart: m.bodyStart!, header: m.header!})
        break
      case 'progress':
        check.onProgress?.(m.bytes!, m.rows!)
        break
      case 'diverged':
        resolveDivergence()
        break
      case 'result':
        resolveStarted(undefined) // no-op when it started
        resolveResult({report: m.report!, identical: m.identical!, finalNewline: m.finalNewline!})
        void worker.terminate()
        break
      case 'error':
        fail(new Error(m.message))
        break
    }
  })
  worker.on('error', fail)
  worker.on('exit', (code) => fail(new Error(`the validating worker exited (code ${code}) before finishing`)))
  return check
}

/**
 * `--transform local --output csv` for a local file whose curated CSV is, in the common case, the file itself with
 * the canonical header line: rows in the canonical layout, clean (LF line ends, canonical quoting), no value
 * transformed. Two threads, each reading the file on its own: a worker (startVerbatimCheck) validates it with the
 * ingest pipeline and checks that its output is the file's body byte for byte, while this thread uploads "curated
 * header + body": its first part straight from the file, the others — with `copyFrom`, the raw object that is the
 * same file — copied from raw server-side (UploadPartCopy) once raw has landed, so each byte is sent once. The upload is published only when the worker's report says valid *and*
 * identical; otherwise it is aborted (nothing appears in curated, whatever happens).
 *
 * Returns the outcome (curated, or rejected with the report stored), or undefined when the curated CSV is not the
 * body (a CRLF file, a row rebuilt, the worker failing…): the caller then curates the normal way (curateStream).
 */
export async function curateFileVerbatim(file: string, check: VerbatimCheck, target: CurateTarget, options: CurateFileOptions): Promise<CurateOutcome | undefined> {
  const lastByte = await readLastByte(file)
  const finalLf = lastByte !== -1 && lastByte !== 10
  const onAbort = () => check.stop()
  options.signal?.addEventListener('abort', onAbort, {once: true})
  check.onProgress = options.onProgress
  let uploading: Promise<{bytes: number}> | undefined
  void check.started.then((start) => {
    if (start === undefined || options.signal?.aborted) return
    uploading = uploadFile({
      s3: target.s3,
      bucket: target.curatedBucket,
      key: target.curatedKey,
      contentType: 'text/csv; charset=utf-8',
      metadata: target.metadata,
      queueSize: options.queueSize,
      partSize: options.partSize,
      signal: options.signal,
      file,
      start: start.bodyStart,
      expectedBytes: options.expectedBytes,
      prefix: Buffer.from(start.header, 'utf8'),
      suffix: finalLf ? Buffer.from('\n') : undefined,
      copyFrom: options.copyFrom,
      // published only if the report is valid and the output was exactly these bytes
      beforeFinish: async () => {
        const r = await check.result
        if (!r.report.valid) throw new RejectedError(r.report)
        if (!r.identical || r.finalNewline !== finalLf) throw new NotVerbatim()
      },
    })
    uploading.catch(() => {})
  })

  let r: WorkerResult
  try {
    // not the body (a CRLF file, rows rebuilt…): stop now and curate the normal way, rather than validate twice
    const first = await Promise.race([check.result, check.divergence.then(() => undefined)])
    if (first === undefined) check.stop() // the upload's beforeFinish rejects: it is aborted
    await check.started // the upload, if any, has been started by now
    if (first === undefined) {
      await uploading?.catch(() => undefined)
      return undefined
    }
    r = first
  } catch (e) {
    await uploading?.catch(() => undefined) // aborted: beforeFinish rejects with the same error
    if (options.signal?.aborted) throw options.signal.reason ?? e
    return undefined // the worker failed: curate the normal way
  } finally {
    options.signal?.removeEventListener('abort', onAbort)
  }
  if (!r.report.valid) {
    await uploading?.catch(() => undefined)
    return {report: r.report, reportStored: await storeReport(target, r.report, null)}
  }
  if (!r.identical || !uploading) {
    await uploading?.catch(() => undefined)
    return undefined
  }
  const uploaded = await uploading.catch((e: unknown) => {
    if (e instanceof NotVerbatim) return undefined
    throw e
  })
  if (!uploaded) return undefined
  const curated = {bucket: target.curatedBucket, key: target.curatedKey, bytes: uploaded.bytes}
  return {report: r.report, curated, reportStored: await storeReport(target, r.report, curated.key)}
}

/**
 * Whether the file's first line ends with CR LF: its curated CSV (LF line ends) cannot be its body, so the verbatim
 * path is not even tried (no worker started for nothing).
 */
export async function startsWithCrLfLine(file: string): Promise<boolean> {
  const fh = await open(file, 'r')
  try {
    const head = Buffer.alloc(1 << 16)
    const {bytesRead} = await fh.read(head, 0, head.length, 0)
    const lf = head.subarray(0, bytesRead).indexOf(10)
    return lf > 0 && head[lf - 1] === 13
  } finally {
    await fh.close()
  }
}

/** The file's last byte, or -1 when it is empty. */
async function readLastByte(file: string): Promise<number> {
  const fh = await open(file, 'r')
  try {
    const {size} = await fh.stat()
    if (size === 0) return -1
    const b = Buffer.alloc(1)
    await fh.read(b, 0, 1, size - 1)
    return b[0]
  } finally {
    await fh.close()
  }
}
