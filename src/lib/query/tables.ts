import {CreateTableCommand, DeleteTableCommand, GetTablesCommand, UpdateTableCommand, type Table, type TableInput} from '@aws-sdk/client-glue'
import type {AwsClients} from '../aws/clients.js'
import {mapAwsError} from '../aws/errors.js'
import type {ResolvedEnvironment} from '../config/config.js'
import {loadDatasets, type Dataset, type Datasets} from '../ingest/datasets.js'
import {listPages} from '../lakehouse/list.js'
import {resolveZones} from '../lakehouse/zones.js'
import type {Reporter} from '../reporter.js'
import {glueType, tableBase} from './table-names.js'
import {resolveQueryTarget, type QueryTarget} from './target.js'

/**
 * The lakehouse's tables, made from the dataset definitions (never by a crawler). Per dataset:
 * - `<dataset>`: curated CSV at `s3://<curated>/<dataset>/ingest_date=…/`, every column `string` — Athena's
 *   OpenCSVSerDe reads quoted CSV but takes DATE only as days since 1970 and fails on empty numbers, so the typed
 *   view of the data is the parquet table; CAST in the query (the analyses in fixtures/analyses/ do);
 * - `<dataset>_parquet`: curated parquet at `s3://<curated>/<dataset>/parquet/ingest_date=…/`, typed columns;
 * - `raw_<dataset>`: raw CSV as it came in (canonical column names by position), for admins only.
 * All partitioned by `ingest_date` with partition projection: a new day's data is queryable the moment it is
 * stored — nothing to register, no crawler, no MSCK REPAIR.
 */

export const MANAGED = 'cape.managed'
export type TableFormat = 'csv' | 'parquet'

export interface TableBuckets {
  raw: string
  curated: string
}


const PARTITION = 'ingest_date'

function projection(location: string): Record<string, string> {
  return {
    'projection.enabled': 'true',
    [`projection.${PARTITION}.type`]: 'date',
    [`projection.${PARTITION}.format`]: 'yyyy-MM-dd',
    [`projection.${PARTITION}.range`]: '2000-01-01,NOW',
    [`projection.${PARTITION}.interval`]: '1',
    [`projection.${PARTITION}.interval.unit`]: 'DAYS',
    'storage.location.template': `${location}${PARTITION}=\${${PARTITION}}/`,
  }
}

function csvTable(name: string, dataset: Dataset, location: string, description: string): TableInput {
  return {
    Name: name,
    Description: description,
    TableType: 'EXTERNAL_TABLE',
    Parameters: {[MANAGED]: 'true', 'cape.dataset': dataset.name, classification: 'csv', 'skip.header.line.count': '1', ...projection(location)},
    PartitionKeys: [{Name: PARTITION, Type: 'string'}],
    StorageDescriptor: {
      Columns: dataset.columns.map((c) => ({Name: c.name.toLowerCase(), Type: 'string', Comment: `${c.type}${c.required ? ', required' : ''}`})),
      Location: location,
      InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
      OutputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
      SerdeInfo: {SerializationLibrary: 'org.apache.hadoop.hive.serde2.OpenCSVSerde', Parameters: {separatorChar: ',', quoteChar: '"', escapeChar: '\\'}},
    },
  }
}

