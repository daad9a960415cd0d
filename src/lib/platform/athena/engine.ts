import {createReadStream} from 'node:fs'
import {mkdir, rm} from 'node:fs/promises'
import {join} from 'node:path'
import {DuckDBInstance, type DuckDBConnection, type DuckDBValue} from '@duckdb/node-api'
import type {GlueCatalog, GlueTable} from '../glue/catalog.js'
import {authorizeGlue, glueArns} from '../glue/service.js'
import {decide} from '../iam/authz.js'
import type {IamStore} from '../iam/store.js'
import type {Principal} from '../identity.js'
import {JsonError} from '../json.js'
import type {S3Service} from '../s3/index.js'
import {athenaColumnType, athenaReason, checkQuery, codeOnly, DialectError, parseParameter, SESSION_SQL} from './dialect.js'
import {ident, literal, parseS3Url, tableFiles, tableSql, type TableFiles} from './sources.js'

/**
 * Runs one Athena query on DuckDB, as Athena would for the same caller: every table the query names is looked up
 * in the Glue catalog (glue:GetTable), its objects are listed and read with the caller's own s3:ListBucket and
 * s3:GetObject, the result is written with the caller's s3:PutObject to `<OutputLocation>/<id>.csv` (+ `.metadata`).
 * DuckDB runs in a fresh in-memory instance per query, with file access locked to exactly the objects allowed.
 */

export interface EngineDeps {
  iam: IamStore
  catalog: GlueCatalog
  s3: S3Service
  /** `<data>/s3/buckets`: where the objects are files */
  objectsDir: string
  /** scratch space for result files before they are stored */
  tmpDir: string
  region: string
  threads?: number
}

export interface QueryJob {
  id: string
  sql: string
  database: string
  outputLocation: string
  parameters: string[]
  principal: Principal
  bytesCutoff?: number
}

export interface ResultColumnInfo {
  CatalogName: string
  SchemaName: string
  TableName: string
  Name: string
  Label: string
  Type: string
  Precision: number
  Scale: number
  Nullable: 'UNKNOWN'
  CaseSensitive: boolean
}

export interface QueryOutcome {
  dataScannedBytes: number
  columns: ResultColumnInfo[]
  resultKey: string
}

/** A query that ended without a result: Athena's error type, the reason, and the state (FAILED or CANCELLED). */
export class QueryFailure extends Error {
  readonly errorType: string
  readonly state: 'FAILED' | 'CANCELLED'
  readonly userError: boolean
  constructor(errorType: string, reason: string, state: 'FAILED' | 'CANCELLED' = 'FAILED', userError = true) {
    super(reason)
    this.errorType = errorType
    this.state = state
    this.userError = userError
  }
}

