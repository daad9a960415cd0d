import {join} from 'node:path'
import pLimit from 'p-limit'
import type {EventBus} from '../events/rules.js'
import {decide} from '../iam/authz.js'
import type {IamStore} from '../iam/store.js'
import {createJsonHandler, JsonError, type JsonHandler, type JsonRequest} from '../json.js'
import {objectFilePath} from '../s3/object-files.js'
import {statementType} from './dialect.js'
import {QueryFailure, resultLocation, type QueryEngine} from './engine.js'
import {readResultsPage} from './results.js'
import type {AthenaStore, QueryExecution, WorkGroupConfiguration} from './store.js'

/**
 * The Athena API of the local platform (awsJson1_1, target prefix `AmazonAthena.`): workgroups and query
 * executions. StartQueryExecution answers at once and the query runs on DuckDB in the background (QUEUED → RUNNING →
 * SUCCEEDED | FAILED | CANCELLED), as on AWS. Each call is authorized as `athena:<Operation>` on the workgroup's ARN.
 */

export interface AthenaServiceDeps {
  store: AthenaStore
  engine: QueryEngine
  iam: IamStore
  region: string
  accountId: string
  objectsDir: string
  /** where "Athena Query State Change" events go (EventBridge rules) */
  events?: EventBus
  /** queries run at once; more wait QUEUED */
  concurrency?: number
}

const ERROR_CATEGORY = {system: 1, user: 2}
/** Athena's numeric ErrorType for the common failures (see Athena's error catalog). */
const ERROR_TYPE: Record<string, number> = {SYNTAX_ERROR: 1006, COLUMN_NOT_FOUND: 1006, TABLE_NOT_FOUND: 1006, FUNCTION_NOT_FOUND: 1006, PERMISSION_DENIED: 1004, NOT_SUPPORTED: 1006, USER_CANCELLED: 1001}

