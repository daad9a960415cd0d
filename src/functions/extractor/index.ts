/**
 * The extractor function: fired by `<id>/request.json` uploads to the requests bucket. For each it writes
 * `<id>/status.json` (running → succeeded | failed) and the result files `<id>/part-NNNNN.csv|parquet` to the results
 * bucket, then POSTs the final status to the request's callbackUrl. The same bundle runs on AWS and on cape's local
 * platform. See src/lib/requests/extractor.ts.
 */
import {AthenaClient} from '@aws-sdk/client-athena'
import {S3Client} from '@aws-sdk/client-s3'
import {clientConfig, createClients} from '../../lib/aws/clients.js'
import {loadDatasets} from '../../lib/ingest/datasets.js'
import {callbackPolicyFromEnv} from '../../lib/requests/callback-guard.js'
import {finishOnEngine, processRequest, type ExtractorDeps} from '../../lib/requests/extractor.js'
import type {RequestStatus} from '../../lib/requests/status.js'
import {lambdaTarget, s3Records, type S3Event} from '../shared.js'

export interface LambdaContext {
  getRemainingTimeInMillis(): number
}

type Event = {
  Records?: Array<NonNullable<S3Event['Records']>[number] & {userIdentity?: {principalId?: string}}>
  /** EventBridge: Athena's "Athena Query State Change" (phase 2's rule calls the extractor when its query ends) */
  source?: string
  'detail-type'?: string
  detail?: {queryExecutionId?: string; currentState?: string}
}

export async function handler(event: Event, context?: LambdaContext): Promise<Array<{key: string; state?: string; rows?: number}>> {
  const env = process.env
  const curatedBucket = env.CURATED_BUCKET
  const resultsBucket = env.RESULTS_BUCKET
  if (!curatedBucket || !resultsBucket) throw new Error('CURATED_BUCKET and RESULTS_BUCKET must be set')
  const rowsPerFile = Number(env.ROWS_PER_FILE ?? 100_000)
  const target = lambdaTarget(env)
  const clients = createClients(target, {S3Client})
  // imported statically: the bundle holds what the function uses (createClients would load them by name)
  const athena = env.QUERY_WORKGROUP ? new AthenaClient(clientConfig(target)) : undefined
  const datasets = loadDatasets()
  const started = Date.now()
  const remainingMs = () => context?.getRemainingTimeInMillis() ?? 300_000 - (Date.now() - started)
  const deps: ExtractorDeps = {
    s3: clients.s3,
    curatedBucket,
    resultsBucket,
    rowsPerFile: Number.isInteger(rowsPerFile) && rowsPerFile > 0 ? rowsPerFile : 100_000,
    datasets,
    remainingMs,
    callback: {policy: callbackPolicyFromEnv(env)},
    log: (entry) => console.log(JSON.stringify(entry)),
    ...(athena && env.QUERY_WORKGROUP ? {engine: {athena, workgroup: env.QUERY_WORKGROUP, database: env.GLUE_DATABASE ?? ''}} : {}),
  }
  const out: Array<{key: string; state?: string; rows?: number}> = []
  try {
    if (event.source === 'aws.athena' && event.detail?.queryExecutionId) {
      const status = await finishOnEngine(deps, event.detail.queryExecutionId)
      out.push({key: event.detail.queryExecutionId, ...(status ? {state: status.state, rows: status.rows} : {})})
      return out
    }
    // s3Records keeps the records that name a bucket and key, in order: the same filter lines the two lists up
    const raw = (event.Records ?? []).filter((r) => r.s3?.bucket?.name && r.s3?.object?.key !== undefined)
    for (const [i, {bucket, key}] of s3Records(event).entries()) {
      const uploader = raw[i]?.userIdentity?.principalId
      const status: RequestStatus | undefined = await processRequest(deps, {bucket, key, ...(uploader ? {uploader} : {})})
      out.push({key, ...(status ? {state: status.state, rows: status.rows} : {})})
    }
  } finally {
    clients.destroy()
    athena?.destroy()
  }
  return out
}
