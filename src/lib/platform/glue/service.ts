import {decide} from '../iam/authz.js'
import type {IamStore} from '../iam/store.js'
import type {Principal} from '../identity.js'
import {createJsonHandler, JsonError, type JsonHandler, type JsonRequest} from '../json.js'
import type {DatabaseInput, GlueCatalog, TableInput} from './catalog.js'

/**
 * The Glue API of the local platform (awsJson1_1, target prefix `AWSGlue.`): the catalog operations cape, its
 * templates and Athena clients use. Every call is authorized like on AWS: `glue:<Operation>` on the catalog, the
 * database and (for table calls) the table ARN — all of them must be allowed.
 */

export interface GlueResources {
  catalog: string
  database: (db: string) => string
  table: (db: string, table: string) => string
}

export function glueArns(region: string, accountId: string): GlueResources {
  const base = `arn:aws:glue:${region}:${accountId}`
  return {
    catalog: `${base}:catalog`,
    database: (db) => `${base}:database/${db.toLowerCase()}`,
    table: (db, table) => `${base}:table/${db.toLowerCase()}/${table.toLowerCase()}`,
  }
}

/** Throws AccessDeniedException unless `principal` may run glue:<action> on every resource. */
export function authorizeGlue(iam: IamStore, principal: Principal | undefined, action: string, resources: string[]): void {
  for (const resource of resources) {
    if (decide(iam, principal, {action: `glue:${action}`, resource}) !== 'allowed') {
      throw new JsonError('AccessDeniedException', `User: ${principal?.arn ?? 'anonymous'} is not authorized to perform: glue:${action} on resource: ${resource} because no identity-based policy allows the glue:${action} action`)
    }
  }
}

const str = (input: Record<string, unknown>, field: string): string => {
  const v = input[field]
  if (typeof v !== 'string' || v === '') throw new JsonError('InvalidInputException', `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`)
  return v
}

/** Pages a sorted list with a NextToken that is the index of the next item (opaque to clients). */
function page<T>(items: T[], input: Record<string, unknown>, max = 100): {items: T[]; NextToken?: string} {
  const start = typeof input.NextToken === 'string' ? Number.parseInt(Buffer.from(input.NextToken, 'base64url').toString(), 10) || 0 : 0
  const size = typeof input.MaxResults === 'number' && input.MaxResults > 0 ? Math.min(input.MaxResults, max) : max
  const slice = items.slice(start, start + size)
  return {items: slice, ...(start + size < items.length ? {NextToken: Buffer.from(String(start + size)).toString('base64url')} : {})}
}

/** Glue's `Expression` filter for GetTables/GetDatabases: a regex-like pattern where `*` matches anything. */
function matches(expression: unknown, name: string): boolean {
  if (typeof expression !== 'string' || expression === '') return true
  const alternatives = expression.split('|').map((p) => new RegExp(`^${p.replaceAll(/[.+?^${}()[\]\\]/g, '\\$&').replaceAll('*', '.*')}$`, 'i'))
  return alternatives.some((r) => r.test(name))
}

export function createGlueService(catalog: GlueCatalog, iam: IamStore, region: string): JsonHandler {
  const arns = glueArns(region, catalog.accountId)
  const allow = (req: JsonRequest, ...resources: string[]) => authorizeGlue(iam, req.principal, req.operation, [arns.catalog, ...resources])
  const dbOf = (req: JsonRequest, field = 'DatabaseName') => {
    const db = str(req.input, field)
    allow(req, arns.database(db))
    return db
  }
  const tableOf = (req: JsonRequest, field = 'Name') => {
    const db = str(req.input, 'DatabaseName')
    const table = field === 'TableInput' ? str((req.input.TableInput ?? {}) as Record<string, unknown>, 'Name') : str(req.input, field)
    allow(req, arns.database(db), arns.table(db, table))
    return {db, table}
  }
  return createJsonHandler({
    CreateDatabase: (req) => {
      const input = (req.input.DatabaseInput ?? {}) as DatabaseInput
      allow(req, arns.database(String(input.Name ?? '')))
      catalog.createDatabase(input)
    },
    GetDatabase: (req) => ({Database: catalog.getDatabase(dbOf(req, 'Name'))}),
    GetDatabases: (req) => {
      allow(req, arns.database('*'))
      const {items, NextToken} = page(catalog.listDatabases(), req.input)
      return {DatabaseList: items, ...(NextToken ? {NextToken} : {})}
    },
    UpdateDatabase: (req) => catalog.updateDatabase(dbOf(req, 'Name'), req.input.DatabaseInput as DatabaseInput),
    DeleteDatabase: (req) => {
      const db = str(req.input, 'Name')
      allow(req, arns.database(db), arns.table(db, '*'))
      catalog.deleteDatabase(db)
    },
    CreateTable: (req) => {
      const {db} = tableOf(req, 'TableInput')
      catalog.createTable(db, req.input.TableInput as TableInput)
    },
    UpdateTable: (req) => {
      const {db} = tableOf(req, 'TableInput')
      catalog.updateTable(db, req.input.TableInput as TableInput)
    },
    GetTable: (req) => {
      const {db, table} = tableOf(req)
      return {Table: catalog.getTable(db, table)}
    },
    GetTables: (req) => {
      const db = str(req.input, 'DatabaseName')
      allow(req, arns.database(db), arns.table(db, '*'))
      const tables = catalog.listTables(db).filter((t) => matches(req.input.Expression, t.Name))
      const {items, NextToken} = page(tables, req.input)
      return {TableList: items, ...(NextToken ? {NextToken} : {})}
    },
    DeleteTable: (req) => {
      const {db, table} = tableOf(req)
      catalog.deleteTable(db, table)
    },
    BatchDeleteTable: (req) => {
      const db = str(req.input, 'DatabaseName')
      const names = Array.isArray(req.input.TablesToDelete) ? (req.input.TablesToDelete as string[]) : []
      allow(req, arns.database(db), ...names.map((t) => arns.table(db, t)))
      const Errors = []
      for (const name of names) {
        try {
          catalog.deleteTable(db, name)
        } catch (error) {
          Errors.push({TableName: name, ErrorDetail: {ErrorCode: (error as JsonError).code, ErrorMessage: (error as Error).message}})
        }
      }
      return {Errors}
    },
    GetPartitions: (req) => {
      const {db, table} = tableOf(req, 'TableName')
      const {items, NextToken} = page(catalog.listPartitions(db, table), req.input, 1000)
      return {Partitions: items, ...(NextToken ? {NextToken} : {})}
    },
    BatchCreatePartition: (req) => {
      const {db, table} = tableOf(req, 'TableName')
      const inputs = Array.isArray(req.input.PartitionInputList) ? req.input.PartitionInputList : []
      return {Errors: catalog.createPartitions(db, table, inputs as Array<{Values: string[]}>)}
    },
    CreatePartition: (req) => {
      const {db, table} = tableOf(req, 'TableName')
      const [error] = catalog.createPartitions(db, table, [req.input.PartitionInput as {Values: string[]}])
      if (error) throw new JsonError(error.ErrorDetail.ErrorCode, error.ErrorDetail.ErrorMessage)
    },
    DeletePartition: (req) => {
      const {db, table} = tableOf(req, 'TableName')
      catalog.deletePartition(db, table, (req.input.PartitionValues ?? []) as string[])
    },
  })
}