export function createAthenaService(deps: AthenaServiceDeps): JsonHandler {
  const {store, engine} = deps
  const limit = pLimit(deps.concurrency ?? 4)
  const tokens = new Map<string, string>()
  const workgroupArn = (name: string) => `arn:aws:athena:${deps.region}:${deps.accountId}:workgroup/${name}`
  const allow = (req: JsonRequest, workgroup: string) => {
    const resource = workgroupArn(workgroup)
    if (decide(deps.iam, req.principal, {action: `athena:${req.operation}`, resource}) !== 'allowed') {
      throw new JsonError('AccessDeniedException', `User: ${req.principal.arn} is not authorized to perform: athena:${req.operation} on resource: ${resource} because no identity-based policy allows the athena:${req.operation} action`)
    }
  }
  const executionOf = (req: JsonRequest) => {
    const id = String(req.input.QueryExecutionId ?? '')
    const execution = store.getExecution(id)
    allow(req, execution.WorkGroup)
    return execution
  }

  const start = (req: JsonRequest) => {
    const workgroupName = typeof req.input.WorkGroup === 'string' && req.input.WorkGroup !== '' ? req.input.WorkGroup : 'primary'
    allow(req, workgroupName)
    const workgroup = store.getWorkGroup(workgroupName)
    if (workgroup.State !== 'ENABLED') throw new JsonError('InvalidRequestException', `WorkGroup ${workgroupName} is disabled.`)
    // ClientRequestToken: the same token again (a retried call) is the same execution, as on AWS
    const token = typeof req.input.ClientRequestToken === 'string' ? req.input.ClientRequestToken : undefined
    const earlier = token ? tokens.get(token) : undefined
    if (earlier) return {QueryExecutionId: earlier}
    const sql = typeof req.input.QueryString === 'string' ? req.input.QueryString : ''
    if (sql.trim() === '') throw new JsonError('InvalidRequestException', 'QueryString must not be empty', 400, {AthenaErrorCode: 'INVALID_INPUT'})
    const outputLocation = outputLocationFor(workgroup.Configuration, req.input.ResultConfiguration as {OutputLocation?: string} | undefined)
    const context = (req.input.QueryExecutionContext ?? {}) as {Database?: string; Catalog?: string}
    const parameters = Array.isArray(req.input.ExecutionParameters) ? (req.input.ExecutionParameters as unknown[]).map(String) : []
    const execution = store.newExecution({
      Query: sql, StatementType: statementType(sql), ...(statementType(sql) === 'DML' ? {SubstatementType: 'SELECT'} : {}),
      ResultConfiguration: {OutputLocation: resultLocationUrl(outputLocation, '')}, QueryExecutionContext: {Database: context.Database ?? 'default', Catalog: context.Catalog ?? 'AwsDataCatalog'},
      WorkGroup: workgroupName, ...(parameters.length > 0 ? {ExecutionParameters: parameters} : {}),
    })
    execution.ResultConfiguration.OutputLocation = resultLocationUrl(outputLocation, execution.QueryExecutionId)
    store.saveExecution(execution)
    if (token) tokens.set(token, execution.QueryExecutionId)
    void limit(() => runExecution(execution, req, outputLocation, workgroup.Configuration.BytesScannedCutoffPerQuery))
    return {QueryExecutionId: execution.QueryExecutionId}
  }

  const runExecution = async (execution: QueryExecution, req: JsonRequest, outputLocation: string, bytesCutoff?: number) => {
    if (execution.Status.State !== 'QUEUED') return // stopped while queued
    const began = Date.now()
    changeState(execution, 'RUNNING')
    execution.Statistics.QueryQueueTimeInMillis = Math.round(began - execution.Status.SubmissionDateTime * 1000)
    store.saveExecution(execution)
    try {
      const outcome = await engine.run({
        id: execution.QueryExecutionId, sql: execution.Query, database: execution.QueryExecutionContext.Database ?? 'default', outputLocation,
        parameters: execution.ExecutionParameters ?? [], principal: req.principal, ...(bytesCutoff ? {bytesCutoff} : {}),
      })
      execution.Statistics.DataScannedInBytes = outcome.dataScannedBytes
      finish(execution, began, 'SUCCEEDED')
    } catch (error) {
      const failure = error instanceof QueryFailure ? error : new QueryFailure('GENERIC_INTERNAL_ERROR', `GENERIC_INTERNAL_ERROR: ${(error as Error).message}`, 'FAILED', false)
      execution.Status.StateChangeReason = failure.message
      execution.Status.AthenaError = {
        ErrorCategory: failure.userError ? ERROR_CATEGORY.user : ERROR_CATEGORY.system, ErrorType: ERROR_TYPE[failure.errorType] ?? 1006,
        Retryable: false, ErrorMessage: failure.message,
      }
      finish(execution, began, failure.state)
    }
  }

  /** Records a state and publishes Athena's "Athena Query State Change" event, as EventBridge receives it. */
  const changeState = (execution: QueryExecution, state: QueryExecution['Status']['State']) => {
    const previous = execution.Status.State
    execution.Status.State = state
    deps.events?.publish({
      source: 'aws.athena', detailType: 'Athena Query State Change',
      detail: {currentState: state, previousState: previous, queryExecutionId: execution.QueryExecutionId, sequenceNumber: String(++sequence), statementType: execution.StatementType, versionId: '0', workgroupName: execution.WorkGroup},
    })
  }
  let sequence = 0

  const finish = (execution: QueryExecution, began: number, state: QueryExecution['Status']['State']) => {
    const now = Date.now()
    changeState(execution, state)
    execution.Status.CompletionDateTime = now / 1000
    execution.Statistics.EngineExecutionTimeInMillis = now - began
    execution.Statistics.TotalExecutionTimeInMillis = Math.round(now - execution.Status.SubmissionDateTime * 1000)
    store.saveExecution(execution)
  }

  return createJsonHandler({
    StartQueryExecution: start,
    GetQueryExecution: (req) => ({QueryExecution: executionOf(req)}),
    BatchGetQueryExecution: (req) => {
      const ids = Array.isArray(req.input.QueryExecutionIds) ? (req.input.QueryExecutionIds as string[]) : []
      const found: QueryExecution[] = []
      const missing: Array<{QueryExecutionId: string; ErrorCode: string; ErrorMessage: string}> = []
      for (const id of ids) {
        try {
          found.push(executionOf({...req, input: {QueryExecutionId: id}}))
        } catch (error) {
          missing.push({QueryExecutionId: id, ErrorCode: (error as JsonError).code ?? 'InvalidRequestException', ErrorMessage: (error as Error).message})
        }
      }
      return {QueryExecutions: found, UnprocessedQueryExecutionIds: missing}
    },
    StopQueryExecution: (req) => {
      const execution = executionOf(req)
      if (execution.Status.State === 'QUEUED') finish(execution, Date.now(), 'CANCELLED')
      else if (execution.Status.State === 'RUNNING') engine.stop(execution.QueryExecutionId)
    },
    GetQueryResults: (req) => getResults(req),
    ListQueryExecutions: (req) => {
      const workgroup = typeof req.input.WorkGroup === 'string' && req.input.WorkGroup !== '' ? req.input.WorkGroup : 'primary'
      allow(req, workgroup)
      store.getWorkGroup(workgroup)
      const ids = store.listExecutions(workgroup)
      const from = typeof req.input.NextToken === 'string' ? Number(Buffer.from(req.input.NextToken, 'base64url').toString()) || 0 : 0
      const size = Math.min(typeof req.input.MaxResults === 'number' ? req.input.MaxResults : 50, 50)
      const page = ids.slice(from, from + size)
      return {QueryExecutionIds: page, ...(from + size < ids.length ? {NextToken: Buffer.from(String(from + size)).toString('base64url')} : {})}
    },
    ...workGroupOperations(store, allow),
  })

  async function getResults(req: JsonRequest) {
    const execution = executionOf(req)
    const state = execution.Status.State
    if (state === 'QUEUED' || state === 'RUNNING') throw new JsonError('InvalidRequestException', `Query has not yet finished. Current state: ${state}`, 400, {AthenaErrorCode: 'INVALID_INPUT'})
    if (state !== 'SUCCEEDED') throw new JsonError('InvalidRequestException', `${execution.Status.StateChangeReason ?? 'Query did not succeed'}`, 400, {AthenaErrorCode: 'INVALID_INPUT'})
    const {bucket, prefix: key} = splitUrl(execution.ResultConfiguration.OutputLocation ?? '')
    if (decide(deps.iam, req.principal, {action: 's3:GetObject', resource: `arn:aws:s3:::${bucket}/${key}`}) !== 'allowed') {
      throw new JsonError('InvalidRequestException', `Access denied when reading results: s3://${bucket}/${key}`, 400, {AthenaErrorCode: 'INVALID_INPUT'})
    }
    const max = typeof req.input.MaxResults === 'number' ? Math.min(Math.max(1, req.input.MaxResults), 1000) : 1000
    const page = await readResultsPage(objectFilePath(deps.objectsDir, bucket, key), req.input.NextToken as string | undefined, max)
    const metadata = await readMetadata(objectFilePath(deps.objectsDir, bucket, `${key}.metadata`))
    return {UpdateCount: 0, ResultSet: {Rows: page.rows, ResultSetMetadata: {ColumnInfo: metadata}}, ...(page.nextToken ? {NextToken: page.nextToken} : {})}
  }
}

