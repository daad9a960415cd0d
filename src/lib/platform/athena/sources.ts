import type {GlueCatalog, GlueColumn, GlueTable} from '../glue/catalog.js'
import {objectFiles, type ObjectFile} from '../s3/object-files.js'
import {DialectError, duckType} from './dialect.js'

/**
 * A Glue table as DuckDB reads it: the table's objects found on the platform's disk (partition folders from
 * partition projection's `storage.location.template`, registered partitions, or everything under the location),
 * read with DuckDB's parquet / CSV / JSON readers, with the table's columns and types, and the partition values as
 * columns — what Athena reads for the same table.
 */

export interface TableFiles {
  table: GlueTable
  bucket: string
  /** the prefix listed (the caller needs s3:ListBucket on it) */
  prefix: string
  /** files per partition (values in PartitionKeys order; [] for an unpartitioned table) */
  partitions: Array<{values: string[]; files: ObjectFile[]}>
}

export type TableFormat = 'parquet' | 'csv' | 'json'

export function parseS3Url(url: string): {bucket: string; prefix: string} {
  const m = /^s3a?:\/\/([^/]+)\/?(.*)$/.exec(url)
  if (!m) throw new DialectError('INVALID_TABLE_PROPERTY', `table location ${JSON.stringify(url)} is not an s3:// URL`)
  return {bucket: m[1]!, prefix: m[2]!}
}

const withSlash = (prefix: string) => (prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`)
/** Hive skips files whose name starts with `_` or `.` (markers such as _SUCCESS), and folder placeholders. */
const isDataFile = (key: string) => !key.endsWith('/') && !/(^|\/)[_.][^/]*$/.test(key)
const escapeRegExp = (s: string) => s.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&')

export function tableFormat(table: GlueTable): TableFormat {
  const sd = table.StorageDescriptor ?? {}
  const text = `${sd.SerdeInfo?.SerializationLibrary ?? ''} ${sd.InputFormat ?? ''} ${table.Parameters?.classification ?? ''}`.toLowerCase()
  if (text.includes('parquet')) return 'parquet'
  if (text.includes('json')) return 'json'
  if (text.includes('csv') || text.includes('lazysimpleserde') || text.includes('textinputformat')) return 'csv'
  throw new DialectError('NOT_SUPPORTED', `table ${table.DatabaseName}.${table.Name}: its storage format (${text.trim() || 'none given'}) is not read by the cape local engine (parquet, CSV, JSON lines)`)
}

/** The objects of a table, grouped by partition. */
export async function tableFiles(objectsDir: string, catalog: GlueCatalog, table: GlueTable): Promise<TableFiles> {
  const location = table.StorageDescriptor?.Location
  if (!location) throw new DialectError('INVALID_TABLE_PROPERTY', `table ${table.DatabaseName}.${table.Name} has no StorageDescriptor.Location`)
  const {bucket, prefix} = parseS3Url(location)
  const keys = (table.PartitionKeys ?? []).map((k) => k.Name)
  const params = table.Parameters ?? {}
  if (keys.length === 0) {
    const files = (await objectFiles(objectsDir, bucket, withSlash(prefix))).filter((f) => isDataFile(f.key))
    return {table, bucket, prefix: withSlash(prefix), partitions: [{values: [], files}]}
  }
  if (params['projection.enabled'] === 'true') {
    const template = params['storage.location.template'] ?? `${withSlash(location)}${keys.map((k) => `${k}=\${${k}}`).join('/')}/`
    return projectedFiles(objectsDir, table, template, keys)
  }
  const partitions = await Promise.all(catalog.listPartitions(table.DatabaseName, table.Name).map(async (p) => {
    const where = parseS3Url(p.StorageDescriptor?.Location ?? `${withSlash(location)}${keys.map((k, i) => `${k}=${p.Values[i]}`).join('/')}/`)
    const files = where.bucket === bucket ? await objectFiles(objectsDir, bucket, withSlash(where.prefix)) : []
    return {values: p.Values, files: files.filter((f) => isDataFile(f.key))}
  }))
  return {table, bucket, prefix: withSlash(prefix), partitions}
}

/** Partition projection: list under the template's fixed part, keep keys the template matches, group by values. */
async function projectedFiles(objectsDir: string, table: GlueTable, template: string, keys: string[]): Promise<TableFiles> {
  const {bucket, prefix: templatePath} = parseS3Url(template)
  const fixed = templatePath.slice(0, templatePath.indexOf('${') < 0 ? templatePath.length : templatePath.indexOf('${'))
  const order: string[] = []
  const pattern = new RegExp(`^${withSlash(templatePath).split(/(\$\{[^}]+\})/).map((part) => {
    const name = /^\$\{([^}]+)\}$/.exec(part)?.[1]
    if (name === undefined) return escapeRegExp(part)
    order.push(name)
    return '([^/]+)'
  }).join('')}`)
  const groups = new Map<string, {values: string[]; files: ObjectFile[]}>()
  for (const file of await objectFiles(objectsDir, bucket, fixed)) {
    const m = pattern.exec(file.key)
    if (!m || !isDataFile(file.key)) continue
    const byName = new Map(order.map((n, i) => [n, decodeURIComponent(m[i + 1]!)]))
    const values = keys.map((k) => byName.get(k) ?? '')
    const id = JSON.stringify(values)
    if (!groups.has(id)) groups.set(id, {values, files: []})
    groups.get(id)!.files.push(file)
  }
  return {table, bucket, prefix: fixed, partitions: [...groups.values()]}
}

/** A SQL string literal (for paths and partition values the platform found itself, never for user text). */
export const literal = (s: string) => `'${s.replaceAll("'", "''")}'`
export const ident = (s: string) => `"${s.replaceAll('"', '""')}"`

