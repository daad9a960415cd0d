/**
 * The extractor function: fired by `<id>/request.json` uploads to the requests bucket. This first version records
 * that the request was received and answers `failed` with a clear reason; the full extractor (validation, filters,
 * projection, result files, callbacks) arrives with the extraction-requests work.
 */
import {PutObjectCommand} from '@aws-sdk/client-s3'
import {createClients} from '../../lib/aws/clients.js'
import {isInternalKey} from '../../lib/ingest/curate.js'
import {lambdaTarget, s3Records, type S3Event} from '../shared.js'

export async function handler(event: S3Event): Promise<Array<{key: string; state: string}>> {
  const clients = createClients(lambdaTarget(process.env))
  const results = process.env.RESULTS_BUCKET
  if (!results) throw new Error('RESULTS_BUCKET is not set')
  const out: Array<{key: string; state: string}> = []
  for (const {key} of s3Records(event)) {
    if (isInternalKey(key) || !key.endsWith('request.json')) continue
    const id = key.split('/')[0]
    const now = new Date().toISOString()
    const status = {id, state: 'failed', reason: 'extraction is not available in this version of cape', rows: 0, files: [], startedAt: now, finishedAt: now}
    await clients.s3.send(new PutObjectCommand({Bucket: results, Key: `${id}/status.json`, Body: JSON.stringify(status, null, 2), ContentType: 'application/json'}))
    out.push({key, state: status.state})
  }
  clients.destroy()
  return out
}
