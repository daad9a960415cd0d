import {join} from 'node:path'
import {JsonError} from '../json.js'
import {readJsonFileSync, writeJsonFileSync} from '../state-file.js'

/**
 * The local Glue Data Catalog: databases, tables and registered partitions, in Glue's own shapes (what GetTable
 * answers), persisted in `<data>/glue/catalog.json` (atomic writes). The Glue API, the CloudFormation provider of
 * AWS::Glue::Database / AWS::Glue::Table and the local Athena engine all read and write through this one store.
 */

export interface GlueColumn {
  Name: string
  Type: string
  Comment?: string
}

export interface StorageDescriptor {
  Columns?: GlueColumn[]
  Location?: string
  InputFormat?: string
  OutputFormat?: string
  SerdeInfo?: {Name?: string; SerializationLibrary?: string; Parameters?: Record<string, string>}
  Compressed?: boolean
  Parameters?: Record<string, string>
  [more: string]: unknown
}

export interface DatabaseInput {
  Name: string
  Description?: string
  LocationUri?: string
  Parameters?: Record<string, string>
}

export interface GlueDatabase extends DatabaseInput {
  CatalogId: string
  CreateTime: number
}

export interface TableInput {
  Name: string
  Description?: string
  Owner?: string
  StorageDescriptor?: StorageDescriptor
  PartitionKeys?: GlueColumn[]
  TableType?: string
  Parameters?: Record<string, string>
  [more: string]: unknown
}

export interface GlueTable extends TableInput {
  DatabaseName: string
  CatalogId: string
  CreateTime: number
  UpdateTime: number
  VersionId: string
  IsRegisteredWithLakeFormation: boolean
}

export interface GluePartition {
  Values: string[]
  DatabaseName: string
  TableName: string
  CatalogId: string
  CreationTime: number
  StorageDescriptor?: StorageDescriptor
  Parameters?: Record<string, string>
}

interface CatalogFile {
  databases: Record<string, GlueDatabase>
  tables: Record<string, Record<string, GlueTable>>
  partitions: Record<string, GluePartition[]>
}

const NAME = /^[\w-]{1,255}$/
/** Glue stores database and table names in lower case. */
const norm = (name: string) => name.toLowerCase()
const now = () => Date.now() / 1000
const partitionKey = (db: string, table: string) => `${db}/${table}`

export const entityNotFound = (what: string) => new JsonError('EntityNotFoundException', `${what} not found.`)

export class GlueCatalog {
  readonly accountId: string
  private readonly path: string
  private state: CatalogFile

  constructor(dataDir: string, accountId: string) {
    this.accountId = accountId
    this.path = join(dataDir, 'catalog.json')
    this.state = readJsonFileSync<CatalogFile>(this.path) ?? {databases: {}, tables: {}, partitions: {}}
  }

  private save(): void {
    writeJsonFileSync(this.path, this.state)
  }

  listDatabases(): GlueDatabase[] {
    return Object.values(this.state.databases).sort((a, b) => a.Name.localeCompare(b.Name))
  }

  getDatabase(name: string): GlueDatabase {
    const db = this.state.databases[norm(name)]
    if (!db) throw entityNotFound(`Database ${name}`)
    return db
  }

  createDatabase(input: DatabaseInput): GlueDatabase {
    const name = validName(input?.Name, 'DatabaseInput.Name')
    if (this.state.databases[name]) throw new JsonError('AlreadyExistsException', 'Database already exists.')
    const db: GlueDatabase = {...input, Name: name, CatalogId: this.accountId, CreateTime: now()}
    this.state.databases[name] = db
    this.state.tables[name] = {}
    this.save()
    return db
  }

  updateDatabase(name: string, input: DatabaseInput): void {
    const db = this.getDatabase(name)
    this.state.databases[db.Name] = {...input, Name: db.Name, CatalogId: db.CatalogId, CreateTime: db.CreateTime}
    this.save()
  }

  /** Deletes the database with its tables and partitions, as Glue does. */
  deleteDatabase(name: string): void {
    const db = this.getDatabase(name)
    for (const table of Object.keys(this.state.tables[db.Name] ?? {})) delete this.state.partitions[partitionKey(db.Name, table)]
    delete this.state.tables[db.Name]
    delete this.state.databases[db.Name]
    this.save()
  }

  listTables(database: string): GlueTable[] {
    const db = this.getDatabase(database)
    return Object.values(this.state.tables[db.Name] ?? {}).sort((a, b) => a.Name.localeCompare(b.Name))
  }

