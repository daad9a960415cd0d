import type {ColumnType} from '../ingest/datasets.js'

/** Names and types shared by the tables (src/lib/query/tables.ts) and the SQL requests compile to. */

const GLUE_TYPES: Record<ColumnType, string> = {string: 'string', integer: 'bigint', number: 'double', boolean: 'boolean', date: 'date', timestamp: 'timestamp'}
/** A dataset column type as a Glue (Hive) column type. */
export const glueType = (t: ColumnType) => GLUE_TYPES[t] ?? 'string'

/** Glue names are lower case; a dataset name with `-` becomes `_` so it needs no quoting in SQL. */
export const tableBase = (dataset: string) => dataset.toLowerCase().replaceAll('-', '_')
