import {PutObjectCommand} from '@aws-sdk/client-s3'
import pLimit from 'p-limit'
import {ulid} from 'ulid'
import type {AwsClients} from '../aws/clients.js'
import {mapAwsError} from '../aws/errors.js'
import {isCapeError, type CapeError} from '../cli/errors.js'
import {ExitCode} from '../cli/exit-codes.js'
import type {ResolvedEnvironment} from '../config/config.js'
import {resolveZones} from '../lakehouse/zones.js'
import type {Reporter} from '../reporter.js'
import {META, curateStream, curatedKeyFor, curatedMetadata, datasetDefinitionKey, PUBLISHED_BY, reportKeyFor} from './curate.js'
import {getDataset, loadDatasets, type Datasets} from './datasets.js'
import {validateStream} from './pipeline.js'
import {createWorkerPipeline, workerPipelineAvailable} from './pipeline-worker.js'
import {renderReport, type IngestReport, type Issue} from './report.js'
import {abortStaleUploads, deleteQuietly, findIngested, headOrUndefined, waitForReport, writeMarker} from './s3-state.js'
import {curateFileVerbatim, startsWithCrLfLine, startVerbatimCheck, verbatimCurateAvailable, type VerbatimCheck} from './curate-file.js'
import {countLines} from './encoding.js'
import {feedFile} from './file-feed.js'
import {uploadFile} from './s3-writer.js'
import {freeLandingKey, isPreconditionFailed, landingTaken, sourceKeyOf} from './raw-keys.js'
import {sniffFile} from './sniff.js'
import {readCounted} from './validate-files.js'
import {resolveSources, type ResolveOptions, type Source} from './sources/index.js'

export type TransformMode = 'auto' | 'local' | 'remote'
export type IngestOutput = 'csv' | 'parquet'

/** Raw keys of files whose header names no known dataset (and no --dataset) start with this. */
export const UNRECOGNISED = 'unrecognised'

export interface IngestOptions {
  /** Files, folders, globs, sftp:// URLs. */
  sources: string[]
  dataset?: string
  transform: TransformMode
  output: IngestOutput
  force?: boolean
  dryRun?: boolean
  /** Files processed in parallel. Default 2. */
  concurrency?: number
  /** How long `remote` waits for the transform function, per run. Default 5 min. */
  timeoutMs?: number
  maxErrors?: number
  /** cape's version, recorded on every object. */
  version: string
  resolve: Omit<ResolveOptions, 'signal'>
  /** The phase whose buckets receive the data. Default phase1. */
  phase?: string
  now?: () => Date
}

export type FileStatus = 'ingested' | 'skipped' | 'rejected' | 'failed' | 'timeout' | 'planned'

/** A file's outcome from its validation report (made by the CLI, or stored by the transform function). */
function applyReport(
  result: IngestFileResult,
  report: Pick<IngestReport, 'dataset' | 'variant' | 'rows' | 'columns' | 'errors' | 'errorCount'>,
  reportKey: string,
  curatedKey: string | null,
  status: IngestFileResult['status'],
): void {
  Object.assign(result, {
    dataset: report.dataset ?? result.dataset,
    variant: report.variant ?? result.variant,
    rows: report.rows,
    columns: report.columns,
    reportKey,
    errors: report.errors,
    errorCount: report.errorCount,
    curatedKey,
    status,
  })
}

export interface IngestFileResult {
  source: string
  dataset: string | null
  variant: string | null
  /** raw zone key (null when the file never got that far, or in a dry run that would not upload it… it is still shown). */
  rawKey: string | null
  /** null unless the data is in curated (or, in a dry run, would be). */
  curatedKey: string | null
  reportKey: string | null
  rows: number | null
  /** The curated columns, in order (the dataset's canonical columns; [] when no dataset was recognised). */
  columns: string[]
  bytes: number
  sha256: string | null
  status: FileStatus
  /** How the file was (or would be) curated. */
  transform: 'local' | 'remote' | null
  /** The listed problems (up to max-errors). */
  errors: Issue[]
  errorCount: number
  /** Why a file was skipped or failed, in words. */
  message?: string
  /** The failure, for status failed/timeout. */
  error?: {code: string; message: string; hints: string[]; exit: number}
  /** The report as text (rejected files). */
  reportText?: string
}

