import {
  BatchGetQueryExecutionCommand,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  ListQueryExecutionsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type AthenaClient,
  type QueryExecution,
} from '@aws-sdk/client-athena'
import {CapeError, remoteFailed} from '../cli/errors.js'
import {ExitCode} from '../cli/exit-codes.js'
import type {Reporter} from '../reporter.js'
import type {QueryTarget} from './target.js'

/** A result column as ResultSetMetadata.ColumnInfo describes it (type in Athena's names: varchar, bigint, double…). */
export interface ResultColumn {
  name: string
  type: string
}

/** One row: the text Athena returned per column, or null for SQL NULL (a Datum without VarCharValue). */
export type ResultRow = Array<string | null>

export interface QueryStats {
  queryExecutionId: string
  state: string
  statementType?: string
  dataScannedBytes: number
  engineMs: number
  totalMs: number
  outputLocation?: string
}

export interface RunQueryOptions {
  sql: string
  target: QueryTarget
  /** Stop the query and fail (exit 8) when it has not finished after this many ms. */
  timeoutMs?: number
  signal?: AbortSignal
  reporter?: Reporter
}

const FINISHED = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED'])

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, {once: true})
  })

export function statsOf(q: QueryExecution): QueryStats {
  return {
    queryExecutionId: q.QueryExecutionId!,
    state: q.Status?.State ?? 'UNKNOWN',
    statementType: q.StatementType,
    dataScannedBytes: q.Statistics?.DataScannedInBytes ?? 0,
    engineMs: q.Statistics?.EngineExecutionTimeInMillis ?? 0,
    totalMs: q.Statistics?.TotalExecutionTimeInMillis ?? 0,
    outputLocation: q.ResultConfiguration?.OutputLocation,
  }
}

/** Start a query in the target's workgroup and database; the execution id. */
export async function startQuery(athena: AthenaClient, o: RunQueryOptions): Promise<string> {
  const started = await athena.send(
    new StartQueryExecutionCommand({QueryString: o.sql, WorkGroup: o.target.workgroup, QueryExecutionContext: {Database: o.target.database}}),
    {abortSignal: o.signal},
  )
  return started.QueryExecutionId!
}

/** Ask Athena to stop a query (best effort: the query may have finished meanwhile). Never uses the aborted signal. */
export async function stopQuery(athena: AthenaClient, id: string): Promise<void> {
  await athena.send(new StopQueryExecutionCommand({QueryExecutionId: id}), {abortSignal: AbortSignal.timeout(4000)}).catch(() => {})
}

/**
 * Wait for a query with backoff (100 ms growing to 2 s) and a deadline. Ctrl-C (the signal) or the deadline stop
 * the query (StopQueryExecution) and throw: interrupted (130) or QUERY_TIMEOUT (8). FAILED throws QUERY_FAILED (5)
 * with Athena's StateChangeReason and, when the reason names one, the line and column.
 */
export async function waitForQuery(athena: AthenaClient, id: string, o: RunQueryOptions): Promise<QueryExecution> {
  const deadline = o.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + o.timeoutMs
  let delay = 100
  for (;;) {
    if (o.signal?.aborted) {
      await stopQuery(athena, id)
      throw o.signal.reason instanceof CapeError ? o.signal.reason : new CapeError('INTERRUPTED', 'Interrupted.', {exit: ExitCode.interrupted})
    }
    const {QueryExecution: q} = await athena.send(new GetQueryExecutionCommand({QueryExecutionId: id}))
    const state = q?.Status?.State ?? 'UNKNOWN'
    if (FINISHED.has(state)) return checkFinished(q!)
    if (Date.now() >= deadline) {
      await stopQuery(athena, id)
      throw new CapeError('QUERY_TIMEOUT', `Query ${id} did not finish within the timeout (${state}): it was stopped.`, {
        exit: ExitCode.stillRunning,
        hints: ['Give it longer with --timeout, or narrow the query (a WHERE on the partition column, a LIMIT).'],
        data: {queryExecutionId: id, state},
      })
    }
    o.reporter?.notify({code: 'query.wait', level: 'progress', message: `Query ${state.toLowerCase()}…`, data: {queryExecutionId: id, state}})
    await sleep(Math.min(delay, Math.max(0, deadline - Date.now())), o.signal)
    delay = Math.min(2000, Math.round(delay * 1.5))
  }
}

