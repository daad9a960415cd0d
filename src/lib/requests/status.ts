import type {RequestIssue} from './schema.js'

/**
 * The request's life, as the results zone records it in `<id>/status.json` (written only by the extractor).
 * `pending` is never written: it is what a reader reports while there is no status.json yet.
 */
export type RequestState = 'pending' | 'running' | 'succeeded' | 'failed'
export const FINAL_STATES: ReadonlySet<RequestState> = new Set(['succeeded', 'failed'])

export interface ResultFile {
  /** Key in the results bucket: `<id>/part-00000.csv`. */
  key: string
  size: number
  sha256: string
  rows: number
}

export interface CallbackOutcome {
  url: string
  ok: boolean
  attempts: number
  /** HTTP status of the last attempt, when one answered. */
  httpStatus?: number
  error?: string
  /** The target was refused before any connection (a private address, a host not allowed…): see error. */
  refused?: boolean
  at: string
}

export interface RequestStatus {
  id: string
  state: RequestState
  /** Why it failed (one line). */
  reason?: string
  /** Validation problems, when the request was invalid. */
  errors?: RequestIssue[]
  /** Copied from the request and its upload, so `cape request list` works from the results zone alone. */
  dataset?: string
  description?: string
  format?: 'csv' | 'parquet'
  submittedBy?: string
  submittedAt?: string
  /** The uploader as S3 reported it in the event (AWS:<id>), when known. */
  uploader?: string
  rows: number
  files: ResultFile[]
  startedAt?: string
  finishedAt?: string
  /** While running: when the function will be stopped; a `running` status older than this is stale. */
  deadline?: string
  callback?: CallbackOutcome
  /** Where it ran: `athena` (the query engine, phase 2); absent = streamed by the extractor function. */
  engine?: 'athena'
  queryExecutionId?: string
  /** What the query scanned (query engine only). */
  dataScannedBytes?: number
}

export const REQUEST_FILE = 'request.json'
export const STATUS_FILE = 'status.json'
export const requestKey = (id: string) => `${id}/${REQUEST_FILE}`
export const statusKey = (id: string) => `${id}/${STATUS_FILE}`
export const partKey = (id: string, index: number, format: 'csv' | 'parquet') => `${id}/part-${String(index).padStart(5, '0')}.${format}`

/** Object metadata the CLI sets on request.json (x-amz-meta-…). */
export const REQUEST_META = {submittedBy: 'cape-submitted-by', submittedAt: 'cape-submitted-at'} as const

/** An id as cape writes it (ULID) or as anyone may: letters, digits, `.`, `_`, `-` — one key segment. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

/** A running status is stale when its function's deadline is this long gone without a final status. */
export const STALE_GRACE_MS = 60_000
/** Without a recorded deadline, a running status older than this is stale (the functions' maximum timeout). */
export const MAX_FUNCTION_MS = 15 * 60_000

export function isStale(status: RequestStatus, now = Date.now()): boolean {
  if (status.state !== 'running') return false
  const deadline = status.deadline ? Date.parse(status.deadline) : status.startedAt ? Date.parse(status.startedAt) + MAX_FUNCTION_MS : Number.NaN
  return Number.isFinite(deadline) && now > deadline + STALE_GRACE_MS
}
