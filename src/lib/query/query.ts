import {createWriteStream} from 'node:fs'
import {rename, rm, stat} from 'node:fs/promises'
import path from 'node:path'
import {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {GetObjectCommand} from '@aws-sdk/client-s3'
import type {QueryExecution} from '@aws-sdk/client-athena'
import type {AwsClients} from '../aws/clients.js'
import type {Reporter} from '../reporter.js'
import {MAX_BARS, checkChartable} from './chart.js'
import {resultPages, startQuery, statsOf, waitForQuery, type QueryStats, type ResultColumn, type ResultRow, type RunQueryOptions} from './execute.js'
import {createFormatter, type QueryFormat} from './render.js'

export interface QueryOptions extends Omit<RunQueryOptions, 'reporter'> {
  format: QueryFormat
  /** Write the whole result to this file (atomically) instead of `sink`. */
  out?: string
  /** Where rows stream when there is no `out` (the command passes stdout). */
  sink?: NodeJS.WritableStream
  /** Keep the rows instead of streaming them: all (`--json`), or for a chart (checked; at most MAX_BARS + 1). */
  collect?: 'all' | 'chart'
  maxWidth?: number
}

export interface QueryResult extends QueryStats {
  columns: ResultColumn[]
  rows?: ResultRow[]
  rowCount?: number
  /** Client-side wall time from StartQueryExecution to the last row written. */
  wallMs: number
  out?: {file: string; bytes: number; from: 's3' | 'pages'}
}

/** Run one query: start → wait (deadline, Ctrl-C stops it) → stream the result pages to the sink, a file, or memory. */
export async function runQuery(ctx: {clients: AwsClients; reporter: Reporter}, o: QueryOptions): Promise<QueryResult> {
  const t0 = Date.now()
  const {athena} = ctx.clients
  const id = await startQuery(athena, o)
  ctx.reporter.notify({code: 'query.started', level: 'debug', message: `Query ${id} started in ${o.target.workgroup}/${o.target.database}`, data: {queryExecutionId: id}})
  const q = await waitForQuery(athena, id, {...o, reporter: ctx.reporter})
  const stats = statsOf(q)
  if (o.out) {
    const out = await exportResult(ctx.clients, q, o)
    return {...stats, ...out, wallMs: Date.now() - t0}
  }
  if (o.collect) {
    const {columns, rows} = await collectRows(ctx.clients, q, o.collect === 'chart', o.signal)
    return {...stats, columns, rows, rowCount: rows.length, wallMs: Date.now() - t0}
  }
  const {columns, rowCount} = await writePages(ctx.clients, q, o, o.sink ?? process.stdout)
  return {...stats, columns, rowCount, wallMs: Date.now() - t0}
}

async function collectRows(clients: AwsClients, q: QueryExecution, chart: boolean, signal?: AbortSignal): Promise<{columns: ResultColumn[]; rows: ResultRow[]}> {
  const rows: ResultRow[] = []
  let columns: ResultColumn[] = []
  for await (const page of resultPages(clients.athena, q, signal)) {
    columns = page.columns
    if (chart) checkChartable(columns)
    rows.push(...page.rows)
    if (chart && rows.length > MAX_BARS) break // the chart refuses it with a clear error; no need to read the rest
  }
  return {columns, rows}
}

const write = (sink: NodeJS.WritableStream, text: string) =>
  text === '' || sink.write(text) ? Promise.resolve() : new Promise<void>((resolve) => sink.once('drain', resolve))

/** Stream the pages through a formatter into a sink, waiting for it to drain: one page in memory at a time. */
async function writePages(clients: AwsClients, q: QueryExecution, o: QueryOptions, sink: NodeJS.WritableStream): Promise<{columns: ResultColumn[]; rowCount: number}> {
  const formatter = createFormatter(o.format, {maxWidth: o.maxWidth})
  let columns: ResultColumn[] = []
  let rowCount = 0
  let first = true
  for await (const page of resultPages(clients.athena, q, o.signal)) {
    if (first) {
      columns = page.columns
      await write(sink, formatter.head(columns))
      first = false
    }
    rowCount += page.rows.length
    await write(sink, formatter.rows(page.rows))
  }
  await write(sink, formatter.end())
  return {columns, rowCount}
}

/** `s3://bucket/key` → its parts. */
export function parseS3Url(url: string): {bucket: string; key: string} | undefined {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(url)
  return m ? {bucket: m[1], key: m[2]} : undefined
}

/**
 * Write the whole result to a file, atomically (a temp file beside it, renamed when complete). CSV comes straight
 * from Athena's result object (`<OutputLocation>`, streamed from S3); other formats, or when that object cannot be
 * read, from the result pages.
 */
async function exportResult(clients: AwsClients, q: QueryExecution, o: QueryOptions): Promise<Pick<QueryResult, 'columns' | 'rowCount' | 'out'>> {
  const file = path.resolve(o.out!)
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`)
  try {
    const location = parseS3Url(q.ResultConfiguration?.OutputLocation ?? '')
    if (o.format === 'csv' && location && (await copyObject(clients, location, tmp, o.signal))) {
      await rename(tmp, file)
      return {columns: [], out: {file, bytes: (await stat(file)).size, from: 's3'}}
    }
    const sink = createWriteStream(tmp)
    const done = new Promise<void>((resolve, reject) => sink.on('close', resolve).on('error', reject))
    const {columns, rowCount} = await writePages(clients, q, o, sink)
    sink.end()
    await done
    await rename(tmp, file)
    return {columns, rowCount, out: {file, bytes: (await stat(file)).size, from: 'pages'}}
  } finally {
    await rm(tmp, {force: true})
  }
}

/** Stream an S3 object into a file; false when it is not there or not readable (the caller falls back to pages). */
async function copyObject(clients: AwsClients, at: {bucket: string; key: string}, file: string, signal?: AbortSignal): Promise<boolean> {
  let body: Readable
  try {
    const got = await clients.s3.send(new GetObjectCommand({Bucket: at.bucket, Key: at.key}), {abortSignal: signal})
    body = got.Body as Readable
  } catch (error) {
    const name = (error as Error).name
    if (name === 'NoSuchKey' || name === 'AccessDenied' || name === 'NoSuchBucket') return false
    throw error
  }
  await pipeline(body, createWriteStream(file), {signal})
  return true
}
