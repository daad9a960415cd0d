import {createHash} from 'node:crypto'
import {createWriteStream, mkdtempSync, rmSync, type WriteStream} from 'node:fs'
import {once} from 'node:events'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {GetSecretValueCommand} from '@aws-sdk/client-secrets-manager'
import {GetParameterCommand, PutParameterCommand} from '@aws-sdk/client-ssm'
import pg from 'pg'
import QueryStream from 'pg-query-stream'
import {ulid} from 'ulid'
import type {AwsClients} from '../aws/clients.js'
import {CapeError} from '../cli/errors.js'
import {ExitCode} from '../cli/exit-codes.js'
import type {ResolvedEnvironment} from '../config/config.js'
import type {SourceConfig, SourceTableConfig} from '../config/schema.js'
import {META} from '../ingest/curate.js'
import {getDataset, loadDatasets, type Dataset} from '../ingest/datasets.js'
import {freeLandingKey, isPreconditionFailed, landingTaken} from '../ingest/raw-keys.js'
import {uploadFile} from '../ingest/s3-writer.js'
import {checkType, type TypedValue} from '../ingest/values.js'
import {ParquetRowWriter} from '../ingest/writers.js'
import {resolveZones} from '../lakehouse/zones.js'
import type {Reporter} from '../reporter.js'

/**
 * `cape ingest db:<source>`: incremental feed from PostgreSQL. For each table, in one REPEATABLE READ READ ONLY
 * transaction (one snapshot for all tables), rows with `(watermark, key…) > (stored watermark)` are streamed in
 * (watermark, key) order, a batch of at most `batchRows` at a time: each batch is written to raw as JSON lines, then
 * to curated as parquet in the dataset's schema, and only then is the watermark advanced in SSM Parameter Store
 * (`/cape/<env>/feeds/<source>/<table>`). A crash anywhere before that re-reads the same window; the curated batch
 * is named by the window's start, so the re-run overwrites it instead of adding a copy.
 */
export interface FeedContext {
  env: ResolvedEnvironment
  clients: AwsClients
  reporter: Reporter
  signal?: AbortSignal
}

export type FeedStage = 'raw' | 'curated' | 'watermark'

export interface DbIngestOptions {
  source: string
  table?: string
  /** Ignore the stored watermark: read every row again (curated batches of the same windows are overwritten). */
  full?: boolean
  dryRun?: boolean
  /** Rows per batch (one raw file, one curated file, one watermark step). Default 100,000. */
  batchRows?: number
  /** PGPASSWORD: wins over the source's passwordSecret. */
  password?: string
  version: string
  /** Called after each stage of each batch (tests use it to kill the process between stages). */
  afterStage?: (stage: FeedStage, table: string) => void | Promise<void>
  now?: () => Date
}

export interface Watermark {
  /** The watermark column's value as PostgreSQL prints it (UTC). */
  value: string
  /** The key columns' values of the last row read at that watermark. */
  key: Array<string | number>
}

export interface TableSummary {
  table: string
  dataset: string
  rows: number
  batches: number
  watermarkBefore: Watermark | null
  watermarkAfter: Watermark | null
  keys: {raw: string[]; curated: string[]}
  parameter: string
  seconds: number
}

export interface DbIngestResult {
  source: string
  dryRun: boolean
  tables: TableSummary[]
}

const DEFAULT_BATCH_ROWS = 100_000
const STREAM_BATCH = 1000
const PART_SIZE = 8 * 1024 * 1024

// Values PostgreSQL sends as text stay text (exact: int8, numeric, timestamps to the microsecond, dates), except
// booleans, small integers, floats and JSON. A `timestamp without time zone` is taken as UTC.
const NATIVE = new Set([16, 21, 23, 700, 701, 114, 3802])
const pgTypes = {
  getTypeParser(oid: number, format?: string) {
    if (oid === 1114) return (s: string) => `${s.replace(' ', 'T')}Z`
    if (NATIVE.has(oid)) return pg.types.getTypeParser(oid, format as 'text')
    return (s: string) => s
  },
}

