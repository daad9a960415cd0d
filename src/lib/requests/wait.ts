import {setTimeout as sleep} from 'node:timers/promises'
import {GetObjectCommand, type S3Client} from '@aws-sdk/client-s3'
import {mapAwsError} from '../aws/errors.js'
import {CapeError, remoteFailed} from '../cli/errors.js'
import {ExitCode} from '../cli/exit-codes.js'
import {formatDuration} from '../cli/duration.js'
import {FINAL_STATES, isStale, statusKey, type RequestState, type RequestStatus} from './status.js'

const NOT_THERE = new Set(['NoSuchKey', 'NotFound'])

/**
 * The request's status.json from the results zone; a `pending` status when the extractor has not written one yet.
 * A body that does not parse (read while it was being replaced, on stores without atomic overwrite) is read again.
 */
export async function readStatus(s3: S3Client, bucket: string, id: string, signal?: AbortSignal): Promise<RequestStatus> {
  for (let attempt = 1; ; attempt++) {
    let text: string
    try {
      const r = await s3.send(new GetObjectCommand({Bucket: bucket, Key: statusKey(id)}), {abortSignal: signal})
      text = await r.Body!.transformToString('utf8')
    } catch (e) {
      const err = e as {name?: string; $metadata?: {httpStatusCode?: number}}
      if (NOT_THERE.has(err?.name ?? '') || err?.$metadata?.httpStatusCode === 404) return {id, state: 'pending', rows: 0, files: []}
      throw mapAwsError(e, {doing: `reading the status of ${id}`})
    }
    try {
      const status = JSON.parse(text) as RequestStatus
      if (status && typeof status === 'object' && typeof status.state === 'string') return {...status, rows: status.rows ?? 0, files: status.files ?? []}
    } catch {
      // fall through: read it again
    }
    if (attempt >= 5) throw remoteFailed('REQUEST_STATUS_UNREADABLE', `s3://${bucket}/${statusKey(id)} is not a status (not JSON with a "state").`)
    await sleep(50 * attempt, undefined, {signal})
  }
}

export interface WaitOptions {
  /** First polling interval (ms); it grows ×1.25 per poll up to maxIntervalMs. */
  intervalMs: number
  maxIntervalMs?: number
  timeoutMs: number
  signal?: AbortSignal
  /** Called with the first status seen and with every change of state. */
  onChange?: (status: RequestStatus, previous: RequestState | undefined) => void
}

export const DEFAULT_INTERVAL_MS = 250
export const DEFAULT_MAX_INTERVAL_MS = 2000
export const DEFAULT_TIMEOUT_MS = 15 * 60_000

/** The next polling delay: interval × 1.25^n, capped (a status that lands is noticed within the delay in effect). */
export function pollDelay(attempt: number, intervalMs: number, maxIntervalMs: number): number {
  return Math.min(Math.max(intervalMs, maxIntervalMs), Math.round(intervalMs * 1.25 ** attempt))
}

export const stillRunningError = (status: RequestStatus, waitedMs: number) =>
  new CapeError('REQUEST_STILL_RUNNING', `Request ${status.id} is still ${status.state} after ${formatDuration(waitedMs)}.`, {
    exit: ExitCode.stillRunning,
    hints: [`Keep waiting: cape request wait ${status.id}`],
    data: {id: status.id, state: status.state},
  })

export const staleError = (status: RequestStatus) =>
  remoteFailed(
    'REQUEST_STALE',
    `Request ${status.id} has been running since ${status.startedAt}, past its function's deadline (${status.deadline ?? 'unknown'}): the extractor stopped without a final status.`,
    [`Submit it again; the function's log tells what happened (on the local platform: <CAPE_HOME>/lambda/logs/).`],
    {id: status.id, state: status.state},
  )

/** The error for a final `failed` status: the extractor's reason, and the validation problems if any. */
export function failedError(status: RequestStatus): CapeError {
  const lines = [`Request ${status.id} failed: ${status.reason ?? 'no reason given'}`]
  for (const i of status.errors ?? []) lines.push(`  ${i.pointer || '(document)'}: ${i.message}`)
  return remoteFailed('REQUEST_FAILED', lines.join('\n'), [`Details: cape request status ${status.id}`], {
    id: status.id,
    reason: status.reason,
    ...(status.errors ? {issues: status.errors} : {}),
  })
}

/**
 * Poll `<id>/status.json` until it is final, with backoff from intervalMs up to maxIntervalMs, a deadline and the
 * abort signal. Resolves with the final status (succeeded or failed); throws REQUEST_STILL_RUNNING (exit 8) at the
 * timeout and REQUEST_STALE when a running status outlived its function.
 */
export async function waitForRequest(s3: S3Client, bucket: string, id: string, options: WaitOptions): Promise<RequestStatus> {
  const started = Date.now()
  const maxInterval = options.maxIntervalMs ?? DEFAULT_MAX_INTERVAL_MS
  let previous: RequestState | undefined
  for (let attempt = 0; ; attempt++) {
    const status = await readStatus(s3, bucket, id, options.signal)
    if (status.state !== previous) {
      options.onChange?.(status, previous)
      previous = status.state
    }
    if (FINAL_STATES.has(status.state)) return status
    if (isStale(status)) throw staleError(status)
    const waited = Date.now() - started
    if (waited >= options.timeoutMs) throw stillRunningError(status, waited)
    const delay = Math.min(pollDelay(attempt, options.intervalMs, maxInterval), options.timeoutMs - waited)
    await sleep(delay, undefined, {signal: options.signal})
  }
}