export interface IngestResult {
  transform: 'local' | 'remote'
  output: IngestOutput
  dryRun: boolean
  buckets: {raw: string; curated: string}
  files: IngestFileResult[]
  counts: Record<FileStatus, number>
}

export interface IngestContext {
  env: ResolvedEnvironment
  clients: AwsClients
  reporter: Reporter
  signal?: AbortSignal
}

/**
 * Part size of the uploads. Part buffers are most of the upload memory (QUEUE_SIZE per file upload, QUEUE_SIZE + 1
 * for a streamed one); 8 MiB rather than S3's 5 MiB minimum: fewer requests for the store to handle per byte
 * (measured on the local platform: 300 MB ingest 7.1 s → 6.6 s, its CPU 6.9 s → 6.3 s; peak RSS +~10 MB).
 */
const PART_SIZE = 8 * 1024 * 1024
/** Read size of the file (smaller chunks: less in flight between the streams, the uploads and the worker). */
const CHUNK = 1 << 18
/** Parts in flight per upload. */
const QUEUE_SIZE = 2

const today = (d: Date) => d.toISOString().slice(0, 10)

/** The cape.yaml definition of `name` (to hand to the transform function), if cape.yaml defines it. */
function userDefinition(env: ResolvedEnvironment, name: string): unknown {
  const defs = env.datasets as unknown
  if (Array.isArray(defs)) return defs.find((d) => d && typeof d === 'object' && (d as {name?: string}).name === name)
  return defs && typeof defs === 'object' ? (defs as Record<string, unknown>)[name] : undefined
}

/** Live progress: one line for all files in flight, at most every 200 ms. */
class Progress {
  private readonly files = new Map<string, {phase: string; bytes: number; total: number; rows: number}>()
  private last = 0
  private readonly started = Date.now()
  constructor(private readonly reporter: Reporter, private readonly total: number) {}
  private done = 0

  update(source: string, phase: string, delta: {bytes?: number; rows?: number; total?: number; reset?: boolean}): void {
    const f = this.files.get(source) ?? {phase, bytes: 0, total: delta.total ?? 0, rows: 0}
    if (f.phase !== phase || delta.reset) {
      f.phase = phase
      f.bytes = 0
      f.rows = 0
    }
    f.bytes += delta.bytes ?? 0
    f.rows += delta.rows ?? 0
    if (delta.total !== undefined) f.total = delta.total
    this.files.set(source, f)
    const now = Date.now()
    // nothing for quick runs (a CI log gets no progress noise); then at most every 200 ms
    if (now - this.started < 1000 || now - this.last < 200) return
    this.last = now
    const parts = [...this.files].map(([name, s]) => {
      const pct = s.total > 0 ? ` ${Math.min(100, Math.floor((s.bytes / s.total) * 100))}%` : ''
      const rows = s.rows > 0 ? `, ${s.rows.toLocaleString('en')} rows` : ''
      return `${name}: ${s.phase}${pct} (${(s.bytes / 1048576).toFixed(1)} MiB${rows})`
    })
    this.reporter.notify({
      code: 'ingest.progress',
      level: 'progress',
      message: `[${this.done}/${this.total}] ${parts.join(' · ')}`,
      data: {files: Object.fromEntries(this.files)},
    })
  }

  finish(source: string): void {
    this.files.delete(source)
    this.done++
  }
}

function linkedController(signal?: AbortSignal): AbortController {
  const c = new AbortController()
  if (signal?.aborted) c.abort(signal.reason)
  else signal?.addEventListener('abort', () => c.abort(signal.reason), {once: true})
  return c
}

const toError = (e: unknown): CapeError => (isCapeError(e) ? e : mapAwsError(e))

/**
 * `cape ingest`: every source lands in raw as it is, at `<dataset>/ingest_date=YYYY-MM-DD/<name>` with its sha256,
 * source, variant and cape version as metadata; valid data lands in curated at the same key (canonical form, CSV or
 * parquet), invalid data only gets its report at `_reports/<raw key>.json`.
 *
 * Per file: fetch (SFTP: download to a temp file) → pre-pass (sha256 + header → dataset, variant, keys) → skip if
 * this content is already in curated for this dataset (unless force) → abort stale multipart uploads of the keys →
 * upload raw and, for `local`, curate in the same read (raw marked `cape-transform: local` so the function leaves it
 * alone); for `remote`, wait for the function's report → marker for idempotency.
 */