export const feedParameterName = (env: string, source: string, table: string) => `/cape/${env}/feeds/${source}/${table}`

export async function ingestDb(ctx: FeedContext, options: DbIngestOptions): Promise<DbIngestResult> {
  const source = ctx.env.sources[options.source]
  if (!source) {
    const known = Object.keys(ctx.env.sources)
    throw new CapeError('SOURCE_NOT_FOUND', `No source "${options.source}" in cape.yaml`, {exit: ExitCode.notFound, hints: [known.length > 0 ? `Sources: ${known.join(', ')}` : 'Declare it under sources: in cape.yaml (see README, "Feeds from PostgreSQL").']})
  }
  const tables = Object.entries(source.tables).filter(([name]) => options.table === undefined || name === options.table)
  if (tables.length === 0) throw new CapeError('SOURCE_TABLE_NOT_FOUND', `Source "${options.source}" has no table "${options.table}"`, {exit: ExitCode.notFound, hints: [`Tables: ${Object.keys(source.tables).join(', ')}`]})
  const datasets = loadDatasets(ctx.env.datasets)
  const plan = tables.map(([table, config]) => ({table, config, dataset: datasetFor(datasets, options.source, table, config)}))
  const zones = options.dryRun ? undefined : await resolveZones({env: ctx.env, clients: ctx.clients})
  const password = options.password ?? await secretPassword(ctx, options.source, source)
  const client = await connect(options.source, source, password)
  const tmp = mkdtempSync(join(tmpdir(), 'cape-feed-'))
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
    await client.query(`SET LOCAL TIME ZONE 'UTC'`)
    for (const t of plan) await checkColumns(client, options.source, t.table, t.config, t.dataset)
    const summaries: TableSummary[] = []
    for (const t of plan) {
      const run = {ctx, options, client, tmp, sourceName: options.source, buckets: zones?.buckets}
      summaries.push(await feedTable(run, t.table, t.config, t.dataset))
    }
    await client.query('COMMIT')
    return {source: options.source, dryRun: options.dryRun === true, tables: summaries}
  } finally {
    await client.end().catch(() => undefined)
    rmSync(tmp, {recursive: true, force: true})
  }
}

function datasetFor(datasets: ReturnType<typeof loadDatasets>, source: string, table: string, config: SourceTableConfig): Dataset {
  try {
    return getDataset(datasets, config.dataset)
  } catch {
    throw new CapeError('FEED_CONFIG', `Source "${source}", table "${table}": unknown dataset "${config.dataset}"`, {exit: ExitCode.config})
  }
}

async function secretPassword(ctx: FeedContext, name: string, source: SourceConfig): Promise<string> {
  if (!source.passwordSecret) {
    throw new CapeError('DB_PASSWORD_MISSING', `Source "${name}" has no password: set passwordSecret in cape.yaml or PGPASSWORD`, {exit: ExitCode.config})
  }
  let value: {SecretString?: string}
  try {
    value = await ctx.clients.secretsManager.send(new GetSecretValueCommand({SecretId: source.passwordSecret}), {abortSignal: ctx.signal})
  } catch (error) {
    const e = error as {name?: string; message?: string}
    throw new CapeError('DB_SECRET', `Source "${name}": cannot read secret "${source.passwordSecret}" from Secrets Manager: ${e.name ?? 'Error'}: ${e.message ?? ''}`, {exit: ExitCode.config, cause: error})
  }
  const text = value.SecretString ?? ''
  // a plain password, or JSON with a `password` field (what RDS-managed secrets hold)
  if (text.startsWith('{')) {
    try {
      const parsed = JSON.parse(text) as {password?: unknown}
      if (typeof parsed.password === 'string') return parsed.password
    } catch { /* a password that starts with { */ }
  }
  return text
}