function parquetTable(name: string, dataset: Dataset, location: string): TableInput {
  return {
    Name: name,
    Description: `${dataset.description ?? dataset.name}: curated parquet, typed columns`,
    TableType: 'EXTERNAL_TABLE',
    Parameters: {[MANAGED]: 'true', 'cape.dataset': dataset.name, classification: 'parquet', ...projection(location)},
    PartitionKeys: [{Name: PARTITION, Type: 'string'}],
    StorageDescriptor: {
      Columns: dataset.columns.map((c) => ({Name: c.name.toLowerCase(), Type: glueType(c.type)})),
      Location: location,
      InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
      OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
      SerdeInfo: {SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'},
    },
  }
}


/** The tables every dataset gets (see above). */
export function tableInputs(datasets: Datasets, buckets: TableBuckets): TableInput[] {
  return [...datasets.values()].flatMap((d) => {
    const base = tableBase(d.name)
    return [
      csvTable(base, d, `s3://${buckets.curated}/${d.name}/`, `${d.description ?? d.name}: curated CSV (columns as text)`),
      parquetTable(`${base}_parquet`, d, `s3://${buckets.curated}/${d.name}/parquet/`),
      csvTable(`raw_${base}`, d, `s3://${buckets.raw}/${d.name}/`, `${d.description ?? d.name}: raw uploads as they came (admin only)`),
    ]
  })
}

export interface SyncResult {
  created: string[]
  updated: string[]
  unchanged: string[]
  deleted: string[]
}

async function existingTables(clients: AwsClients, database: string): Promise<Table[]> {
  const tables: Table[] = []
  let NextToken: string | undefined
  do {
    const page = await clients.glue.send(new GetTablesCommand({DatabaseName: database, NextToken}))
    tables.push(...(page.TableList ?? []))
    NextToken = page.NextToken
  } while (NextToken)
  return tables
}

/** Same definition? (compares what cape writes; Glue adds its own fields) */
function sameTable(t: Table, input: TableInput): boolean {
  const pick = (x: Table | TableInput) => JSON.stringify([x.Parameters ?? {}, x.PartitionKeys ?? [], x.StorageDescriptor?.Columns ?? [], x.StorageDescriptor?.Location, x.StorageDescriptor?.SerdeInfo?.SerializationLibrary])
  return pick(t) === pick(input)
}

/** Creates or updates every dataset's tables; removes tables cape made for datasets that are gone. */
export async function syncTables(ctx: {clients: AwsClients; reporter?: Reporter}, target: QueryTarget, datasets: Datasets, buckets: TableBuckets): Promise<SyncResult> {
  const result: SyncResult = {created: [], updated: [], unchanged: [], deleted: []}
  try {
    const existing = new Map((await existingTables(ctx.clients, target.database)).map((t) => [t.Name!, t]))
    const wanted = tableInputs(datasets, buckets)
    for (const input of wanted) {
      const old = existing.get(input.Name!)
      if (!old) {
        await ctx.clients.glue.send(new CreateTableCommand({DatabaseName: target.database, TableInput: input}))
        result.created.push(input.Name!)
      } else if (sameTable(old, input)) {
        result.unchanged.push(input.Name!)
      } else {
        await ctx.clients.glue.send(new UpdateTableCommand({DatabaseName: target.database, TableInput: input}))
        result.updated.push(input.Name!)
      }
    }
    const names = new Set(wanted.map((t) => t.Name))
    for (const [name, t] of existing) {
      if (t.Parameters?.[MANAGED] === 'true' && !names.has(name)) {
        await ctx.clients.glue.send(new DeleteTableCommand({DatabaseName: target.database, Name: name}))
        result.deleted.push(name)
      }
    }
  } catch (error) {
    throw mapAwsError(error, {doing: `syncing the tables of Glue database ${target.database}`})
  }
  return result
}

export interface TableInfo {
  name: string
  dataset?: string
  format: string
  location: string
  columns: Array<{name: string; type: string}>
  partitionKeys: string[]
  /** partition values that hold data (listed from the storage location) */
  partitions: string[]
}

const formatOf = (t: Table) => (t.StorageDescriptor?.SerdeInfo?.SerializationLibrary ?? '').toLowerCase().includes('parquet') ? 'parquet' : t.Parameters?.classification ?? 'csv'

/** The database's tables with columns and the partitions that hold data (one S3 listing per table). */
export async function describeTables(clients: AwsClients, target: QueryTarget): Promise<TableInfo[]> {
  let tables: Table[]
  try {
    tables = await existingTables(clients, target.database)
  } catch (error) {
    throw mapAwsError(error, {doing: `listing the tables of Glue database ${target.database}`})
  }
  return Promise.all(tables.map(async (t) => ({
    name: t.Name!,
    ...(t.Parameters?.['cape.dataset'] ? {dataset: t.Parameters['cape.dataset']} : {}),
    format: formatOf(t),
    location: t.StorageDescriptor?.Location ?? '',
    columns: (t.StorageDescriptor?.Columns ?? []).map((c) => ({name: c.Name!, type: c.Type!})),
    partitionKeys: (t.PartitionKeys ?? []).map((k) => k.Name!),
    partitions: await partitionsWithData(clients, t),
  })))
}

/** `ingest_date=…/` folders under the location (empty when the caller may not list the bucket). */
async function partitionsWithData(clients: AwsClients, t: Table): Promise<string[]> {
  const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(t.StorageDescriptor?.Location ?? '')
  const key = t.PartitionKeys?.[0]?.Name
  if (!m || !key) return []
  const values: string[] = []
  try {
    for await (const page of listPages(clients.s3, {bucket: m[1]!, prefix: `${m[2]}${key}=`, recursive: false})) {
      for (const p of page.prefixes) values.push(p.slice(`${m[2]}${key}=`.length).replace(/\/$/, ''))
    }
  } catch {
    return []
  }
  return values
}

/**
 * The environment's tables in step with its datasets (built-in and cape.yaml): resolves the phase-2 database and
 * the phase-1 buckets, then syncTables. `cape deploy phase2` and `cape tables --sync` run it.
 */
export async function syncEnvironmentTables(ctx: {env: ResolvedEnvironment; clients: AwsClients; reporter?: Reporter}): Promise<SyncResult & {database: string}> {
  const target = await resolveQueryTarget(ctx)
  const {buckets} = await resolveZones(ctx)
  const result = await syncTables(ctx, target, loadDatasets(ctx.env.datasets), {raw: buckets.raw, curated: buckets.curated})
  return {database: target.database, ...result}
}