  getTable(database: string, name: string): GlueTable {
    const db = this.getDatabase(database)
    const table = this.state.tables[db.Name]?.[norm(name)]
    if (!table) throw entityNotFound(`Table ${name}`)
    return table
  }

  createTable(database: string, input: TableInput): GlueTable {
    const db = this.getDatabase(database)
    const name = validName(input?.Name, 'TableInput.Name')
    const tables = (this.state.tables[db.Name] ??= {})
    if (tables[name]) throw new JsonError('AlreadyExistsException', `Table already exists.`)
    const t = now()
    const table: GlueTable = {...normalizeTableInput(input), Name: name, DatabaseName: db.Name, CatalogId: this.accountId, CreateTime: t, UpdateTime: t, VersionId: '0', IsRegisteredWithLakeFormation: false}
    tables[name] = table
    this.save()
    return table
  }

  updateTable(database: string, input: TableInput): GlueTable {
    const old = this.getTable(database, validName(input?.Name, 'TableInput.Name'))
    const table: GlueTable = {
      ...normalizeTableInput(input), Name: old.Name, DatabaseName: old.DatabaseName, CatalogId: old.CatalogId, CreateTime: old.CreateTime,
      UpdateTime: now(), VersionId: String(Number(old.VersionId) + 1), IsRegisteredWithLakeFormation: false,
    }
    this.state.tables[old.DatabaseName]![old.Name] = table
    this.save()
    return table
  }

  deleteTable(database: string, name: string): void {
    const table = this.getTable(database, name)
    delete this.state.tables[table.DatabaseName]![table.Name]
    delete this.state.partitions[partitionKey(table.DatabaseName, table.Name)]
    this.save()
  }

  listPartitions(database: string, table: string): GluePartition[] {
    const t = this.getTable(database, table)
    return this.state.partitions[partitionKey(t.DatabaseName, t.Name)] ?? []
  }

  /** Registers partitions; those whose values exist already are returned as errors (BatchCreatePartition's shape). */
  createPartitions(database: string, table: string, inputs: Array<{Values: string[]; StorageDescriptor?: StorageDescriptor; Parameters?: Record<string, string>}>): Array<{PartitionValues: string[]; ErrorDetail: {ErrorCode: string; ErrorMessage: string}}> {
    const t = this.getTable(database, table)
    const list = (this.state.partitions[partitionKey(t.DatabaseName, t.Name)] ??= [])
    const errors = []
    for (const input of inputs) {
      const values = input.Values ?? []
      if (values.length !== (t.PartitionKeys ?? []).length) {
        errors.push({PartitionValues: values, ErrorDetail: {ErrorCode: 'InvalidInputException', ErrorMessage: `The number of partition values (${values.length}) does not match the number of partition keys (${(t.PartitionKeys ?? []).length}).`}})
      } else if (list.some((p) => sameValues(p.Values, values))) {
        errors.push({PartitionValues: values, ErrorDetail: {ErrorCode: 'AlreadyExistsException', ErrorMessage: 'Partition already exists.'}})
      } else {
        list.push({Values: values, DatabaseName: t.DatabaseName, TableName: t.Name, CatalogId: this.accountId, CreationTime: now(), StorageDescriptor: input.StorageDescriptor, Parameters: input.Parameters})
      }
    }
    this.save()
    return errors
  }

  deletePartition(database: string, table: string, values: string[]): void {
    const t = this.getTable(database, table)
    const key = partitionKey(t.DatabaseName, t.Name)
    const list = this.state.partitions[key] ?? []
    const index = list.findIndex((p) => sameValues(p.Values, values))
    if (index < 0) throw entityNotFound('Partition')
    list.splice(index, 1)
    this.save()
  }
}

const sameValues = (a: string[], b: string[]) => a.length === b.length && a.every((v, i) => v === b[i])

function validName(name: unknown, field: string): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new JsonError('InvalidInputException', `1 validation error detected: Value '${String(name)}' at '${field}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\t]*`)
  }
  return norm(name)
}

/** Glue lower-cases column names (Hive semantics). */
function normalizeTableInput(input: TableInput): TableInput {
  const lower = (cols?: GlueColumn[]) => cols?.map((c) => ({...c, Name: c.Name.toLowerCase()}))
  const sd = input.StorageDescriptor
  return {
    ...input,
    ...(sd ? {StorageDescriptor: {...sd, Columns: lower(sd.Columns)}} : {}),
    ...(input.PartitionKeys ? {PartitionKeys: lower(input.PartitionKeys)} : {}),
  }
}