/** Where a failure reason points in the SQL: Athena/Trino say `line 3:14: …`. */
export function reasonPosition(reason: string): {line: number; column: number} | undefined {
  const m = /line (\d+):(\d+)/i.exec(reason)
  return m ? {line: Number(m[1]), column: Number(m[2])} : undefined
}

function checkFinished(q: QueryExecution): QueryExecution {
  const state = q.Status!.State!
  if (state === 'SUCCEEDED') return q
  const id = q.QueryExecutionId!
  const reason = q.Status?.StateChangeReason ?? q.Status?.AthenaError?.ErrorMessage ?? 'no reason given'
  if (state === 'CANCELLED') throw remoteFailed('QUERY_CANCELLED', `Query ${id} was cancelled: ${reason}`, [], {queryExecutionId: id, state})
  const position = reasonPosition(reason)
  throw remoteFailed('QUERY_FAILED', `Query ${id} failed: ${reason}`, ['Athena SQL is Trino SQL: see the README section "Query the lakehouse".'], {
    queryExecutionId: id,
    state,
    reason,
    ...(position ?? {}),
    ...(q.Status?.AthenaError?.ErrorType === undefined ? {} : {errorType: q.Status.AthenaError.ErrorType}),
  })
}

export interface ResultPage {
  columns: ResultColumn[]
  rows: ResultRow[]
}

/**
 * The result, page by page (1,000 rows each; one page in memory at a time). For DML (SELECT) the first row of the
 * first page repeats the column names and is dropped.
 */
export async function* resultPages(athena: AthenaClient, q: QueryExecution, signal?: AbortSignal): AsyncGenerator<ResultPage> {
  let token: string | undefined
  let first = true
  let columns: ResultColumn[] = []
  do {
    if (signal?.aborted) throw signal.reason
    const page = await athena.send(new GetQueryResultsCommand({QueryExecutionId: q.QueryExecutionId, NextToken: token, MaxResults: 1000}), {abortSignal: signal})
    if (first) columns = (page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => ({name: c.Label ?? c.Name ?? '', type: (c.Type ?? 'varchar').toLowerCase()}))
    let rows: ResultRow[] = (page.ResultSet?.Rows ?? []).map((r) => (r.Data ?? []).map((d) => d.VarCharValue ?? null))
    if (first && q.StatementType === 'DML' && rows.length > 0) rows = rows.slice(1)
    first = false
    yield {columns, rows}
    token = page.NextToken
  } while (token)
}

/** Recent executions of the workgroup, newest first (ListQueryExecutions + BatchGetQueryExecution). */
export async function listQueries(athena: AthenaClient, target: QueryTarget, limit = 20): Promise<Array<QueryStats & {query: string; submitted?: string; reason?: string}>> {
  const ids: string[] = []
  let token: string | undefined
  do {
    const page = await athena.send(new ListQueryExecutionsCommand({WorkGroup: target.workgroup, NextToken: token, MaxResults: Math.min(50, limit - ids.length)}))
    ids.push(...(page.QueryExecutionIds ?? []))
    token = page.NextToken
  } while (token && ids.length < limit)
  const found: QueryExecution[] = []
  for (let i = 0; i < ids.length; i += 50) {
    const batch = await athena.send(new BatchGetQueryExecutionCommand({QueryExecutionIds: ids.slice(i, i + 50)}))
    found.push(...(batch.QueryExecutions ?? []))
  }
  const byId = new Map(found.map((q) => [q.QueryExecutionId, q]))
  return ids.flatMap((id) => {
    const q = byId.get(id)
    if (!q) return []
    return [{...statsOf(q), query: q.Query ?? '', submitted: q.Status?.SubmissionDateTime?.toISOString(), reason: q.Status?.StateChangeReason}]
  })
}
