import {randomUUID} from 'node:crypto'
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {JsonError} from '../json.js'
import {readJsonFileSync, writeJsonFileSync} from '../state-file.js'

/**
 * Athena's state on the local platform: workgroups (`primary` always exists, as on AWS) in
 * `<data>/athena/workgroups.json`, and one file per query execution in `<data>/athena/executions/<id>.json`, in the
 * shapes GetWorkGroup and GetQueryExecution answer.
 */

export interface WorkGroupConfiguration {
  ResultConfiguration?: {OutputLocation?: string; [more: string]: unknown}
  EnforceWorkGroupConfiguration?: boolean
  PublishCloudWatchMetricsEnabled?: boolean
  BytesScannedCutoffPerQuery?: number
  RequesterPaysEnabled?: boolean
  EngineVersion?: {SelectedEngineVersion?: string; EffectiveEngineVersion?: string}
  [more: string]: unknown
}

export interface WorkGroup {
  Name: string
  State: 'ENABLED' | 'DISABLED'
  Configuration: WorkGroupConfiguration
  Description?: string
  CreationTime: number
}

export type QueryState = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED'

export interface QueryExecution {
  QueryExecutionId: string
  Query: string
  StatementType: string
  SubstatementType?: string
  ResultConfiguration: {OutputLocation?: string}
  QueryExecutionContext: {Database?: string; Catalog?: string}
  Status: {
    State: QueryState
    StateChangeReason?: string
    SubmissionDateTime: number
    CompletionDateTime?: number
    AthenaError?: {ErrorCategory: number; ErrorType: number; Retryable: boolean; ErrorMessage: string}
  }
  Statistics: {
    EngineExecutionTimeInMillis: number
    DataScannedInBytes: number
    TotalExecutionTimeInMillis: number
    QueryQueueTimeInMillis: number
    ServiceProcessingTimeInMillis: number
    QueryPlanningTimeInMillis?: number
  }
  WorkGroup: string
  EngineVersion: {SelectedEngineVersion: string; EffectiveEngineVersion: string}
  ExecutionParameters?: string[]
}

export const ENGINE_VERSION = {SelectedEngineVersion: 'AUTO', EffectiveEngineVersion: 'Athena engine version 3'}
const WORKGROUP_NAME = /^[a-zA-Z0-9._-]{1,128}$/

export class AthenaStore {
  private readonly dir: string
  private workgroups: Record<string, WorkGroup>
  private readonly executions = new Map<string, QueryExecution>()

  constructor(dataDir: string) {
    this.dir = dataDir
    this.workgroups = readJsonFileSync<Record<string, WorkGroup>>(join(dataDir, 'workgroups.json')) ?? {}
    this.workgroups.primary ??= {Name: 'primary', State: 'ENABLED', Configuration: {EnforceWorkGroupConfiguration: false, PublishCloudWatchMetricsEnabled: false, EngineVersion: ENGINE_VERSION}, CreationTime: Date.now() / 1000}
  }

  private saveWorkGroups(): void {
    writeJsonFileSync(join(this.dir, 'workgroups.json'), this.workgroups)
  }

  listWorkGroups(): WorkGroup[] {
    return Object.values(this.workgroups).sort((a, b) => a.Name.localeCompare(b.Name))
  }

  getWorkGroup(name: string): WorkGroup {
    const wg = this.workgroups[name]
    if (!wg) throw new JsonError('InvalidRequestException', `WorkGroup ${name} is not found.`)
    return wg
  }

  createWorkGroup(name: string, configuration: WorkGroupConfiguration = {}, description?: string): WorkGroup {
    if (!WORKGROUP_NAME.test(name)) throw new JsonError('InvalidRequestException', `1 validation error detected: Value '${name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9._-]{1,128}`)
    if (this.workgroups[name]) throw new JsonError('InvalidRequestException', 'WorkGroup is already created')
    const wg: WorkGroup = {Name: name, State: 'ENABLED', Configuration: {EngineVersion: ENGINE_VERSION, ...configuration}, CreationTime: Date.now() / 1000, ...(description ? {Description: description} : {})}
    this.workgroups[name] = wg
    this.saveWorkGroups()
    return wg
  }

  updateWorkGroup(name: string, update: {Configuration?: WorkGroupConfiguration; Description?: string; State?: 'ENABLED' | 'DISABLED'}): void {
    const wg = this.getWorkGroup(name)
    this.workgroups[name] = {
      ...wg,
      ...(update.Configuration ? {Configuration: {...wg.Configuration, ...update.Configuration}} : {}),
      ...(update.Description === undefined ? {} : {Description: update.Description}),
      ...(update.State ? {State: update.State} : {}),
    }
    this.saveWorkGroups()
  }

  deleteWorkGroup(name: string): void {
    if (name === 'primary') throw new JsonError('InvalidRequestException', 'Cannot delete primary workgroup')
    this.getWorkGroup(name)
    delete this.workgroups[name]
    this.saveWorkGroups()
  }

  newExecution(input: Omit<QueryExecution, 'QueryExecutionId' | 'Status' | 'Statistics' | 'EngineVersion'>): QueryExecution {
    const execution: QueryExecution = {
      ...input,
      QueryExecutionId: randomUUID(),
      Status: {State: 'QUEUED', SubmissionDateTime: Date.now() / 1000},
      Statistics: {EngineExecutionTimeInMillis: 0, DataScannedInBytes: 0, TotalExecutionTimeInMillis: 0, QueryQueueTimeInMillis: 0, ServiceProcessingTimeInMillis: 0},
      EngineVersion: ENGINE_VERSION,
    }
    this.saveExecution(execution)
    return execution
  }

  saveExecution(execution: QueryExecution): void {
    this.executions.set(execution.QueryExecutionId, execution)
    writeJsonFileSync(join(this.dir, 'executions', `${execution.QueryExecutionId}.json`), execution)
  }

  getExecution(id: string): QueryExecution {
    const found = this.executions.get(id) ?? (/^[\w-]{1,128}$/.test(id) ? readJsonFileSync<QueryExecution>(join(this.dir, 'executions', `${id}.json`)) : undefined)
    if (!found) throw new JsonError('InvalidRequestException', `QUERY_NOT_FOUND: Query ${id} was not found`, 400, {AthenaErrorCode: 'INVALID_INPUT'})
    return found
  }

  /** Execution ids of a workgroup, most recent first. */
  listExecutions(workgroup: string): string[] {
    let files: string[]
    try {
      files = readdirSync(join(this.dir, 'executions')).filter((f) => f.endsWith('.json'))
    } catch {
      return []
    }
    return files
      .map((f) => this.getExecution(f.slice(0, -5)))
      .filter((e) => e.WorkGroup === workgroup)
      .sort((a, b) => b.Status.SubmissionDateTime - a.Status.SubmissionDateTime)
      .map((e) => e.QueryExecutionId)
  }
}
