import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import {CapeError} from '../cli/errors.js'
import {ExitCode} from '../cli/exit-codes.js'
import {META, type StoredReport} from './curate.js'

/**
 * What `cape ingest` keeps in S3 besides the data: markers for idempotency, stale multipart clean-up, and the wait
 * for the transform function's report.
 */

export const INGESTED_PREFIX = '_ingested/'

/** Raw-bucket marker of a content (sha256) ingested for a dataset. */
export const markerKey = (dataset: string, sha256: string) => `${INGESTED_PREFIX}${dataset}/${sha256}.json`

export interface IngestMarker {
  dataset: string
  sha256: string
  source: string
  rawKey: string
  curatedKey: string
  ingestId: string
  ingestedAt: string
}

const isMissing = (e: unknown) => {
  const err = e as {name?: string; $metadata?: {httpStatusCode?: number}}
  return err?.name === 'NoSuchKey' || err?.name === 'NotFound' || err?.$metadata?.httpStatusCode === 404
}

export async function headOrUndefined(s3: S3Client, bucket: string, key: string, signal?: AbortSignal) {
  try {
    return await s3.send(new HeadObjectCommand({Bucket: bucket, Key: key}), {abortSignal: signal})
  } catch (error) {
    if (isMissing(error)) return undefined
    throw error
  }
}

/**
 * The earlier ingest of the same content for the same dataset, if its curated object is still there (and still
 * holds that content): then this one is skipped. A marker whose curated object is gone or was overwritten by
 * other content does not count.
 */
export async function findIngested(s3: S3Client, buckets: {raw: string; curated: string}, dataset: string, sha256: string, signal?: AbortSignal): Promise<IngestMarker | undefined> {
  let marker: IngestMarker
  try {
    const object = await s3.send(new GetObjectCommand({Bucket: buckets.raw, Key: markerKey(dataset, sha256)}), {abortSignal: signal})
    marker = JSON.parse(await object.Body!.transformToString()) as IngestMarker
  } catch (error) {
    if (isMissing(error) || error instanceof SyntaxError) return undefined
    throw error
  }
  const curated = await headOrUndefined(s3, buckets.curated, marker.curatedKey, signal)
  return curated?.Metadata?.[META.rawSha256] === sha256 ? marker : undefined
}

export async function writeMarker(s3: S3Client, rawBucket: string, marker: IngestMarker): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: rawBucket,
      Key: markerKey(marker.dataset, marker.sha256),
      Body: JSON.stringify(marker, null, 2),
      ContentType: 'application/json',
    }),
  )
}

/**
 * Abort multipart uploads of `key` started before `before` — left behind by an ingest that was killed (kill -9,
 * a lost machine) before it could complete or abort them. S3 keeps (and bills) such parts until aborted.
 * Returns how many were aborted. Missing permission to list is not an error here (nothing is cleaned).
 */
export async function abortStaleUploads(s3: S3Client, bucket: string, key: string, before: Date, signal?: AbortSignal): Promise<number> {
  let aborted = 0
  let keyMarker: string | undefined
  let idMarker: string | undefined
  for (;;) {
    let page
    try {
      page = await s3.send(new ListMultipartUploadsCommand({Bucket: bucket, Prefix: key, KeyMarker: keyMarker, UploadIdMarker: idMarker}), {abortSignal: signal})
    } catch (error) {
      if ((error as {name?: string}).name === 'AccessDenied') return aborted
      throw error
    }
    for (const u of page.Uploads ?? []) {
      if (u.Key !== key || !u.UploadId || !u.Initiated || u.Initiated.getTime() >= before.getTime()) continue
      try {
        await s3.send(new AbortMultipartUploadCommand({Bucket: bucket, Key: key, UploadId: u.UploadId}), {abortSignal: signal})
        aborted++
      } catch (error) {
        if ((error as {name?: string}).name !== 'NoSuchUpload') throw error
      }
    }
    if (!page.IsTruncated) return aborted
    keyMarker = page.NextKeyMarker
    idMarker = page.NextUploadIdMarker
  }
}

export async function deleteQuietly(s3: S3Client, bucket: string, key: string): Promise<void> {
  await s3.send(new DeleteObjectCommand({Bucket: bucket, Key: key})).catch(() => undefined)
}

/**
 * Wait for the transform function's report of this ingest (`_reports/<raw key>.json` carrying our ingest id), polling
 * with a growing interval up to the deadline. Throws STILL_RUNNING (exit 8) at the deadline.
 */
export async function waitForReport(
  s3: S3Client,
  options: {bucket: string; key: string; ingestId: string; deadline: number; signal?: AbortSignal; onWait?: (elapsedMs: number) => void},
): Promise<StoredReport> {
  const started = Date.now()
  let interval = 150
  for (;;) {
    options.signal?.throwIfAborted()
    const head = await headOrUndefined(s3, options.bucket, options.key, options.signal)
    if (head?.Metadata?.[META.ingestId] === options.ingestId) {
      const object = await s3.send(new GetObjectCommand({Bucket: options.bucket, Key: options.key}), {abortSignal: options.signal})
      const report = JSON.parse(await object.Body!.transformToString()) as StoredReport
      if (report.ingestId === options.ingestId) return report
    }
    const now = Date.now()
    if (now >= options.deadline) {
      throw new CapeError('TRANSFORM_TIMEOUT', `The transform function has not reported on ${options.key.replace(/^_reports\//, '').replace(/\.json$/, '')} after ${Math.round((now - started) / 1000)} s.`, {
        exit: ExitCode.stillRunning,
        hints: [
          'It may still be running: re-run the same ingest later (it is skipped once the curated object exists), or wait longer with --timeout.',
          'Look at the function\'s logs: CloudWatch on AWS; .cape/lambda/logs/ (or $CAPE_HOME/lambda/logs/) on the local platform.',
        ],
      })
    }
    options.onWait?.(now - started)
    await new Promise((resolve) => setTimeout(resolve, Math.min(interval, options.deadline - now)))
    interval = Math.min(1000, Math.round(interval * 1.5))
  }
}