/**
 * Whether DuckDB can take the partition values from the paths itself (Hive layout: every file lies under
 * `<key>=<value>/` for each of its partition's values): one reader over all files then — about twice as fast as
 * one reader per partition.
 */
function hiveLayout(files: TableFiles, keys: GlueColumn[]): boolean {
  return keys.length > 0 && files.partitions.every((p) => p.files.every((f) => keys.every((k, i) => f.path.includes(`/${k.Name}=${p.values[i]}/`))))
}

/** The SELECT a table's view runs: every column with its type, then the partition columns. */
export function tableSql(files: TableFiles): string {
  const {table} = files
  const columns = table.StorageDescriptor?.Columns ?? []
  const partitionKeys = table.PartitionKeys ?? []
  const format = tableFormat(table)
  const withData = files.partitions.filter((p) => p.files.length > 0)
  if (withData.length === 0) {
    const all = [...columns, ...partitionKeys].map((c) => `CAST(NULL AS ${duckType(c.Type)}) AS ${ident(c.Name)}`)
    return `SELECT ${all.join(', ')} WHERE false`
  }
  if (hiveLayout(files, partitionKeys)) {
    const partitionColumns = partitionKeys.map((k) => `CAST(${ident(k.Name)} AS ${duckType(k.Type)}) AS ${ident(k.Name)}`)
    return `SELECT ${[...columnSelects(columns, format), ...partitionColumns].join(', ')} FROM ${reader(format, table, columns, withData.flatMap((p) => p.files), true)}`
  }
  return withData.map((p) => {
    const partitionColumns = partitionKeys.map((k, i) => `CAST(${literal(p.values[i] ?? '')} AS ${duckType(k.Type)}) AS ${ident(k.Name)}`)
    return `SELECT ${[...columnSelects(columns, format), ...partitionColumns].join(', ')} FROM ${reader(format, table, columns, p.files, false)}`
  }).join('\nUNION ALL\n')
}

/** CSV is read as text and cast (LazySimpleSerDe: a value that does not parse is NULL); parquet/JSON by name. */
function columnSelects(columns: GlueColumn[], format: TableFormat): string[] {
  return columns.map((c) => {
    const type = duckType(c.Type)
    if (format === 'csv') return type === 'VARCHAR' ? ident(c.Name) : `TRY_CAST(${ident(c.Name)} AS ${type}) AS ${ident(c.Name)}`
    return `CAST(${ident(c.Name)} AS ${type}) AS ${ident(c.Name)}`
  })
}

function reader(format: TableFormat, table: GlueTable, columns: GlueColumn[], files: ObjectFile[], hive: boolean): string {
  const list = `[${files.map((f) => literal(f.path)).join(', ')}]`
  // partition columns from the paths, as text (cast to their declared type by the caller)
  const partitions = hive ? ', hive_partitioning = true, hive_types_autocast = false' : ''
  if (format === 'parquet') return `read_parquet(${list}, union_by_name = true${partitions})`
  const struct = `{${columns.map((c) => `${literal(c.Name)}: ${literal(format === 'csv' ? 'VARCHAR' : duckType(c.Type))}`).join(', ')}}`
  if (format === 'json') return `read_json(${list}, format = 'newline_delimited', columns = ${struct}${partitions})`
  const serde = table.StorageDescriptor?.SerdeInfo?.Parameters ?? {}
  const delimiter = serde.separatorChar ?? serde['field.delim'] ?? ','
  const quote = serde.quoteChar ?? '"'
  const header = Number(table.Parameters?.['skip.header.line.count'] ?? '0') > 0
  const notNull = `[${columns.map((c) => literal(c.Name)).join(', ')}]`
  return `read_csv(${list}, header = ${header}, delim = ${literal(delimiter)}, quote = ${literal(quote)}, escape = ${literal(serde.escapeChar ?? quote)}, columns = ${struct}, auto_detect = false, force_not_null = ${notNull}, null_padding = true${partitions})`
}