async function connect(name: string, source: SourceConfig, password: string): Promise<pg.Client> {
  const client = new pg.Client({host: source.host, port: source.port, database: source.database, user: source.user, password, types: pgTypes, connectionTimeoutMillis: 15_000})
  try {
    await client.connect()
    return client
  } catch (error) {
    await client.end().catch(() => undefined)
    const e = error as {code?: string; message?: string}
    const from = source.passwordSecret ? `the password from secret "${source.passwordSecret}"` : 'the password'
    if (e.code === '28P01' || e.code === '28000') {
      throw new CapeError('DB_AUTH', `Source "${name}": PostgreSQL at ${source.host}:${source.port} refused user "${source.user}" with ${from} (PGPASSWORD when set): ${e.message ?? ''}`, {
        exit: ExitCode.config,
        hints: [source.passwordSecret ? `Check the secret: aws secretsmanager get-secret-value --secret-id ${source.passwordSecret}` : 'Set PGPASSWORD or passwordSecret.'],
      })
    }
    throw new CapeError('DB_UNREACHABLE', `Source "${name}": cannot connect to PostgreSQL at ${source.host}:${source.port}/${source.database}: ${e.message ?? String(error)}`, {exit: ExitCode.remoteFailed})
  }
}

const quote = (name: string) => pg.escapeIdentifier(name)
const tableRef = (table: string, config: SourceTableConfig) => `${quote(config.schema ?? 'public')}.${quote(table)}`

/** The table's columns must hold the watermark, the key and every required column of the dataset. */
async function checkColumns(client: pg.Client, source: string, table: string, config: SourceTableConfig, dataset: Dataset): Promise<void> {
  let fields: string[]
  try {
    fields = (await client.query(`SELECT * FROM ${tableRef(table, config)} LIMIT 0`)).fields.map((f) => f.name)
  } catch (error) {
    throw new CapeError('FEED_CONFIG', `Source "${source}", table "${table}": ${(error as Error).message}`, {exit: ExitCode.config})
  }
  const have = new Set(fields)
  const problems: string[] = []
  if (!have.has(config.watermark)) problems.push(`has no watermark column "${config.watermark}"`)
  for (const k of config.key) if (!have.has(k)) problems.push(`has no key column "${k}"`)
  for (const c of dataset.columns) if (c.required && !have.has(c.name)) problems.push(`has no column "${c.name}" (required by dataset ${dataset.name})`)
  if (problems.length > 0) {
    throw new CapeError('FEED_CONFIG', `Source "${source}", table "${table}" ${problems.join('; ')}`, {exit: ExitCode.config, hints: [`Columns: ${fields.join(', ')}`]})
  }
}

interface TableRun {
  ctx: FeedContext
  options: DbIngestOptions
  client: pg.Client
  tmp: string
  sourceName: string
  buckets?: {raw: string; curated: string}
}

async function readWatermark(ctx: FeedContext, name: string): Promise<Watermark | null> {
  try {
    const out = await ctx.clients.ssm.send(new GetParameterCommand({Name: name}), {abortSignal: ctx.signal})
    const parsed = JSON.parse(out.Parameter?.Value ?? 'null') as {watermark?: Watermark} | null
    return parsed?.watermark ?? null
  } catch (error) {
    if ((error as {name?: string}).name === 'ParameterNotFound') return null
    throw error
  }
}

function windowQuery(table: string, config: SourceTableConfig, from: Watermark | null, limit: number): {text: string; values: unknown[]} {
  const order = [config.watermark, ...config.key].map(quote)
  const where = from
    ? `(${order.join(', ')}) > (${order.map((_, i) => `$${i + 1}`).join(', ')})`
    : `${quote(config.watermark)} IS NOT NULL`
  return {
    text: `SELECT * FROM ${tableRef(table, config)} WHERE ${where} ORDER BY ${order.join(', ')} LIMIT ${limit}`,
    values: from ? [from.value, ...from.key] : [],
  }
}

