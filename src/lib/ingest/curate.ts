import {createHash} from 'node:crypto'
import {PassThrough, Transform, type Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {PutObjectCommand, type S3Client} from '@aws-sdk/client-s3'
import {Upload} from '@aws-sdk/lib-storage'
import type {Datasets} from './datasets.js'
import {createIngestPipeline, type OutputFormat} from './pipeline.js'
import {renderReport, type IngestReport} from './report.js'

/** Object metadata keys cape writes (S3 stores them as x-amz-meta-<key>). */
export const META = {
  sha256: 'cape-sha256',
  source: 'cape-source',
  dataset: 'cape-dataset',
  variant: 'cape-variant',
  version: 'cape-version',
  /** `local`: the CLI curates this object itself; the transform function leaves it alone. */
  transform: 'cape-transform',
  output: 'cape-output',
  rawKey: 'cape-raw-key',
  rows: 'cape-rows',
} as const

export const REPORTS_PREFIX = '_reports/'

/** Keys whose first segment starts with `_` (reports, probes, dataset definitions) are never curated. */
export const isInternalKey = (key: string) => key.startsWith('_')

export function curatedKeyFor(rawKey: string, output: Exclude<OutputFormat, 'none'>): string {
  if (output === 'csv') return rawKey
  return rawKey.replace(/\.[^/.]*$/, '') + '.parquet'
}

export const reportKeyFor = (rawKey: string) => `${REPORTS_PREFIX}${rawKey}.json`

export interface CurateTarget {
  s3: S3Client
  curatedBucket: string
  curatedKey: string
  /** Where the validation report goes when the data is rejected (the raw bucket). */
  reportBucket: string
  reportKey: string
  metadata: Record<string, string>
}

export interface CurateOutcome {
  report: IngestReport
  /** Set when the data was valid and the curated object written. */
  curated?: {bucket: string; key: string; bytes: number; sha256: string}
  /** Set when the data was rejected and the report stored. */
  reportStored?: {bucket: string; key: string}
}

/**
 * Validate + transform a stream of raw bytes and write the curated object — or, when anything is invalid, nothing
 * in curated and the report next to the raw object. Streaming with bounded memory: the curated bytes go to S3 as
 * they are produced (multipart above 5 MiB), and the upload is held back from completing until the whole input has
 * been checked; an invalid file aborts it, so a rejected file never appears in curated, even partly.
 */
export async function curateStream(
  source: Readable,
  target: CurateTarget,
  options: {datasets: Datasets; dataset?: string; output: Exclude<OutputFormat, 'none'>; maxErrors?: number; signal?: AbortSignal},
): Promise<CurateOutcome> {
  const p = createIngestPipeline({datasets: options.datasets, dataset: options.dataset, output: options.output, maxErrors: options.maxErrors})
  const hash = createHash('sha256')
  let bytes = 0
  // Hold the end of the curated stream until the report says valid; fail it otherwise (the upload then aborts).
  const gate = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk)
      bytes += chunk.length
      cb(null, chunk)
    },
    flush(cb) {
      p.result.then(
        (report) => cb(report.valid ? null : new RejectedError(report)),
        (e) => cb(e as Error),
      )
    },
  })
  const body = new PassThrough()
  const upload = new Upload({
    client: target.s3,
    params: {
      Bucket: target.curatedBucket,
      Key: target.curatedKey,
      Body: body,
      ContentType: options.output === 'csv' ? 'text/csv; charset=utf-8' : 'application/vnd.apache.parquet',
      Metadata: target.metadata,
    },
    queueSize: 4,
    partSize: 8 * 1024 * 1024,
    leavePartsOnError: false,
  })
  const uploading = upload.done()
  const feeding = pipeline(source, p.input)
  const producing = pipeline(p.output, gate, body)
  const settled = await Promise.allSettled([feeding, producing, uploading])
  const report = await p.result
  if (report.valid) {
    const failed = settled.find((s) => s.status === 'rejected') as PromiseRejectedResult | undefined
    if (failed) throw failed.reason
    return {report, curated: {bucket: target.curatedBucket, key: target.curatedKey, bytes, sha256: hash.digest('hex')}}
  }
  // Rejected: make sure the upload is gone, then store the report.
  await upload.abort().catch(() => undefined)
  await target.s3.send(
    new PutObjectCommand({
      Bucket: target.reportBucket,
      Key: target.reportKey,
      Body: JSON.stringify({...report, text: renderReport(report, {file: target.metadata[META.source] ?? target.curatedKey})}, null, 2),
      ContentType: 'application/json',
      Metadata: {[META.rawKey]: target.metadata[META.rawKey] ?? ''},
    }),
  )
  return {report, reportStored: {bucket: target.reportBucket, key: target.reportKey}}
}

export class RejectedError extends Error {
  constructor(readonly report: IngestReport) {
    super('input rejected')
    this.name = 'RejectedError'
  }
}
