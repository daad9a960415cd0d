/**
 * The transform function: fired by raw ObjectCreated events. Validates the upload against its dataset format,
 * transforms it to the canonical form and writes curated — or, when invalid, writes only the report next to the
 * raw object (`_reports/<key>.json`). The same bundle runs on AWS and on cape's local platform.
 */
import {GetObjectCommand, HeadObjectCommand} from '@aws-sdk/client-s3'
import type {Readable} from 'node:stream'
import {createClients} from '../../lib/aws/clients.js'
import {META, curateStream, curatedKeyFor, isInternalKey, reportKeyFor} from '../../lib/ingest/curate.js'
import {loadDatasets} from '../../lib/ingest/datasets.js'
import {lambdaTarget, s3Records, type S3Event} from '../shared.js'

export interface TransformResult {
  key: string
  outcome: 'curated' | 'rejected' | 'skipped'
  reason?: string
  curatedKey?: string
  rows?: number
}

export async function handler(event: S3Event): Promise<TransformResult[]> {
  const clients = createClients(lambdaTarget(process.env))
  const curatedBucket = process.env.CURATED_BUCKET
  if (!curatedBucket) throw new Error('CURATED_BUCKET is not set')
  const datasets = loadDatasets()
  const results: TransformResult[] = []
  for (const {bucket, key} of s3Records(event)) {
    if (isInternalKey(key)) {
      results.push({key, outcome: 'skipped', reason: 'internal key'})
      continue
    }
    const head = await clients.s3.send(new HeadObjectCommand({Bucket: bucket, Key: key}))
    const meta = head.Metadata ?? {}
    if (meta[META.transform] === 'local') {
      results.push({key, outcome: 'skipped', reason: 'curated by the CLI (transform local)'})
      continue
    }
    const output = meta[META.output] === 'parquet' ? 'parquet' : 'csv'
    const dataset = meta[META.dataset] || key.split('/')[0]
    const object = await clients.s3.send(new GetObjectCommand({Bucket: bucket, Key: key, VersionId: undefined}))
    const outcome = await curateStream(object.Body as Readable, {
      s3: clients.s3,
      curatedBucket,
      curatedKey: curatedKeyFor(key, output),
      reportBucket: bucket,
      reportKey: reportKeyFor(key),
      metadata: {
        [META.rawKey]: key,
        [META.sha256]: meta[META.sha256] ?? '',
        [META.source]: meta[META.source] ?? `s3://${bucket}/${key}`,
        [META.version]: meta[META.version] ?? '',
        [META.output]: output,
      },
    }, {datasets, dataset: datasets.has(dataset) ? dataset : undefined, output})
    const r = outcome.report
    console.log(JSON.stringify({key, valid: r.valid, dataset: r.dataset, variant: r.variant, rows: r.rows, errors: r.errorCount}))
    results.push(
      outcome.curated
        ? {key, outcome: 'curated', curatedKey: outcome.curated.key, rows: r.rows}
        : {key, outcome: 'rejected', reason: `${r.errorCount} problems`, rows: r.rows},
    )
  }
  clients.destroy()
  return results
}