/** The result object's key for an execution: `<OutputLocation>/<id>.csv`. */
export function resultLocation(outputLocation: string, id: string): {bucket: string; key: string} {
  const {bucket, prefix} = parseS3Url(outputLocation)
  return {bucket, key: `${prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`}${id}.csv`}
}

export class QueryEngine {
  private readonly deps: EngineDeps
  private readonly running = new Map<string, DuckDBConnection>()
  private readonly stopped = new Set<string>()

  constructor(deps: EngineDeps) {
    this.deps = deps
  }

  /** Interrupts a running query (it ends CANCELLED). */
  stop(id: string): void {
    this.stopped.add(id)
    this.running.get(id)?.interrupt()
  }

  async run(job: QueryJob): Promise<QueryOutcome> {
    const sql = wrapDialect(() => checkQuery(job.sql))
    const instance = await DuckDBInstance.create(':memory:', {threads: String(this.deps.threads ?? 2)})
    const connection = await instance.connect()
    this.running.set(job.id, connection)
    const tmp = join(this.deps.tmpDir, `${job.id}.csv`)
    try {
      const tables = await this.referencedTables(connection, sql, job)
      const dataScannedBytes = tables.reduce((sum, t) => sum + t.partitions.reduce((s, p) => s + p.files.reduce((n, f) => n + f.size, 0), 0), 0)
      if (job.bytesCutoff !== undefined && dataScannedBytes > job.bytesCutoff) {
        throw new QueryFailure('BYTES_SCANNED_LIMIT', `Query cancelled! The query was cancelled as it would scan ${dataScannedBytes} bytes, over the bytes scanned limit of ${job.bytesCutoff} set for the workgroup`, 'CANCELLED')
      }
      const result = resultLocation(job.outputLocation, job.id)
      await this.authorizeS3(job.principal, 's3:PutObject', result.bucket, result.key, `Access denied when writing output to url: s3://${result.bucket}/${result.key} . Please ensure you are allowed to access the S3 bucket.`)
      await this.prepareSession(connection, job.database, tables, tmp)
      const columns = await this.execute(connection, sql, job, tmp)
      await this.store(result, tmp, columns)
      return {dataScannedBytes, columns, resultKey: result.key}
    } catch (error) {
      throw this.failure(job, sql, error)
    } finally {
      this.running.delete(job.id)
      this.stopped.delete(job.id)
      connection.closeSync()
      instance.closeSync()
      await rm(tmp, {force: true})
    }
  }

  private failure(job: QueryJob, sql: string, error: unknown): QueryFailure {
    if (error instanceof QueryFailure) return error
    if (error instanceof DialectError) return new QueryFailure(error.errorType, `${error.errorType}: ${error.message}`)
    const message = error instanceof Error ? error.message : String(error)
    if (this.stopped.has(job.id) || /^INTERRUPT/i.test(message)) return new QueryFailure('USER_CANCELLED', 'Query cancelled by user', 'CANCELLED')
    const {errorType, reason} = athenaReason(sql, message)
    return new QueryFailure(errorType, reason, 'FAILED', errorType !== 'GENERIC_INTERNAL_ERROR')
  }

  /** The catalog tables a query names (CTE names are not tables), authorized and listed. */
  private async referencedTables(connection: DuckDBConnection, sql: string, job: QueryJob): Promise<TableFiles[]> {
    let names: readonly string[]
    try {
      // (the parser behind getTableNames takes no `?` parameters: NULL stands in for them)
      names = connection.getTableNames(withoutParameters(sql), true)
    } catch (error) {
      throw new QueryFailure(...reasonOf(sql, error))
    }
    const arns = glueArns(this.deps.region, this.deps.catalog.accountId)
    const seen = new Map<string, TableFiles>()
    for (const raw of names) {
      const ref = parseTableRef(raw, job.database)
      if (!ref || seen.has(`${ref.database}.${ref.table}`)) continue
      const table = this.lookup(ref.database, ref.table)
      if (!table) continue // DuckDB answers TABLE_NOT_FOUND with the position
      try {
        authorizeGlue(this.deps.iam, job.principal, 'GetTable', [arns.catalog, arns.database(ref.database), arns.table(ref.database, ref.table)])
      } catch (error) {
        throw new QueryFailure('PERMISSION_DENIED', `Insufficient permissions to execute the query. ${(error as Error).message}`)
      }
      const files = await wrapDialectAsync(() => tableFiles(this.deps.objectsDir, this.deps.catalog, table))
      await this.authorizeList(job.principal, files)
      for (const p of files.partitions) for (const f of p.files) await this.authorizeS3(job.principal, 's3:GetObject', files.bucket, f.key, `Permission denied on S3 path: s3://${files.bucket}/${f.key}`)
      seen.set(`${ref.database}.${ref.table}`, files)
    }
    return [...seen.values()]
  }

  private lookup(database: string, table: string): GlueTable | undefined {
    try {
      return this.deps.catalog.getTable(database, table)
    } catch (error) {
      if (error instanceof JsonError && error.code === 'EntityNotFoundException') return undefined
      throw error
    }
  }

  private async authorizeList(principal: Principal, files: TableFiles): Promise<void> {
    const decision = decide(this.deps.iam, principal, {
      action: 's3:ListBucket', resource: `arn:aws:s3:::${files.bucket}`, context: {'s3:prefix': files.prefix},
      resourcePolicies: await this.bucketPolicies(files.bucket),
    })
    if (decision !== 'allowed') throw new QueryFailure('PERMISSION_DENIED', `Permission denied on S3 path: s3://${files.bucket}/${files.prefix}`)
  }

  private async authorizeS3(principal: Principal, action: string, bucket: string, key: string, reason: string): Promise<void> {
    const decision = decide(this.deps.iam, principal, {action, resource: `arn:aws:s3:::${bucket}/${key}`, resourcePolicies: await this.bucketPolicies(bucket)})
    if (decision !== 'allowed') throw new QueryFailure('PERMISSION_DENIED', reason)
  }

  private async bucketPolicies(bucket: string) {
    const doc = await this.deps.s3.getBucketPolicy(bucket).catch(() => null)
    return doc ? [doc] : []
  }

  /** Views for the tables, Trino's settings and macros, then file access locked to the allowed objects. */
  private async prepareSession(connection: DuckDBConnection, database: string, tables: TableFiles[], tmp: string): Promise<void> {
    await mkdir(this.deps.tmpDir, {recursive: true})
    const schemas = new Set([database.toLowerCase(), ...tables.map((t) => t.table.DatabaseName)])
    const statements = ["ATTACH ':memory:' AS awsdatacatalog", ...[...schemas].map((s) => `CREATE SCHEMA awsdatacatalog.${ident(s)}`)]
    for (const t of tables) statements.push(`CREATE VIEW awsdatacatalog.${ident(t.table.DatabaseName)}.${ident(t.table.Name)} AS ${wrapDialect(() => tableSql(t))}`)
    statements.push(`USE awsdatacatalog.${ident(database.toLowerCase())}`, ...SESSION_SQL.map((s) => s.replace(/^CREATE MACRO/, 'CREATE TEMP MACRO')))
    const allowed = [tmp, ...tables.flatMap((t) => t.partitions.flatMap((p) => p.files.map((f) => f.path)))]
    statements.push(`SET allowed_paths = [${allowed.map(literal).join(', ')}]`, 'SET enable_external_access = false', 'SET lock_configuration = true')
    for (const s of statements) await connection.run(s)
  }

  /** The result's columns (from the prepared statement), then the rows as Athena's CSV (every value quoted). */
  private async execute(connection: DuckDBConnection, sql: string, job: QueryJob, tmp: string): Promise<ResultColumnInfo[]> {
    const values: DuckDBValue[] = job.parameters.map((p, i) => wrapDialect(() => parseParameter(p, i)))
    const prepared = await connection.prepare(sql)
    if (prepared.parameterCount !== values.length) {
      throw new QueryFailure('INVALID_PARAMETER', `INVALID_PARAMETER: the query has ${prepared.parameterCount} parameter(s) (?) and ${values.length} ExecutionParameters were given`)
    }
    const columns: ResultColumnInfo[] = []
    const names = athenaColumnNames(prepared)
    for (let i = 0; i < prepared.columnCount; i++) {
      const name = names[i]!
      columns.push({CatalogName: 'hive', SchemaName: '', TableName: '', Name: name, Label: name, ...athenaColumnType(prepared.columnType(i).toString()), Nullable: 'UNKNOWN', CaseSensitive: prepared.columnType(i).toString() === 'VARCHAR'})
    }
    const renamed = names.some((n, i) => n !== prepared.columnName(i)) ? `SELECT * FROM (\n${sql}\n) AS cape_result(${names.map(ident).join(', ')})` : sql
    const copy = `COPY (${renamed}\n) TO ${literal(tmp)} (FORMAT csv, HEADER true, FORCE_QUOTE *, TIMESTAMPFORMAT '%Y-%m-%d %H:%M:%S.%g')`
    await connection.run(copy, values)
    return columns
  }

  /** Stores the result file and its metadata (the result's columns as JSON) in the output location. */
  private async store(result: {bucket: string; key: string}, tmp: string, columns: ResultColumnInfo[]): Promise<void> {
    await this.deps.s3.putObjectBytes(result.bucket, result.key, createReadStream(tmp), {'content-type': 'text/csv'})
    await this.deps.s3.putObjectBytes(result.bucket, `${result.key}.metadata`, Buffer.from(JSON.stringify({columns})), {'content-type': 'application/json'})
  }
}