/** A file-name-safe tag of a window edge: the compact UTC watermark and the key. */
function edgeTag(w: Watermark | null): string {
  if (!w) return 'start'
  const ts = w.value.replace(/[-:]/g, '').replace(' ', 'T').replace(/\+00$/, 'Z')
  const key = w.key.map(String).join('_')
  return `${ts.replace(/[^A-Za-z0-9.]/g, '')}.${/^[A-Za-z0-9_-]{1,40}$/.test(key) ? key : createHash('sha256').update(JSON.stringify(w.key)).digest('hex').slice(0, 12)}`
}

async function write(ws: WriteStream, text: string): Promise<void> {
  if (!ws.write(text)) await once(ws, 'drain')
}

async function closeFile(ws: WriteStream): Promise<void> {
  ws.end()
  await once(ws, 'close')
}

async function feedTable(run: TableRun, table: string, config: SourceTableConfig, dataset: Dataset): Promise<TableSummary> {
  const {ctx, options} = run
  const started = Date.now()
  const parameter = feedParameterName(ctx.env.name.value, run.sourceName, table)
  const before = options.full ? null : await readWatermark(ctx, parameter)
  const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS
  const summary: TableSummary = {table, dataset: dataset.name, rows: 0, batches: 0, watermarkBefore: before, watermarkAfter: before, keys: {raw: [], curated: []}, parameter, seconds: 0}
  if (options.dryRun) {
    const q = windowQuery(table, config, before, Number.MAX_SAFE_INTEGER)
    const count = await run.client.query(`SELECT count(*)::int AS n FROM (${q.text}) AS w`, q.values)
    summary.rows = (count.rows[0] as {n: number}).n
    summary.seconds = (Date.now() - started) / 1000
    return summary
  }
  let from = before
  for (;;) {
    const batch = await feedBatch(run, table, config, dataset, from, batchRows)
    if (!batch) break
    summary.rows += batch.rows
    summary.batches++
    summary.keys.raw.push(batch.rawKey)
    summary.keys.curated.push(batch.curatedKey)
    await ctx.clients.ssm.send(new PutParameterCommand({
      Name: parameter,
      Type: 'String',
      Overwrite: true,
      Value: JSON.stringify({watermark: batch.to, updatedAt: (options.now ?? (() => new Date()))().toISOString(), rows: batch.rows, rawKey: batch.rawKey, curatedKey: batch.curatedKey}),
    }), {abortSignal: ctx.signal})
    await options.afterStage?.('watermark', table)
    from = batch.to
    summary.watermarkAfter = from
    ctx.reporter.notify({code: 'feed.batch', level: 'info', message: `${run.sourceName}.${table}: ${batch.rows} rows → ${batch.curatedKey}`, data: {table, rows: batch.rows}})
    if (batch.rows < batchRows) break
  }
  summary.seconds = (Date.now() - started) / 1000
  return summary
}

interface BatchResult {
  rows: number
  to: Watermark
  rawKey: string
  curatedKey: string
}

