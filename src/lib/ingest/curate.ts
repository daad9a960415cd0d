import {Transform, type Readable, type Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {PutObjectCommand, type S3Client} from '@aws-sdk/client-s3'
import type {Datasets} from './datasets.js'
import {createIngestPipeline, type IngestOptions, type IngestPipeline, type OutputFormat} from './pipeline.js'
import {renderReport, type IngestReport} from './report.js'
import {createS3Writer} from './s3-writer.js'
import {sourceKeyOf} from './raw-keys.js'

/** Object metadata keys cape writes (S3 stores them as x-amz-meta-<key>). */
export const META = {
  /** The object's own SHA-256 (raw objects; `cape pull` verifies downloads against it). */
  sha256: 'cape-sha256',
  /** On a curated object: the SHA-256 of the raw object it was made from (provenance and idempotency). */
  rawSha256: 'cape-raw-sha256',
  source: 'cape-source',
  dataset: 'cape-dataset',
  variant: 'cape-variant',
  version: 'cape-version',
  /** `local`: the CLI curates this object itself; the transform function leaves it alone. */
  transform: 'cape-transform',
  output: 'cape-output',
  rawKey: 'cape-raw-key',
  rows: 'cape-rows',
  /** One id per `cape ingest` of one file: copied to the curated object and the report, so a waiting CLI knows the outcome is this run's. */
  ingestId: 'cape-ingest-id',
  /** On a raw object: `--max-errors` of the `cape ingest` that uploaded it, for the transform function's report. */
  maxErrors: 'cape-max-errors',
} as const

export const REPORTS_PREFIX = '_reports/'

/** Keys whose first segment starts with `_` (reports, probes, dataset definitions) are never curated. */
export const isInternalKey = (key: string) => key.startsWith('_')

/** Where a raw object is curated: at its source name (`data~2.csv`, a second landing of `data.csv`, curates to `data.csv`). */
export function curatedKeyFor(landedKey: string, output: Exclude<OutputFormat, 'none'>): string {
  const rawKey = sourceKeyOf(landedKey)
  if (output === 'csv') return rawKey
  // parquet has a folder of its own per dataset (`<dataset>/parquet/ingest_date=…/`): a query engine reads every
  // file of a partition folder, so CSV and parquet must not share one
  const file = rawKey.replace(/\.[^/.]*$/, '') + '.parquet'
  const slash = file.indexOf('/')
  return slash < 0 ? `parquet/${file}` : `${file.slice(0, slash)}/parquet/${file.slice(slash + 1)}`
}

export const reportKeyFor = (rawKey: string) => `${REPORTS_PREFIX}${rawKey}.json`

/** Where `cape ingest` hands a cape.yaml dataset definition to the transform function (raw bucket). */
export const datasetDefinitionKey = (dataset: string) => `_datasets/${dataset}.json`

/** Metadata of a definition `cape datasets publish` wrote (its publisher's ARN): `cape ingest` never overwrites it. */
export const PUBLISHED_BY = 'cape-published-by'

/**
 * The curated object's metadata, from the raw object's key and metadata. One function for the CLI (`--transform
 * local`) and the transform function, so both write the same object.
 */
export function curatedMetadata(rawKey: string, raw: Record<string, string | undefined>, output: Exclude<OutputFormat, 'none'>): Record<string, string> {
  const out: Record<string, string> = {[META.rawKey]: rawKey, [META.output]: output}
  // The curated bytes differ from the raw ones: the raw hash is provenance here, never this object's checksum.
  if (raw[META.sha256]) out[META.rawSha256] = raw[META.sha256]!
  for (const k of [META.source, META.dataset, META.variant, META.version, META.ingestId]) {
    const v = raw[k]
    if (v !== undefined && v !== '') out[k] = v
  }
  return out
}

export interface CurateTarget {
  s3: S3Client
  curatedBucket: string
  curatedKey: string
  /** Where the validation report goes (the raw bucket). */
  reportBucket: string
  reportKey: string
  /** The curated object's metadata (see curatedMetadata); rawKey, ingestId and sha256 are copied to the report. */
  metadata: Record<string, string>
}

/** What `_reports/<raw key>.json` holds: the ingest report plus where it came from and what it produced. */
export interface StoredReport extends IngestReport {
  rawKey: string
  /** The curated object, or null when the data was rejected (or processing failed). */
  curatedKey: string | null
  ingestId: string | null
  sha256: string | null
  /** The human text of the report. */
  text: string
  /** Set when processing failed for another reason than the content (the function crashed, S3 refused…). */
  failure?: string
}

export interface CurateOutcome {
  report: IngestReport
  /** Set when the data was valid and the curated object written. */
  curated?: {bucket: string; key: string; bytes: number}
  /** Where the report was stored (always: valid or not). */
  reportStored: {bucket: string; key: string}
}

export interface CurateOptions {
  datasets: Datasets
  dataset?: string
  output: Exclude<OutputFormat, 'none'>
  maxErrors?: number
  signal?: AbortSignal
  /** Parts uploaded in parallel (memory ≈ (queueSize + 1) × partSize). Default 2. */
  queueSize?: number
  /** Default 8 MiB. */
  partSize?: number
  /** Called as curated bytes are produced, with the data rows read so far (progress). */
  onRows?: (rows: number) => void
  /** Where validation runs: createIngestPipeline (default, in this thread) or createWorkerPipeline. */
  pipeline?: (options: IngestOptions) => IngestPipeline
}

/**
 * Validate + transform a stream of raw bytes and write the curated object — or, when anything is invalid, nothing
 * in curated. Streaming with bounded memory: the curated bytes go to S3 as they are produced (multipart above the
 * part size), and the upload is held back from completing until the whole input has been checked; an invalid file
 * aborts it, so a rejected file never appears in curated, even partly.
 *
 * Either way the report is then stored next to the raw object (`_reports/<raw key>.json`, valid or not): it is the
 * record of the outcome (rows, problems) that `cape ingest` waits for and shows.
 */
export async function curateStream(
  source: Readable | ((input: Writable) => Promise<unknown>),
  target: CurateTarget,
  options: CurateOptions,
): Promise<CurateOutcome> {
  const p = (options.pipeline ?? createIngestPipeline)({datasets: options.datasets, dataset: options.dataset, output: options.output, maxErrors: options.maxErrors})
  let bytes = 0
  // Hold the end of the curated stream until the report says valid; fail it otherwise (the upload then aborts).
  const gate = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length
      options.onRows?.(p.rows())
      cb(null, chunk)
    },
    flush(cb) {
      p.result.then(
        (report) => cb(report.valid ? null : new RejectedError(report)),
        (e) => cb(e as Error),
      )
    },
  })
  const writer = createS3Writer({
    s3: target.s3,
    bucket: target.curatedBucket,
    key: target.curatedKey,
    contentType: options.output === 'csv' ? 'text/csv; charset=utf-8' : 'application/vnd.apache.parquet',
    metadata: target.metadata,
    queueSize: options.queueSize ?? 2,
    partSize: options.partSize ?? 8 * 1024 * 1024,
    signal: options.signal,
    // the gate passes chunks through as they are: once copied into a part, their memory goes back to the pipeline
    ...(p.recycle ? {onCopied: (chunk: Buffer) => p.recycle!(chunk)} : {}),
  })
  const uploading = writer.done
  // a stream is piped in; a function writes the input itself (feedFile: the file through one reused buffer)
  const feeding = typeof source === 'function' ? source(p.input) : pipeline(source, p.input, options.signal ? {signal: options.signal} : {})
  const producing = pipeline(p.output, gate, writer.stream)
  const settled = await Promise.allSettled([feeding, producing, uploading])
  const failed = settled.find((s) => s.status === 'rejected' && !(s.reason instanceof RejectedError)) as PromiseRejectedResult | undefined
  const report = await p.result.catch((e) => {
    throw failed?.reason ?? e
  })
  if (report.valid) {
    if (failed) throw failed.reason
    const curated = {bucket: target.curatedBucket, key: target.curatedKey, bytes}
    const reportStored = await storeReport(target, report, curated.key)
    return {report, curated, reportStored}
  }
  // Rejected: the gate failed the curated stream, so its upload was aborted (awaited above); store the report.
  const reportStored = await storeReport(target, report, null)
  return {report, reportStored}
}