export async function ingest(ctx: IngestContext, options: IngestOptions): Promise<IngestResult> {
  const datasets: Datasets = loadDatasets(ctx.env.datasets, {files: ctx.env.datasetFiles})
  if (options.dataset !== undefined) getDataset(datasets, options.dataset)
  const now = options.now ?? (() => new Date())
  const runStart = now()
  const zones = await resolveZones({env: ctx.env, clients: ctx.clients}, options.phase)
  const buckets = {raw: zones.buckets.raw, curated: zones.buckets.curated}
  const mode: 'local' | 'remote' = options.transform === 'auto' ? (zones.outputs.TransformFunctionName ? 'remote' : 'local') : options.transform
  const set = await resolveSources(options.sources, {...options.resolve, signal: ctx.signal})
  const progress = new Progress(ctx.reporter, set.sources.length)
  const claimed = new Map<string, string>()
  const deadline = Date.now() + (options.timeoutMs ?? 5 * 60_000)
  ctx.reporter.notify({
    code: 'ingest.start',
    level: 'info',
    message: `${options.dryRun ? 'Dry run: ' : ''}${set.sources.length} ${set.sources.length === 1 ? 'file' : 'files'} → ${buckets.raw} (transform ${mode}${mode === 'remote' ? ' by the transform function' : ''}, ${options.output})`,
    data: {files: set.sources.length, transform: mode, output: options.output, buckets},
  })
  const limit = pLimit(options.concurrency ?? 2)
  try {
    const files = await Promise.all(
      set.sources.map((source) =>
        limit(async () => {
          const result = await ingestOne(ctx, source, {options, datasets, buckets, mode, runStart, claimed, deadline, progress, date: today(runStart)})
          progress.finish(source.source)
          notifyDone(ctx.reporter, result)
          return result
        }),
      ),
    )
    const counts: Record<FileStatus, number> = {ingested: 0, skipped: 0, rejected: 0, failed: 0, timeout: 0, planned: 0}
    for (const f of files) counts[f.status]++
    return {transform: mode, output: options.output, dryRun: Boolean(options.dryRun), buckets, files, counts}
  } finally {
    await set.close()
  }
}

function notifyDone(reporter: Reporter, r: IngestFileResult): void {
  const where = r.rawKey ?? r.source
  switch (r.status) {
    case 'ingested':
      reporter.notify({code: 'ingest.file.ingested', level: 'success', message: `${r.source} → ${r.curatedKey} (${r.rows} rows, ${r.dataset}/${r.variant}, transform ${r.transform})`, data: {...r}})
      break
    case 'skipped':
      reporter.notify({code: 'ingest.file.skipped', level: 'info', message: `${r.source}: ${r.message}`, data: {...r}})
      break
    case 'rejected':
      reporter.notify({code: 'ingest.file.rejected', level: 'error', message: `${r.source} rejected: ${r.errorCount} ${r.errorCount === 1 ? 'problem' : 'problems'} (report: raw/${r.reportKey})`, data: {...r}})
      break
    case 'planned':
      reporter.notify({code: 'ingest.file.planned', level: 'info', message: `${r.source}: would ${r.curatedKey ? `ingest to ${where}` : `be rejected (${r.errorCount} problems)`}`, data: {...r}})
      break
    default:
      reporter.notify({code: `ingest.file.${r.status}`, level: 'error', message: `${r.source}: ${r.error?.message ?? r.message}`, data: {...r}})
  }
}

interface RunState {
  options: IngestOptions
  datasets: Datasets
  buckets: {raw: string; curated: string}
  mode: 'local' | 'remote'
  runStart: Date
  date: string
  claimed: Map<string, string>
  deadline: number
  progress: Progress
}

