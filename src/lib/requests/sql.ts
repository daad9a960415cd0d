import type {Column, ColumnType, Dataset} from '../ingest/datasets.js'
import {glueType, tableBase} from '../query/table-names.js'
import type {RequestFilter, Scalar} from './filter.js'
import type {ExtractionRequest} from './schema.js'

/**
 * An extraction request as one Athena (Trino) statement over the dataset's curated tables — the CSV table (text,
 * cast here to the column's type; empty is NULL, as the streaming extractor reads it) and the parquet table, as one
 * UNION ALL — with the projection, the filters and the limit. Identifiers come from the dataset definition (quoted);
 * every value from the request is an ExecutionParameter (a typed literal bound to a `?`), never SQL text.
 */

export interface CompiledRequest {
  sql: string
  /** ExecutionParameters, in the order of the `?` in `sql` */
  parameters: string[]
}

export const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`
/** A typed SQL literal for an ExecutionParameter (parsed as a literal by Athena, and by the local engine). */
export function literalOf(type: ColumnType, value: Scalar): string {
  switch (type) {
    case 'string':
      return `'${String(value).replaceAll("'", "''")}'`
    case 'integer':
      return BigInt(value as number).toString()
    case 'number':
      return Number(value).toString().includes('e') ? Number(value).toString() : `${Number(value)}e0`
    case 'boolean':
      return value ? 'true' : 'false'
    case 'date':
      return `DATE '${String(value)}'`
    case 'timestamp':
      // ISO 8601 with an offset → the UTC instant as Trino's TIMESTAMP literal (the tables hold UTC)
      return `TIMESTAMP '${new Date(String(value)).toISOString().replace('T', ' ').replace('Z', '')}'`
  }
}

/** The column as the CSV table holds it (text; '' = NULL), in its type. */
function csvColumn(c: Column): string {
  const col = quoteIdent(c.name.toLowerCase())
  const text = `NULLIF(${col}, '')`
  return c.type === 'string' ? `${text} AS ${col}` : `CAST(${text} AS ${glueType(c.type)}) AS ${col}`
}

function condition(filter: RequestFilter, column: Column, parameters: string[]): string {
  const col = quoteIdent(column.name.toLowerCase())
  const param = (v: Scalar) => {
    parameters.push(literalOf(column.type, v))
    return '?'
  }
  switch (filter.op) {
    case 'eq': return `${col} = ${param(filter.value!)}`
    // the streaming extractor's `ne` matches an empty value too
    case 'ne': return `(${col} IS NULL OR ${col} <> ${param(filter.value!)})`
    case 'lt': return `${col} < ${param(filter.value!)}`
    case 'lte': return `${col} <= ${param(filter.value!)}`
    case 'gt': return `${col} > ${param(filter.value!)}`
    case 'gte': return `${col} >= ${param(filter.value!)}`
    case 'in': return `${col} IN (${(filter.values ?? []).map(param).join(', ')})`
    case 'between': return `${col} BETWEEN ${param(filter.values![0]!)} AND ${param(filter.values![1]!)}`
    case 'contains': return `strpos(${col}, ${param(filter.value!)}) > 0`
  }
}

/** The statement for a valid request (see validateRequest) in `database`. */
export function compileRequest(request: ExtractionRequest, dataset: Dataset, database: string): CompiledRequest {
  const byName = new Map(dataset.columns.map((c) => [c.name, c]))
  const projected = (request.columns ?? dataset.columns.map((c) => c.name)).map((n) => byName.get(n)!)
  const base = tableBase(dataset.name)
  const db = quoteIdent(database)
  const parameters: string[] = []
  const where = (request.filters ?? []).map((f) => condition(f, byName.get(f.column)!, parameters))
  const lines = [
    `SELECT ${projected.map((c) => `${quoteIdent(c.name.toLowerCase())} AS ${quoteIdent(c.name)}`).join(', ')}`,
    'FROM (',
    `  SELECT ${dataset.columns.map(csvColumn).join(', ')} FROM ${db}.${quoteIdent(base)}`,
    '  UNION ALL',
    `  SELECT ${dataset.columns.map((c) => quoteIdent(c.name.toLowerCase())).join(', ')} FROM ${db}.${quoteIdent(`${base}_parquet`)}`,
    ') AS request',
    ...(where.length > 0 ? [`WHERE ${where.join('\n  AND ')}`] : []),
    ...(request.limit !== undefined ? [`LIMIT ${Math.trunc(request.limit)}`] : []),
  ]
  return {sql: lines.join('\n'), parameters}
}

/** The statement with its parameters shown (for `cape request submit --explain`): what Athena receives. */
export function explainRequest(compiled: CompiledRequest): string {
  const params = compiled.parameters.map((p, i) => `--   ?${i + 1} = ${p}`)
  return [compiled.sql + ';', ...(params.length > 0 ? ['-- ExecutionParameters (bound as typed values, never spliced):', ...params] : [])].join('\n')
}