/** Store the report of a processed raw object (`_reports/<raw key>.json`). */
export async function storeReport(
  target: Pick<CurateTarget, 's3' | 'reportBucket' | 'reportKey' | 'metadata'>,
  report: IngestReport,
  curatedKey: string | null,
  failure?: string,
): Promise<{bucket: string; key: string}> {
  const rawKey = target.metadata[META.rawKey] ?? ''
  const stored: StoredReport = {
    ...report,
    rawKey,
    curatedKey,
    ingestId: target.metadata[META.ingestId] ?? null,
    sha256: target.metadata[META.rawSha256] ?? null,
    text: failure ?? renderReport(report, {file: target.metadata[META.source] ?? rawKey}),
    ...(failure === undefined ? {} : {failure}),
  }
  await target.s3.send(
    new PutObjectCommand({
      Bucket: target.reportBucket,
      Key: target.reportKey,
      Body: JSON.stringify(stored, null, 2),
      ContentType: 'application/json',
      Metadata: {
        [META.rawKey]: rawKey,
        ...(target.metadata[META.ingestId] ? {[META.ingestId]: target.metadata[META.ingestId]} : {}),
        'cape-valid': String(report.valid && failure === undefined),
      },
    }),
  )
  return {bucket: target.reportBucket, key: target.reportKey}
}

/** An empty report, for a failure before or outside validation. */
export function failureReport(): IngestReport {
  return {
    dataset: null,
    variant: null,
    transforms: [],
    columns: [],
    rows: 0,
    valid: false,
    complete: false,
    errors: [],
    errorCount: 0,
    summary: {rows: 0, validRows: 0, invalidRows: 0, errorsByRule: {}},
  }
}

export class RejectedError extends Error {
  constructor(readonly report: IngestReport) {
    super('input rejected')
    this.name = 'RejectedError'
  }
}
