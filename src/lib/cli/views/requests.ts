import path from 'node:path'
import {Flags} from '@oclif/core'
import type {FetchResult} from '../../requests/fetch.js'
import type {RequestSummary} from '../../requests/list.js'
import {isStale, type RequestState, type RequestStatus} from '../../requests/status.js'
import {DEFAULT_INTERVAL_MS, DEFAULT_TIMEOUT_MS, type WaitOptions} from '../../requests/wait.js'
import type {Reporter} from '../../reporter.js'
import {formatDuration, parseDuration} from '../duration.js'
import {usageError} from '../errors.js'
import {humanBytes, table, type Style} from '../render.js'

/** The waiting options shared by `request submit` and `request wait`. */
export const waitFlags = {
  timeout: Flags.string({summary: `Stop waiting after this long (exit 8, still running). Default ${DEFAULT_TIMEOUT_MS / 60_000}m.`, helpValue: 'DURATION'}),
  interval: Flags.string({summary: `First polling interval; it grows ×1.25 per poll up to 2s. Default ${DEFAULT_INTERVAL_MS}ms.`, helpValue: 'DURATION'}),
  out: Flags.string({summary: 'Where to download the results (default ./results/<id>/).', helpValue: 'DIR'}),
  ndjson: Flags.boolean({summary: 'Print one JSON line per event (submitted, each state change, downloaded) on stdout.', exclusive: ['json']}),
}

export function waitSettings(flags: {timeout?: string; interval?: string}): Pick<WaitOptions, 'intervalMs' | 'timeoutMs'> {
  const intervalMs = flags.interval === undefined ? DEFAULT_INTERVAL_MS : parseDuration(flags.interval, 'interval')
  const timeoutMs = flags.timeout === undefined ? DEFAULT_TIMEOUT_MS : parseDuration(flags.timeout, 'timeout')
  if (intervalMs < 50) throw usageError('--interval must be at least 50ms.')
  return {intervalMs, timeoutMs}
}

export const resultsDir = (id: string, out?: string) => path.resolve(out ?? path.join('results', id))

/** One NDJSON line (only under --ndjson). */
export function ndjsonLine(event: string, data: Record<string, unknown>): string {
  return JSON.stringify({event, at: new Date().toISOString(), ...data})
}

const stateWord = (s: Style, state: RequestState, stale = false) => {
  if (stale) return s.red('stale')
  switch (state) {
    case 'succeeded':
      return s.green(state)
    case 'failed':
      return s.red(state)
    case 'running':
      return s.cyan(state)
    default:
      return s.dim(state)
  }
}

const filesText = (n: number) => `${n} ${n === 1 ? 'file' : 'files'}`

/** A state change as a progress event (stderr): pending/running as info, succeeded as success; failed is the error. */
export function reportStateChange(reporter: Reporter, status: RequestStatus): void {
  const message =
    status.state === 'pending' ? `${status.id}: pending (waiting for the extractor)`
    : status.state === 'running' ? `${status.id}: running${status.dataset ? ` (${status.dataset})` : ''}`
    : status.state === 'succeeded' ? `${status.id}: succeeded: ${status.rows} rows in ${filesText(status.files.length)}`
    : `${status.id}: failed`
  reporter.notify({code: 'request.state', level: status.state === 'succeeded' ? 'success' : 'info', message, data: {id: status.id, state: status.state}})
}

/** The NDJSON line of a state change. */
export function stateLine(status: RequestStatus): string {
  return ndjsonLine('state', {
    id: status.id,
    state: status.state,
    ...(status.reason ? {reason: status.reason} : {}),
    ...(status.errors ? {errors: status.errors} : {}),
    ...(status.state === 'succeeded' ? {rows: status.rows, files: status.files} : {}),
  })
}

export function renderFetched(f: FetchResult): string {
  return `${f.rows} rows in ${filesText(f.files.length)} (${humanBytes(f.bytes)}, checksums verified) → ${f.dir}`
}

/** `cape request status`: the status as labelled lines. */
export function renderStatus(status: RequestStatus, s: Style, now = Date.now()): string {
  const stale = isStale(status, now)
  const rows: Array<[string, string | undefined]> = [
    ['id', status.id],
    ['state', stateWord(s, status.state, stale) + (stale ? s.dim(' (running past its deadline: the extractor stopped without a final status)') : '')],
    ['dataset', status.dataset],
    ['description', status.description],
    ['submitted', status.submittedAt && `${status.submittedAt}${status.submittedBy ? ` by ${status.submittedBy}` : ''}`],
    ['started', status.startedAt],
    ['finished', status.finishedAt && `${status.finishedAt}${status.startedAt ? ` (${formatDuration(Date.parse(status.finishedAt) - Date.parse(status.startedAt))})` : ''}`],
    ['deadline', status.state === 'running' ? status.deadline : undefined],
    ['reason', status.reason && s.red(status.reason)],
    ['rows', status.state === 'succeeded' ? String(status.rows) : undefined],
    ['engine', status.engine && `${status.engine} query ${status.queryExecutionId ?? '?'}${status.dataScannedBytes === undefined ? '' : `, ${humanBytes(status.dataScannedBytes)} scanned`}`],
    ['callback', status.callback && `${status.callback.ok ? s.green('delivered') : s.red('not delivered')} to ${status.callback.url} (${status.callback.attempts} ${status.callback.attempts === 1 ? 'attempt' : 'attempts'}${status.callback.httpStatus ? `, HTTP ${status.callback.httpStatus}` : ''}${status.callback.error && !status.callback.ok ? `, ${status.callback.error}` : ''})`],
  ]
  const lines = rows.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => `${s.dim(k.padEnd(11))} ${v}`)
  for (const i of status.errors ?? []) lines.push(`  ${s.red('✗')} ${i.pointer || '(document)'}: ${i.message}`)
  if (status.files.length > 0) {
    lines.push('', table(status.files.map((f) => [f.key, String(f.rows), humanBytes(f.size), f.sha256.slice(0, 16)]), ['FILE', 'ROWS', 'SIZE', 'SHA256']))
  }
  if (status.state === 'pending') lines.push('', s.dim(`No status yet: the extractor has not picked the request up (or there is no request ${status.id}).`))
  return lines.join('\n')
}

/** `cape request list`: one line per request. */
export function renderRequestList(requests: RequestSummary[], s: Style): string {
  if (requests.length === 0) return 'No requests in the results zone yet.'
  return table(
    requests.map((r) => [r.id, r.dataset ?? '-', stateWord(s, r.state, r.stale), r.submittedAt ?? '-', r.submittedBy ?? '-']),
    ['ID', 'DATASET', 'STATE', 'SUBMITTED', 'BY'],
  )
}
