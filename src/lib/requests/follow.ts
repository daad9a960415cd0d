import type {S3Client} from '@aws-sdk/client-s3'
import type {Reporter} from '../reporter.js'
import {downloadResults, type FetchResult} from './fetch.js'
import type {RequestStatus} from './status.js'
import {failedError, waitForRequest, type WaitOptions} from './wait.js'

export interface FollowResult {
  status: RequestStatus
  fetched: FetchResult
}

/**
 * Wait for a request to finish, then download and verify its results into `dir`. Throws REQUEST_FAILED (exit 5)
 * with the extractor's reason, REQUEST_STILL_RUNNING (exit 8) at the timeout, REQUEST_STALE (exit 5).
 */
export async function followRequest(
  ctx: {s3: S3Client; reporter?: Reporter; signal?: AbortSignal},
  buckets: {results: string},
  id: string,
  options: Omit<WaitOptions, 'signal'> & {dir: string},
): Promise<FollowResult> {
  const status = await waitForRequest(ctx.s3, buckets.results, id, {...options, signal: ctx.signal})
  if (status.state !== 'succeeded') throw failedError(status)
  const fetched = await downloadResults(ctx, buckets.results, status, options.dir)
  return {status, fetched}
}