function splitUrl(url: string): {bucket: string; prefix: string} {
  const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(url)
  return {bucket: m?.[1] ?? '', prefix: m?.[2] ?? ''}
}

async function readMetadata(path: string): Promise<unknown[]> {
  const {readFile} = await import('node:fs/promises')
  try {
    return (JSON.parse(await readFile(path, 'utf8')) as {columns: unknown[]}).columns
  } catch {
    return []
  }
}

/** The output location: the workgroup's when it enforces its settings (or the query gives none), else the query's. */
function outputLocationFor(config: WorkGroupConfiguration, requested?: {OutputLocation?: string}): string {
  const own = config.ResultConfiguration?.OutputLocation
  const location = config.EnforceWorkGroupConfiguration ? own : (requested?.OutputLocation ?? own)
  if (!location) {
    throw new JsonError('InvalidRequestException', 'No output location provided. An output location is required either through the Workgroup result configuration setting or as an API input.', 400, {AthenaErrorCode: 'INVALID_INPUT'})
  }
  if (!/^s3:\/\/[^/]+/.test(location)) throw new JsonError('InvalidRequestException', `OutputLocation ${location} is not an s3:// URL`, 400, {AthenaErrorCode: 'INVALID_INPUT'})
  return location
}

const resultLocationUrl = (outputLocation: string, id: string) => {
  if (id === '') return outputLocation
  const {bucket, key} = resultLocation(outputLocation, id)
  return `s3://${bucket}/${key}`
}

function workGroupOperations(store: AthenaStore, allow: (req: JsonRequest, wg: string) => void) {
  const nameOf = (req: JsonRequest, field = 'WorkGroup') => {
    const name = String(req.input[field] ?? '')
    allow(req, name)
    return name
  }
  return {
    CreateWorkGroup: (req: JsonRequest) => {
      store.createWorkGroup(nameOf(req, 'Name'), req.input.Configuration as WorkGroupConfiguration | undefined, req.input.Description as string | undefined)
    },
    GetWorkGroup: (req: JsonRequest) => ({WorkGroup: store.getWorkGroup(nameOf(req))}),
    ListWorkGroups: (req: JsonRequest) => {
      allow(req, '*')
      return {WorkGroups: store.listWorkGroups().map((w) => ({Name: w.Name, State: w.State, Description: w.Description ?? '', CreationTime: w.CreationTime, EngineVersion: w.Configuration.EngineVersion}))}
    },
    UpdateWorkGroup: (req: JsonRequest) => {
      const updates = (req.input.ConfigurationUpdates ?? {}) as WorkGroupConfiguration & {ResultConfigurationUpdates?: {OutputLocation?: string}}
      const {ResultConfigurationUpdates, ...rest} = updates
      store.updateWorkGroup(nameOf(req), {
        Configuration: {...rest, ...(ResultConfigurationUpdates?.OutputLocation ? {ResultConfiguration: {OutputLocation: ResultConfigurationUpdates.OutputLocation}} : {})},
        ...(typeof req.input.Description === 'string' ? {Description: req.input.Description} : {}),
        ...(req.input.State === 'ENABLED' || req.input.State === 'DISABLED' ? {State: req.input.State} : {}),
      })
    },
    DeleteWorkGroup: (req: JsonRequest) => {
      store.deleteWorkGroup(nameOf(req))
    },
  }
}

export const athenaDataDir = (dataDir: string) => join(dataDir, 'athena')
