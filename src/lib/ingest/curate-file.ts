import {existsSync} from 'node:fs'
import {open} from 'node:fs/promises'
import {fileURLToPath} from 'node:url'
import {Worker} from 'node:worker_threads'
import {type CurateOutcome, type CurateTarget, RejectedError, storeReport} from './curate.js'
import type {Datasets} from './datasets.js'
import type {IngestReport} from './report.js'
import {uploadFile} from './s3-writer.js'

const WORKER_MAIN = new URL('./verbatim-worker-main.js', import.meta.url)

/** The worker runs compiled JavaScript (dist/): false when running from TypeScript sources (tests, tsx). */
export const verbatimCurateAvailable = (): boolean => WORKER_MAIN.protocol === 'file:' && existsSync(fileURLToPath(WORKER_MAIN))

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
 * `--transform local --output csv` for a local file whose curated CSV is, in the common case, the file itself with
 * the canonical header line: rows in the canonical layout, clean (LF line ends, canonical quoting), no value
 * transformed. Two threads, each reading the file on its own: a worker validates it with the ingest pipeline and
 * checks that its output is the file's body byte for byte, while this thread uploads "curated header + body"
 * straight from the file. The upload is published only when the worker's report says valid *and* identical;
 * otherwise it is aborted (nothing appears in curated, whatever happens).
 *
 * Returns the outcome (curated, or rejected with the report stored), or undefined when the curated CSV is not the
 * body (a CRLF file, a row rebuilt, the worker failing…): the caller then curates the normal way (curateStream).
 */
export async function curateFileVerbatim(file: string, target: CurateTarget, options: CurateFileOptions): Promise<CurateOutcome | undefined> {
  const lastByte = await readLastByte(file)
  const worker = new Worker(WORKER_MAIN, {
    workerData: {file, options: {datasets: options.datasets, dataset: options.dataset, maxErrors: options.maxErrors}},
    // its live data is small (the pipeline's state, 20,000 unique values): a low cap makes V8 collect garbage early
    // instead of growing the heap over a long file (if it ever runs out, the caller curates in its own thread)
    resourceLimits: {maxOldGenerationSizeMb: 24, maxYoungGenerationSizeMb: 4},
    stdout: false,
    stderr: false,
  })
  let resolveResult!: (r: WorkerResult) => void
  let rejectResult!: (e: unknown) => void
  const result = new Promise<WorkerResult>((resolve, reject) => {
    resolveResult = resolve
    rejectResult = reject
  })
  result.catch(() => {})
  let notVerbatim = false
  let uploading: Promise<{bytes: number}> | undefined
  const onAbort = () => rejectResult(options.signal!.reason)
  options.signal?.addEventListener('abort', onAbort, {once: true})

  worker.on('message', (m: {type: string; bodyStart?: number; header?: string; bytes?: number; rows?: number; message?: string} & Partial<WorkerResult>) => {
    switch (m.type) {
      case 'start':
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
          start: m.bodyStart,
          expectedBytes: options.expectedBytes,
          prefix: Buffer.from(m.header!, 'utf8'),
          suffix: lastByte !== -1 && lastByte !== 10 ? Buffer.from('\n') : undefined,
          // published only if the report is valid and the output was exactly these bytes
          beforeFinish: async () => {
            const r = await result
            if (!r.report.valid) throw new RejectedError(r.report)
            if (!r.identical || r.finalNewline !== (lastByte !== -1 && lastByte !== 10)) throw new NotVerbatim()
          },
        })
        uploading.catch(() => {})
        break
      case 'progress':
        options.onProgress?.(m.bytes!, m.rows!)
        break
      case 'diverged':
        notVerbatim = true
        break
      case 'result':
        resolveResult({report: m.report!, identical: m.identical!, finalNewline: m.finalNewline!})
        break
      case 'error':
        rejectResult(new Error(m.message))
        break
    }
  })
  worker.on('error', (e) => rejectResult(e))
  worker.on('exit', (code) => rejectResult(new Error(`the validating worker exited (code ${code}) before finishing`)))

  let r: WorkerResult
  try {
    r = await result
  } catch (e) {
    await uploading?.catch(() => undefined) // aborted: beforeFinish rejects with the same error
    if (options.signal?.aborted) throw e
    return undefined // the worker failed: curate the normal way
  } finally {
    options.signal?.removeEventListener('abort', onAbort)
    void worker.terminate()
  }
  if (!r.report.valid) {
    await uploading?.catch(() => undefined)
    return {report: r.report, reportStored: await storeReport(target, r.report, null)}
  }
  if (notVerbatim || !r.identical || !uploading) {
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
