import {existsSync} from 'node:fs'
import {Readable, Writable} from 'node:stream'
import {fileURLToPath} from 'node:url'
import {Worker} from 'node:worker_threads'
import type {IngestOptions, IngestPipeline} from './pipeline.js'
import type {IngestReport} from './report.js'

/**
 * The ingest pipeline in a worker thread, behind the same interface as createIngestPipeline(): write raw bytes to
 * `input`, read curated bytes from `output`, await `result`. The CLI uses it for `--transform local --output
 * parquet`, so that the pipeline's heap — a row group of typed values per column — is capped (V8 collects it early
 * instead of growing it) and the encoding runs beside the thread that reads and uploads. (CSV output stays in the
 * CLI's thread: its byte lane costs less than copying every chunk to a worker and back.) Flow control both ways: at most a few
 * chunks travel unacknowledged, and the worker pauses its output while `output` is full.
 *
 * Messages main → worker: {type: 'data', chunk} | {type: 'end'} | {type: 'pause'} | {type: 'resume'}
 * worker → main: {type: 'ack', rows} | {type: 'out', chunk} | {type: 'out-end'} | {type: 'result', report} | {type: 'error', message, code?}
 */
const IN_FLIGHT = 2

export interface WorkerPipelineOptions extends IngestOptions {
  /** Heap cap of the worker's old generation (MB). Default 48 for CSV, 64 + 8 per column for parquet. */
  maxOldGenerationSizeMb?: number
}

const WORKER_MAIN = new URL('./pipeline-worker-main.js', import.meta.url)

/** Whether a worker entry exists as compiled JavaScript (dist/): false when running from TypeScript sources (tests, tsx). */
export const compiledWorkerExists = (entry: URL): boolean => entry.protocol === 'file:' && existsSync(fileURLToPath(entry))

/** The worker runs compiled JavaScript (dist/): false when running from TypeScript sources (tests, tsx). */
export const workerPipelineAvailable = (): boolean => compiledWorkerExists(WORKER_MAIN)

export function createWorkerPipeline(options: WorkerPipelineOptions): IngestPipeline {
  const columns = Math.max(0, ...[...options.datasets.values()].map((d) => d.columns.length))
  // CSV needs little (the unique Map, a batch of lines); parquet holds a row group of values per column
  const {maxOldGenerationSizeMb = options.output === 'parquet' ? 64 + 8 * columns : 48, ...pipelineOptions} = options
  const worker = new Worker(WORKER_MAIN, {
    workerData: {options: pipelineOptions},
    resourceLimits: {maxOldGenerationSizeMb, maxYoungGenerationSizeMb: 4},
    stdout: false,
    stderr: false,
  })
  let inFlight = 0
  let rows = 0
  let waiting: (() => void) | undefined
  let paused = false
  let settled = false
  let resolveResult!: (r: IngestReport) => void
  let rejectResult!: (e: unknown) => void
  const result = new Promise<IngestReport>((resolve, reject) => {
    resolveResult = resolve
    rejectResult = reject
  })
  result.catch(() => {})

  const output = new Readable({
    highWaterMark: 1 << 18,
    read() {
      if (paused) {
        paused = false
        worker.postMessage({type: 'resume'})
      }
    },
    destroy(err, cb) {
      if (err) fail(err)
      cb(err)
    },
  })
  const input = new Writable({
    highWaterMark: 1 << 18,
    write(chunk: Buffer, _enc, cb) {
      inFlight++
      worker.postMessage({type: 'data', chunk})
      if (inFlight < IN_FLIGHT) cb()
      else waiting = cb
    },
    final(cb) {
      worker.postMessage({type: 'end'})
      cb()
    },
    destroy(err, cb) {
      if (err) fail(err)
      cb(err)
    },
  })

  function fail(err: unknown): void {
    if (settled) return
    settled = true
    rejectResult(err)
    if (!input.destroyed) input.destroy(err as Error)
    if (!output.destroyed) output.destroy(err as Error)
    void worker.terminate()
  }

  worker.on('message', (m: {type: string; chunk?: Uint8Array; report?: IngestReport; message?: string; code?: string; rows?: number}) => {
    switch (m.type) {
      case 'ack': {
        inFlight--
        rows = m.rows ?? rows
        const cb = waiting
        waiting = undefined
        cb?.()
        break
      }
      case 'out': {
        const c = m.chunk!
        if (!output.push(Buffer.from(c.buffer, c.byteOffset, c.byteLength)) && !paused) {
          paused = true
          worker.postMessage({type: 'pause'})
        }
        break
      }
      case 'out-end':
        output.push(null)
        break
      case 'result':
        settled = true
        resolveResult(m.report!)
        void worker.terminate()
        break
      case 'error':
        fail(Object.assign(new Error(m.message), m.code ? {code: m.code} : {}))
        break
    }
  })
  worker.on('error', (e) => {
    const oom = (e as {code?: string}).code === 'ERR_WORKER_OUT_OF_MEMORY'
    fail(oom ? new Error(`the ingest worker ran out of memory (heap cap ${maxOldGenerationSizeMb} MB)`) : e)
  })
  worker.on('exit', (code) => {
    if (!settled) fail(new Error(`the ingest worker exited (code ${code}) before finishing`))
  })
  return {input, output, result, rows: () => rows}
}