/** Trino names an expression without an alias `_col<position>` (DuckDB would name it after its text). */
function athenaColumnNames(prepared: {columnCount: number; columnName(i: number): string}): string[] {
  const names: string[] = []
  for (let i = 0; i < prepared.columnCount; i++) {
    const name = prepared.columnName(i)
    names.push(/^[A-Za-z_][\w$]*$/.test(name) ? name : `_col${i}`)
  }
  return names
}

/** `db.table AS alias`, `"db"."table"`, `awsdatacatalog.db.table` → database and table (lower case, as Glue). */
export function parseTableRef(raw: string, database: string): {database: string; table: string} | undefined {
  const name = raw.replace(/\s+AS\s+.*$/i, '')
  const parts = [...name.matchAll(/"((?:[^"]|"")*)"|([^."]+)/g)].map((m) => (m[1] === undefined ? m[2]! : m[1].replaceAll('""', '"')).toLowerCase())
  if (parts.length === 1) return {database: database.toLowerCase(), table: parts[0]!}
  if (parts.length === 2) return {database: parts[0]!, table: parts[1]!}
  if (parts.length === 3 && parts[0] === 'awsdatacatalog') return {database: parts[1]!, table: parts[2]!}
  return undefined
}

/** `?` placeholders (outside literals and comments) replaced by NULL, same offsets otherwise. */
function withoutParameters(sql: string): string {
  const code = codeOnly(sql)
  let out = ''
  for (let i = 0; i < sql.length; i++) out += code[i] === '?' ? 'NULL' : sql[i]
  return out
}

function reasonOf(sql: string, error: unknown): [string, string] {
  const {errorType, reason} = athenaReason(sql, error instanceof Error ? error.message : String(error))
  return [errorType, reason]
}

function wrapDialect<T>(fn: () => T): T {
  try {
    return fn()
  } catch (error) {
    if (error instanceof DialectError) throw new QueryFailure(error.errorType, `${error.errorType}: ${error.message}`)
    throw error
  }
}

async function wrapDialectAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (error) {
    if (error instanceof DialectError) throw new QueryFailure(error.errorType, `${error.errorType}: ${error.message}`)
    throw error
  }
}
