import {ListObjectsV2Command, type S3Client} from '@aws-sdk/client-s3'
import pLimit from 'p-limit'
import {mapAwsError} from '../aws/errors.js'
import {isStale, type RequestState} from './status.js'
import {readStatus} from './wait.js'

export interface RequestSummary {
  id: string
  dataset?: string
  state: RequestState
  /** A running status past its function's deadline. */
  stale: boolean
  submittedAt?: string
  submittedBy?: string
  rows: number
  finishedAt?: string
  description?: string
  reason?: string
}

/**
 * The newest requests, from the results zone alone (the extractor copies the request's dataset, submitter and
 * submission time into status.json; submitters may not list or read the requests zone). Newest first: ids are
 * ULIDs, so key order is time order.
 */
export async function listRequests(s3: S3Client, bucket: string, options: {limit: number; signal?: AbortSignal}): Promise<{requests: RequestSummary[]; total: number}> {
  const ids: string[] = []
  let token: string | undefined
  try {
    do {
      const page = await s3.send(new ListObjectsV2Command({Bucket: bucket, Delimiter: '/', ContinuationToken: token}), {abortSignal: options.signal})
      for (const p of page.CommonPrefixes ?? []) if (p.Prefix) ids.push(p.Prefix.slice(0, -1))
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
  } catch (e) {
    throw mapAwsError(e, {doing: `listing s3://${bucket}/`})
  }
  ids.sort()
  const newest = ids.slice(-options.limit).reverse()
  const limit = pLimit(8)
  const now = Date.now()
  const requests = await Promise.all(
    newest.map((id) =>
      limit(async (): Promise<RequestSummary> => {
        const s = await readStatus(s3, bucket, id, options.signal)
        return {
          id,
          ...(s.dataset ? {dataset: s.dataset} : {}),
          state: s.state,
          stale: isStale(s, now),
          ...(s.submittedAt ? {submittedAt: s.submittedAt} : {}),
          ...(s.submittedBy ? {submittedBy: s.submittedBy} : {}),
          rows: s.rows ?? 0,
          ...(s.finishedAt ? {finishedAt: s.finishedAt} : {}),
          ...(s.description ? {description: s.description} : {}),
          ...(s.reason ? {reason: s.reason} : {}),
        }
      }),
    ),
  )
  // ULIDs sort by time already; ids chosen by hand do not, so order by submission time where it is known
  const when = (r: RequestSummary) => r.submittedAt ?? ''
  requests.sort((a, b) => (when(a) === when(b) ? (a.id < b.id ? 1 : -1) : when(a) < when(b) ? 1 : -1))
  return {requests, total: ids.length}
}