async function ingestOne(ctx: IngestContext, source: Source, run: RunState): Promise<IngestFileResult> {
  const {options, buckets, progress} = run
  const result: IngestFileResult = {
    source: source.source,
    dataset: null,
    variant: null,
    rawKey: null,
    curatedKey: null,
    reportKey: null,
    rows: null,
    columns: [],
    bytes: source.size,
    sha256: null,
    status: 'failed',
    transform: null,
    errors: [],
    errorCount: 0,
  }
  const s3 = ctx.clients.s3
  let check: VerbatimCheck | undefined
  try {
    if (source.kind === 'sftp') progress.update(source.source, 'download', {total: source.size})
    const file = await source.fetch({signal: ctx.signal, onBytes: (n) => progress.update(source.source, 'download', {bytes: n})})
    progress.update(source.source, 'hash', {total: source.size, reset: true})
    // local CSV: the validating worker of the verbatim path starts now, reading the file while this thread hashes it
    check =
      run.mode === 'local' && options.output === 'csv' && !options.dryRun && verbatimCurateAvailable() && !(await startsWithCrLfLine(file))
        ? startVerbatimCheck(file, {datasets: run.datasets, dataset: options.dataset, maxErrors: options.maxErrors})
        : undefined
    const sniff = await sniffFile(file, {datasets: run.datasets, dataset: options.dataset, signal: ctx.signal, onBytes: (n) => progress.update(source.source, 'hash', {bytes: n})})
    const dataset = options.dataset ?? sniff.dataset ?? UNRECOGNISED
    const sourceKey = `${dataset}/ingest_date=${run.date}/${source.name}`
    Object.assign(result, {dataset: sniff.dataset ?? options.dataset ?? null, variant: sniff.variant, rawKey: sourceKey, bytes: sniff.bytes, sha256: sniff.sha256, transform: run.mode})
    const other = run.claimed.get(sourceKey)
    if (other !== undefined) {
      result.message = `${source.source} and ${other} would both land at ${sourceKey}`
      result.error = {code: 'KEY_COLLISION', message: result.message, hints: ['Rename one of the files, or ingest them in separate runs.'], exit: ExitCode.usage}
      return result
    }
    run.claimed.set(sourceKey, source.source)

    if (!options.force && dataset !== UNRECOGNISED) {
      const earlier = await findIngested(s3, buckets, dataset, sniff.sha256, ctx.signal)
      if (earlier) {
        Object.assign(result, {status: 'skipped', rawKey: earlier.rawKey, curatedKey: earlier.curatedKey, transform: null})
        result.message = `already ingested (same content as ${earlier.source}, at ${earlier.rawKey} on ${earlier.ingestedAt.slice(0, 10)}); --force to ingest again`
        return result
      }
    }
    // raw is write-once: a name that already landed today lands again beside it (raw-keys.ts)
    const rawKey = await freeLandingKey(s3, buckets.raw, sourceKey, ctx.signal)
    const curatedKey = curatedKeyFor(rawKey, options.output)
    const reportKey = reportKeyFor(rawKey)
    result.rawKey = rawKey

    if (options.dryRun) {
      progress.update(source.source, 'validate', {total: sniff.bytes, reset: true})
      let seen = {bytes: 0, lines: 0}
      const report = await validateStream(
        readCounted(file, (bytes, lines) => {
          progress.update(source.source, 'validate', {bytes: bytes - seen.bytes, rows: lines - seen.lines})
          seen = {bytes, lines}
        }, ctx.signal),
        {datasets: run.datasets, dataset: options.dataset, maxErrors: options.maxErrors},
      )
      Object.assign(result, {status: 'planned', rows: report.rows, columns: report.columns, curatedKey: report.valid ? curatedKey : null, reportKey, errors: report.errors, errorCount: report.errorCount})
      if (!report.valid) result.reportText = renderReport(report, {file: source.source})
      return result
    }

    await Promise.all([
      abortStaleUploads(s3, buckets.raw, rawKey, run.runStart, ctx.signal),
      abortStaleUploads(s3, buckets.curated, curatedKey, run.runStart, ctx.signal),
    ])

    const ingestId = ulid()
    const rawMetadata: Record<string, string> = {
      [META.sha256]: sniff.sha256,
      [META.source]: source.source,
      [META.dataset]: dataset,
      [META.variant]: sniff.variant ?? '',
      [META.version]: options.version,
      [META.output]: options.output,
      [META.ingestId]: ingestId,
      ...(run.mode === 'local' ? {[META.transform]: 'local'} : {}),
      ...(options.maxErrors === undefined ? {} : {[META.maxErrors]: String(options.maxErrors)}),
    }
    const ac = linkedController(ctx.signal)
    const phase = run.mode === 'local' ? 'upload+curate' : 'upload'
    progress.update(source.source, phase, {total: sniff.bytes, reset: true})
    // raw: the file as it is, read straight into the upload's part buffers (a file that changed since it was hashed
    // fails instead of landing under a sha256 that does not describe it)
    const uploadRaw = (onBytes?: (bytes: Buffer) => void) =>
      uploadFile({s3, bucket: buckets.raw, key: rawKey, contentType: 'text/csv', metadata: rawMetadata, queueSize: QUEUE_SIZE, partSize: PART_SIZE, signal: ac.signal, file, expectedBytes: sniff.bytes, onBytes, createOnly: true})
        .catch((error: unknown) => {
          throw isPreconditionFailed(error) ? landingTaken(buckets.raw, rawKey, error) : error
        })

    if (run.mode === 'local') {
      const datasets = run.datasets
      // progress: bytes curated (the curating read of the file) and the rows the pipeline has read
      let rowsShown = 0
      const onRows = (rows: number) => {
        progress.update(source.source, phase, {rows: rows - rowsShown})
        rowsShown = rows
      }
      const uploading = uploadRaw()
      const target = {s3, curatedBucket: buckets.curated, curatedKey, reportBucket: buckets.raw, reportKey, metadata: curatedMetadata(rawKey, rawMetadata, options.output)}
      const curateDataset = dataset === UNRECOGNISED ? undefined : dataset
      const curating = (async () => {
        if (check !== undefined) {
          // the common case: the curated CSV is the file's body under the canonical header (see curate-file.ts)
          let seen = 0
          const outcome = await curateFileVerbatim(file, check, target, {
            datasets,
            dataset: curateDataset,
            maxErrors: options.maxErrors,
            signal: ac.signal,
            expectedBytes: sniff.bytes,
            queueSize: QUEUE_SIZE,
            partSize: PART_SIZE,
            // curated's body is raw's bytes: copied from raw in S3 once it landed, so each byte is sent once
            copyFrom: {bucket: buckets.raw, key: rawKey, ready: uploading},
            onProgress: (bytes, rows) => {
              progress.update(source.source, phase, {bytes: bytes - seen})
              seen = bytes
              onRows(rows)
            },
          })
          if (outcome) return outcome
          progress.update(source.source, phase, {reset: true})
          rowsShown = 0
        }
        return curateStream(
          (input) => feedFile(file, input, {chunkSize: CHUNK, signal: ac.signal, onBytes: (n) => progress.update(source.source, phase, {bytes: n})}),
          target,
          {
            datasets,
            dataset: curateDataset,
            output: options.output,
            maxErrors: options.maxErrors,
            signal: ac.signal,
            onRows,
            queueSize: QUEUE_SIZE,
            partSize: PART_SIZE,
            // parquet in a worker whose heap is capped (row groups of typed values); CSV in this thread: its byte lane
            // costs less than handing every chunk to a worker and back (measured: faster, ~40 MB less peak RSS)
            ...(options.output === 'parquet' && workerPipelineAvailable() ? {pipeline: createWorkerPipeline} : {}),
          },
        )
      })()
      const settled = await Promise.allSettled([uploading, curating].map((p) => p.catch((e) => {
        ac.abort(e)
        throw e
      })))
      const failed = settled.find((s) => s.status === 'rejected') as PromiseRejectedResult | undefined
      if (failed) {
        // raw did not land (or curating failed): do not leave a curated object without its raw one
        const curated = settled[1].status === 'fulfilled' ? (settled[1].value as Awaited<typeof curating>).curated : undefined
        if (curated) await deleteQuietly(s3, buckets.curated, curatedKey)
        throw failed.reason
      }
      const outcome = (settled[1] as PromiseFulfilledResult<Awaited<typeof curating>>).value
      const report = outcome.report
      applyReport(result, report, reportKey, outcome.curated ? curatedKey : null, outcome.curated ? 'ingested' : 'rejected')
      if (!outcome.curated) result.reportText = renderReport(report, {file: source.source})
    } else {
      const definition = run.datasets.get(dataset)?.source !== 'built-in' ? userDefinition(ctx.env, dataset) : undefined
      // a definition published by its owners (cape datasets publish) is the one the function uses: never overwritten here
      const published = definition === undefined ? undefined : (await headOrUndefined(s3, buckets.raw, datasetDefinitionKey(dataset), ctx.signal))?.Metadata?.[PUBLISHED_BY]
      if (definition !== undefined && published === undefined) {
        await s3.send(new PutObjectCommand({Bucket: buckets.raw, Key: datasetDefinitionKey(dataset), Body: JSON.stringify(definition), ContentType: 'application/json'}), {abortSignal: ctx.signal})
      }
      // progress: bytes uploaded, and their line feeds as an estimate of the rows
      await uploadRaw((bytes) => progress.update(source.source, phase, {bytes: bytes.length, rows: countLines(bytes)}))
      progress.update(source.source, 'waiting for the transform function', {reset: true})
      const stored = await waitForReport(s3, {bucket: buckets.raw, key: reportKey, ingestId, deadline: run.deadline, signal: ctx.signal})
      applyReport(result, stored, reportKey, stored.valid && stored.curatedKey ? stored.curatedKey : null, stored.failure ? 'failed' : stored.valid ? 'ingested' : 'rejected')
      if (stored.failure) result.error = {code: 'TRANSFORM_FAILED', message: stored.failure, hints: ['Look at the function\'s logs: CloudWatch on AWS; $CAPE_HOME/lambda/logs/ on the local platform.'], exit: ExitCode.remoteFailed}
      else if (!stored.valid) result.reportText = stored.text
    }
    if (result.status === 'ingested') {
      // one curated object per source name: drop the other format's object of an earlier ingest of this name
      const sibling = curatedKeyFor(rawKey, options.output === 'csv' ? 'parquet' : 'csv')
      if (sibling !== curatedKey) {
        const head = await headOrUndefined(s3, buckets.curated, sibling, ctx.signal)
        const from = head?.Metadata?.[META.rawKey]
        if (from !== undefined && sourceKeyOf(from) === sourceKey) await deleteQuietly(s3, buckets.curated, sibling)
      }
    }
    if (result.status === 'ingested' && dataset !== UNRECOGNISED) {
      await writeMarker(s3, buckets.raw, {dataset, sha256: sniff.sha256, source: source.source, rawKey, curatedKey, ingestId, ingestedAt: new Date().toISOString()})
    }
    return result
  } catch (error) {
    if (ctx.signal?.aborted) throw isCapeError(ctx.signal.reason) ? ctx.signal.reason : error
    const e = toError(error)
    if (e.exit === ExitCode.interrupted) throw e
    result.status = e.exit === ExitCode.stillRunning ? 'timeout' : 'failed'
    result.error = {code: e.code, message: e.message, hints: e.hints, exit: e.exit}
    result.message = e.message
    return result
  } finally {
    check?.stop() // no-op when it finished; else (skipped, failed…) the worker goes
    await source.release().catch(() => undefined)
  }
}

/**
 * The exit code of a run: 0 when every file was ingested or skipped; 6 when the others were only rejected (or, in a
 * dry run, would be); 8 when they only timed out waiting for the function; a lone failed file's own code; else 9.
 */
export function ingestExitCode(result: IngestResult): number {
  const bad = result.files.filter((f) => f.status !== 'ingested' && f.status !== 'skipped' && !(f.status === 'planned' && f.errorCount === 0))
  if (bad.length === 0) return ExitCode.ok
  if (bad.every((f) => f.status === 'rejected' || f.status === 'planned')) return ExitCode.inputRejected
  if (bad.every((f) => f.status === 'timeout')) return ExitCode.stillRunning
  if (result.files.length === 1 && bad[0].error) return bad[0].error.exit
  return ExitCode.partial
}