/** One window: stream it to a JSON-lines file and a parquet file, upload raw, then curated. Undefined: no rows. */
async function feedBatch(run: TableRun, table: string, config: SourceTableConfig, dataset: Dataset, from: Watermark | null, limit: number): Promise<BatchResult | undefined> {
  const {ctx, options} = run
  const rawFile = join(run.tmp, `${table}.jsonl`)
  const parquetFile = join(run.tmp, `${table}.parquet`)
  const raw = createWriteStream(rawFile)
  const parquet = createWriteStream(parquetFile)
  const writer = new ParquetRowWriter(dataset.columns, (b) => { parquet.write(b) }, {dataset: dataset.name})
  const hash = createHash('sha256')
  const q = windowQuery(table, config, from, limit)
  const stream = run.client.query(new QueryStream(q.text, q.values, {batchSize: STREAM_BATCH}))
  let rows = 0
  let last: Record<string, unknown> | undefined
  let firstWatermark: string | undefined
  const values: TypedValue[] = new Array<TypedValue>(dataset.columns.length)
  try {
    for await (const row of stream as AsyncIterable<Record<string, unknown>>) {
      const line = `${JSON.stringify(row)}\n`
      hash.update(line)
      await write(raw, line)
      for (let i = 0; i < dataset.columns.length; i++) values[i] = typedValue(run.sourceName, table, config, dataset.columns[i], row)
      writer.write([], values)
      if (parquet.writableNeedDrain) await once(parquet, 'drain')
      firstWatermark ??= String(row[config.watermark])
      last = row
      rows++
    }
  } catch (error) {
    raw.destroy()
    parquet.destroy()
    throw error
  }
  writer.end()
  await Promise.all([closeFile(raw), closeFile(parquet)])
  if (!last || !firstWatermark) return undefined
  const to: Watermark = {value: String(last[config.watermark]), key: config.key.map((k) => last[k] as string | number)}
  const now = (options.now ?? (() => new Date()))()
  const fromTag = edgeTag(from)
  // curated: named by the window's start only (its date too), so a re-run of an unfinished window overwrites it
  const windowDate = (from?.value ?? firstWatermark).slice(0, 10)
  const curatedKey = `${dataset.name}/ingest_date=${windowDate}/${run.sourceName}-${table}-${fromTag}.parquet`
  const ingestId = ulid()
  const metadata: Record<string, string> = {
    [META.sha256]: hash.digest('hex'),
    [META.source]: `db:${run.sourceName}/${table}`,
    [META.dataset]: dataset.name,
    [META.version]: options.version,
    [META.output]: 'parquet',
    [META.ingestId]: ingestId,
    [META.transform]: 'local',
    [META.rows]: String(rows),
  }
  const {buckets} = run
  if (!buckets) throw new Error('internal: no buckets outside a dry run')
  // raw is write-once: a re-run of the same window lands beside the first landing (~2), never over it
  const rawKey = await freeLandingKey(ctx.clients.s3, buckets.raw, `${dataset.name}/ingest_date=${now.toISOString().slice(0, 10)}/${table}-${fromTag}-${edgeTag(to)}.jsonl`, ctx.signal)
  await uploadFile({s3: ctx.clients.s3, bucket: buckets.raw, key: rawKey, contentType: 'application/x-ndjson', metadata, file: rawFile, partSize: PART_SIZE, queueSize: 2, signal: ctx.signal, createOnly: true})
    .catch((error: unknown) => {
      throw isPreconditionFailed(error) ? landingTaken(buckets.raw, rawKey, error) : error
    })
  await options.afterStage?.('raw', table)
  const curatedMeta: Record<string, string> = {
    [META.rawKey]: rawKey, [META.rawSha256]: metadata[META.sha256], [META.source]: metadata[META.source], [META.dataset]: dataset.name,
    [META.version]: options.version, [META.output]: 'parquet', [META.ingestId]: ingestId, [META.rows]: String(rows),
  }
  await uploadFile({s3: ctx.clients.s3, bucket: buckets.curated, key: curatedKey, contentType: 'application/vnd.apache.parquet', metadata: curatedMeta, file: parquetFile, partSize: PART_SIZE, queueSize: 2, signal: ctx.signal})
  await options.afterStage?.('curated', table)
  return {rows, to, rawKey, curatedKey}
}

function typedValue(source: string, table: string, config: SourceTableConfig, column: Dataset['columns'][number], row: Record<string, unknown>): TypedValue {
  const v = row[column.name]
  const where = () => `Source "${source}", table "${table}", row ${config.key.map((k) => `${k}=${String(row[k])}`).join(', ')}, column "${column.name}"`
  if (v === null || v === undefined) {
    if (column.required) throw new CapeError('FEED_VALUE', `${where()}: required value is null`, {exit: ExitCode.inputRejected})
    return null
  }
  const text = typeof v === 'object' ? JSON.stringify(v) : String(v)
  const checked = checkType(column.type, text)
  if (!checked.ok) throw new CapeError('FEED_VALUE', `${where()}: ${checked.message}`, {exit: ExitCode.inputRejected})
  return checked.value
}
