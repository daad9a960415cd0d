/**
 * The transform function: fired by raw ObjectCreated events. Validates the upload against its dataset format,
 * transforms it to the canonical form and writes curated — or, when invalid, nothing in curated. Either way the
 * report goes next to the raw object (`_reports/<key>.json`): that is what `cape ingest --transform remote` waits
 * for. The same bundle runs on AWS and on cape's local platform.
 */
import {GetObjectCommand, HeadObjectCommand, S3Client} from '@aws-sdk/client-s3'
import type {Readable} from 'node:stream'
import {s3Config} from '../../lib/aws/clients.js'
import {META, curateStream, curatedKeyFor, curatedMetadata, datasetDefinitionKey, failureReport, isInternalKey, reportKeyFor, storeReport} from '../../lib/ingest/curate.js'
import {loadDatasets, type Datasets} from '../../lib/ingest/datasets.js'
import {lambdaTarget, s3Records, type S3Event} from '../shared.js'

export interface TransformResult {
  key: string
  outcome: 'curated' | 'rejected' | 'skipped' | 'failed'
  reason?: string
  curatedKey?: string
  rows?: number
}

/** Built-in datasets, plus the cape.yaml definition `cape ingest` left at `_datasets/<name>.json`, if any. */
async function datasetsFor(s3: S3Client, bucket: string, dataset: string | undefined): Promise<Datasets> {
  if (!dataset) return loadDatasets()
  try {
    const object = await s3.send(new GetObjectCommand({Bucket: bucket, Key: datasetDefinitionKey(dataset)}))
    const definition = JSON.parse(await object.Body!.transformToString())
    return loadDatasets({[dataset]: definition})
  } catch (error) {
    const name = (error as {name?: string}).name
    if (name === 'NoSuchKey' || name === 'NotFound' || name === 'AccessDenied') return loadDatasets()
    throw error
  }
}

export async function handler(event: S3Event): Promise<TransformResult[]> {
  // The S3 client is imported statically (not through createClients' on-demand loading) so the bundle holds it.
  const s3 = new S3Client(s3Config(lambdaTarget(process.env)))
  const curatedBucket = process.env.CURATED_BUCKET
  if (!curatedBucket) throw new Error('CURATED_BUCKET is not set')
  const results: TransformResult[] = []
  try {
    for (const {bucket, key} of s3Records(event)) {
      if (isInternalKey(key)) {
        results.push({key, outcome: 'skipped', reason: 'internal key'})
        continue
      }
      const head = await s3.send(new HeadObjectCommand({Bucket: bucket, Key: key}))
      const meta = head.Metadata ?? {}
      if (meta[META.transform] === 'local') {
        console.log(JSON.stringify({key, skipped: 'curated by the CLI (transform local)'}))
        results.push({key, outcome: 'skipped', reason: 'curated by the CLI (transform local)'})
        continue
      }
      const output = meta[META.output] === 'parquet' ? 'parquet' : 'csv'
      const metadata = curatedMetadata(key, {[META.source]: `s3://${bucket}/${key}`, ...meta}, output)
      const target = {
        s3,
        curatedBucket,
        curatedKey: curatedKeyFor(key, output),
        reportBucket: bucket,
        reportKey: reportKeyFor(key),
        metadata,
      }
      try {
        const named = meta[META.dataset] || key.split('/')[0]
        const datasets = await datasetsFor(s3, bucket, named)
        // The version the CLI uploaded, not a newer one written since (versioned buckets).
        const object = await s3.send(new GetObjectCommand({Bucket: bucket, Key: key, ...(head.VersionId ? {VersionId: head.VersionId} : {})}))
        const maxErrors = Number(meta[META.maxErrors])
        const outcome = await curateStream(object.Body as Readable, target, {
          datasets,
          dataset: datasets.has(named) ? named : undefined,
          output,
          // the CLI's --max-errors, when the upload says (a raw object written by other means: the default)
          ...(Number.isInteger(maxErrors) && maxErrors >= 0 ? {maxErrors} : {}),
        })
        const r = outcome.report
        console.log(JSON.stringify({key, valid: r.valid, dataset: r.dataset, variant: r.variant, rows: r.rows, errors: r.errorCount}))
        results.push(
          outcome.curated
            ? {key, outcome: 'curated', curatedKey: outcome.curated.key, rows: r.rows}
            : {key, outcome: 'rejected', reason: `${r.errorCount} problems`, rows: r.rows},
        )
      } catch (error) {
        // Not the content's fault (S3 refused, the definition is broken…): record it so a waiting CLI learns at once.
        const message = `the transform function failed on ${key}: ${(error as Error).message}`
        console.error(message)
        await storeReport(target, failureReport(), null, message).catch((e) => console.error(`storing the failure report failed too: ${(e as Error).message}`))
        results.push({key, outcome: 'failed', reason: (error as Error).message})
      }
    }
  } finally {
    s3.destroy()
  }
  return results
}
