import {randomUUID} from 'node:crypto'
import {appendFile, mkdir, readdir, rm} from 'node:fs/promises'
import {join} from 'node:path'

import pLimit, {type LimitFunction} from 'p-limit'

import {CapeError, inputRejected, notFoundError, remoteFailed} from '../../cli/errors.js'
import {ensureBootstrap} from './bootstrap.js'
import {type ChildOutcome, type RunningChild, runInChild} from './child.js'
import {CodeStore} from './code-store.js'
import {readJsonFile} from '../state-file.js'
import {JsonFileWriter} from './fs-util.js'
import type {
  Credentials,
  FunctionActivity,
  FunctionDefinition,
  FunctionInfo,
  InvocationRecord,
  InvokeOptions,
  InvokeResult,
  LambdaErrorObject,
  LambdaRuntime,
  LambdaRuntimeOptions,
} from './types.js'

/** Invocations kept per function in the recent list. */
export const RECENT_INVOCATIONS = 20
export const DEFAULT_MAX_CONCURRENT = 4

/**
 * Keys a function's environment may not set (AWS rejects them too): the runtime sets them per invocation.
 * AWS_ENDPOINT_URL is not reserved on AWS, but locally the platform's endpoint always wins.
 */
export const RESERVED_ENV_KEYS = new Set([
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_DEFAULT_REGION',
  'AWS_ENDPOINT_URL',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_TIMEOUT',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_LAMBDA_RUNTIME_API',
  'AWS_REGION',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'LAMBDA_RUNTIME_DIR',
  'LAMBDA_TASK_ROOT',
])

interface RegistryFile {
  version: 1
  functions: FunctionInfo[]
}

interface ActivityFile {
  version: 1
  functions: Record<string, FunctionActivity>
}

/** Start the local Lambda runtime on `<data>/lambda` (registry and code survive restarts). */
export async function createLambdaRuntime(options: LambdaRuntimeOptions): Promise<LambdaRuntime> {
  const runtime = new LocalLambdaRuntime(options)
  await runtime.start()
  return runtime
}

/**
 * Read the registry and recent activity of a data dir without starting a runtime (for `cape local status` in
 * another process than the platform).
 */
export async function readLambdaState(dataDir: string): Promise<{functions: FunctionInfo[]; activity: Record<string, FunctionActivity>}> {
  const registry = await readJsonFile<RegistryFile>(join(dataDir, 'functions.json'))
  const activity = await readJsonFile<ActivityFile>(join(dataDir, 'invocations.json'))
  return {functions: registry?.functions ?? [], activity: activity?.functions ?? {}}
}

class LocalLambdaRuntime implements LambdaRuntime {
  private readonly functions = new Map<string, FunctionInfo>()
  private readonly activities = new Map<string, FunctionActivity>()
  private readonly code: CodeStore
  private readonly limit: LimitFunction
  private readonly inflight = new Set<Promise<unknown>>()
  private readonly children = new Set<RunningChild>()
  /** sha256 → running invocations using that bundle (its folder is not deleted under them). */
  private readonly codeInUse = new Map<string, number>()
  private readonly logChains = new Map<string, Promise<void>>()
  private readonly registryWriter: JsonFileWriter
  private readonly activityWriter: JsonFileWriter
  private bootstrapPath = ''
  private closed = false

  constructor(private readonly options: LambdaRuntimeOptions) {
    const max = options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxConcurrent must be a positive integer, got ${max}`)
    this.limit = pLimit(max)
    this.code = new CodeStore(options.dataDir)
    this.registryWriter = new JsonFileWriter(join(options.dataDir, 'functions.json'), () => ({
      version: 1,
      functions: [...this.functions.values()].sort((a, b) => a.name.localeCompare(b.name)),
    }))
    this.activityWriter = new JsonFileWriter(join(options.dataDir, 'invocations.json'), () => ({
      version: 1,
      functions: Object.fromEntries(this.activities),
    }))
  }

  async start(): Promise<void> {
    const {dataDir} = this.options
    await mkdir(join(dataDir, 'logs'), {recursive: true})
    for (const name of await readdir(dataDir)) {
      if (name.endsWith('.tmp')) await rm(join(dataDir, name), {force: true}) // an interrupted atomic write
    }
    const state = await readLambdaState(dataDir)
    for (const fn of state.functions) this.functions.set(fn.name, fn)
    for (const [name, activity] of Object.entries(state.activity)) this.activities.set(name, activity)
    await this.code.gc(new Set([...this.functions.values()].map((f) => f.codeSha256)))
    this.bootstrapPath = await ensureBootstrap(join(dataDir, 'runtime'))
  }

  async putFunction(def: FunctionDefinition): Promise<void> {
    this.assertOpen()
    validateDefinition(def)
    const codeSha256 = await this.code.put(def.code)
    const previous = this.functions.get(def.name)
    this.functions.set(def.name, {
      name: def.name,
      arn: def.arn,
      roleArn: def.roleArn,
      handler: def.handler,
      runtime: def.runtime,
      timeoutSeconds: def.timeoutSeconds,
      memoryMb: def.memoryMb,
      environment: {...def.environment},
      codeSha256,
      codeSize: def.code.length,
      lastModified: new Date().toISOString(),
    })
    await this.registryWriter.schedule()
    if (previous && previous.codeSha256 !== codeSha256) await this.dropCodeIfUnused(previous.codeSha256)
  }

  async deleteFunction(name: string): Promise<void> {
    this.assertOpen()
    const fn = this.resolve(name)
    if (!fn) return
    this.functions.delete(fn.name)
    this.activities.delete(fn.name)
    await this.registryWriter.schedule()
    await this.activityWriter.schedule()
    await this.dropCodeIfUnused(fn.codeSha256)
  }

  getFunction(nameOrArn: string): FunctionInfo | undefined {
    const fn = this.resolve(nameOrArn)
    return fn ? structuredClone(fn) : undefined
  }

  listFunctions(): FunctionInfo[] {
    return [...this.functions.values()].sort((a, b) => a.name.localeCompare(b.name)).map((f) => structuredClone(f))
  }

  async invoke(functionArnOrName: string, event: unknown, opts: InvokeOptions = {}): Promise<InvokeResult> {
    const requestId = randomUUID()
    const refuse = (error: CapeError): InvokeResult => {
      if (opts.sync) throw error
      return {requestId, functionName: functionArnOrName, status: 'error', errorType: error.code, errorMessage: error.message}
    }
    if (this.closed) return refuse(remoteFailed('ServiceException', 'The local Lambda runtime is closed'))
    const fn = this.resolve(functionArnOrName)
    if (!fn) {
      return refuse(notFoundError('ResourceNotFoundException', `Function not found: ${functionArnOrName}`, [
        'Deploy the phase that defines it, or check the name with `cape local status`.',
      ]))
    }
    let payload: unknown
    try {
      // Like the Invoke API: the event is JSON; copying it now also shields the queued event from later mutation.
      payload = JSON.parse(JSON.stringify(event ?? null))
    } catch (error) {
      return refuse(inputRejected('InvalidRequestContentException', `The event is not JSON-serializable: ${(error as Error).message}`))
    }
    const snapshot = structuredClone(fn)
    const task = this.limit(() => this.execute(snapshot, payload, requestId))
    this.inflight.add(task)
    void task.finally(() => this.inflight.delete(task))
    if (opts.sync) return task
    return {requestId, functionName: fn.name, status: 'queued'}
  }

  activity(name: string): FunctionActivity {
    const found = this.activities.get(this.resolve(name)?.name ?? name)
    return found ? structuredClone(found) : {invocations: 0, errors: 0, recent: []}
  }

  logPath(name: string): string {
    return join(this.options.dataDir, 'logs', `${name}.log`)
  }

  load(): {running: number; queued: number} {
    return {running: this.limit.activeCount, queued: this.limit.pendingCount}
  }

  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight])
    await Promise.allSettled([...this.logChains.values()])
    await this.activityWriter.flush()
    await this.registryWriter.flush()
  }

  async close(): Promise<void> {
    this.closed = true
    for (const child of this.children) child.abort()
    await this.idle()
  }

  // ---------------------------------------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw remoteFailed('ServiceException', 'The local Lambda runtime is closed')
  }

  private resolve(ref: string): FunctionInfo | undefined {
    if (!ref.startsWith('arn:')) {
      const [name, qualifier] = ref.split(':')
      return qualifier === undefined || qualifier === '$LATEST' ? this.functions.get(name) : undefined
    }
    const m = /^(arn:[^:]+:lambda:[^:]*:[^:]*:function:[^:]+)(?::(.+))?$/.exec(ref)
    if (!m || (m[2] !== undefined && m[2] !== '$LATEST')) return undefined
    for (const fn of this.functions.values()) if (fn.arn === m[1]) return fn
    return undefined
  }

  private async dropCodeIfUnused(sha: string): Promise<void> {
    if ((this.codeInUse.get(sha) ?? 0) > 0) return // collected at the next start
    for (const fn of this.functions.values()) if (fn.codeSha256 === sha) return
    await this.code.remove(sha)
  }

  /** One invocation, inside a concurrency slot. Never rejects. */
  private async execute(fn: FunctionInfo, event: unknown, requestId: string): Promise<InvokeResult> {
    const startedAt = new Date()
    const base = {requestId, functionName: fn.name}
    let outcome: ChildOutcome | undefined
    let failure: LambdaErrorObject | undefined
    this.codeInUse.set(fn.codeSha256, (this.codeInUse.get(fn.codeSha256) ?? 0) + 1)
    try {
      if (this.closed) {
        failure = {errorType: 'Runtime.Aborted', errorMessage: 'The local platform shut down before the invocation started'}
      } else {
        const env = await this.environment(fn)
        const taskRoot = await this.code.ensureExtracted(fn.codeSha256)
        const child = runInChild({
          fn,
          bootstrapPath: this.bootstrapPath,
          taskRoot,
          requestId,
          event,
          env,
          logGroupName: `/aws/lambda/${fn.name}`,
          logStreamName: logStreamName(startedAt, requestId),
        })
        this.children.add(child)
        try {
          outcome = await child.done
        } finally {
          this.children.delete(child)
        }
        failure = failureOf(fn, requestId, outcome)
      }
    } catch (error) {
      failure = {errorType: 'ServiceException', errorMessage: `Could not start the invocation: ${(error as Error).message}`}
    } finally {
      const left = (this.codeInUse.get(fn.codeSha256) ?? 1) - 1
      if (left > 0) this.codeInUse.set(fn.codeSha256, left)
      else this.codeInUse.delete(fn.codeSha256)
    }

    const durationMs = outcome?.durationMs ?? 0
    const record: InvocationRecord = {
      ...base,
      status: failure ? 'error' : 'success',
      startedAt: startedAt.toISOString(),
      endedAt: new Date().toISOString(),
      durationMs: round2(durationMs),
      initDurationMs: outcome?.initDurationMs === undefined ? undefined : round2(outcome.initDurationMs),
      maxMemoryUsedMb: outcome?.maxMemoryUsedMb,
      timedOut: outcome?.timedOut ?? false,
      errorType: failure?.errorType,
      errorMessage: failure?.errorMessage,
    }
    await this.appendLog(fn, requestId, outcome, failure)
    this.remember(record)

    if (failure) {
      return {
        ...base,
        status: 'error',
        payload: failure,
        functionError: 'Unhandled',
        errorType: failure.errorType,
        errorMessage: failure.errorMessage,
        durationMs: record.durationMs,
        timedOut: record.timedOut,
      }
    }
    return {...base, status: 'success', payload: JSON.parse(outcome?.payloadJson ?? 'null'), durationMs: record.durationMs, timedOut: false}
  }

  /** Only what a Lambda sandbox has: never anything inherited from this process but PATH. */
  private async environment(fn: FunctionInfo): Promise<Record<string, string>> {
    let creds: Credentials
    try {
      creds = await this.options.credentialsFor(fn.roleArn)
    } catch (error) {
      throw new Error(`no credentials for the execution role ${fn.roleArn}: ${(error as Error).message}`)
    }
    const heapMb = Math.max(64, Math.floor(fn.memoryMb * 0.9))
    const nodeOptions = [fn.environment.NODE_OPTIONS, `--max-old-space-size=${heapMb}`].filter(Boolean).join(' ')
    const taskRoot = this.code.taskRoot(fn.codeSha256)
    return {
      // The local endpoint is s3rver: SDK v3 flexible checksums (aws-chunked bodies) corrupt objects there.
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
      TZ: 'UTC',
      ...fn.environment,
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      NODE_OPTIONS: nodeOptions,
      AWS_REGION: this.options.region,
      AWS_DEFAULT_REGION: this.options.region,
      AWS_ENDPOINT_URL: this.options.endpoint(),
      AWS_ACCESS_KEY_ID: creds.accessKeyId,
      AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
      AWS_SESSION_TOKEN: creds.sessionToken,
      AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
      AWS_LAMBDA_FUNCTION_NAME: fn.name,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
      AWS_LAMBDA_FUNCTION_TIMEOUT: String(fn.timeoutSeconds),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
      LAMBDA_TASK_ROOT: taskRoot,
      _HANDLER: fn.handler,
    }
  }

  private remember(record: InvocationRecord): void {
    if (!this.functions.has(record.functionName)) return // deleted meanwhile
    const activity = this.activities.get(record.functionName) ?? {invocations: 0, errors: 0, recent: []}
    activity.invocations += 1
    if (record.status === 'error') activity.errors += 1
    activity.recent.push(record)
    if (activity.recent.length > RECENT_INVOCATIONS) activity.recent.splice(0, activity.recent.length - RECENT_INVOCATIONS)
    this.activities.set(record.functionName, activity)
    this.activityWriter.schedule().catch(() => {}) // status only: a failed write is retried with the next record
    try {
      this.options.onInvocation?.(structuredClone(record))
    } catch {
      // a listener's bug must not break the runtime
    }
  }

  /** One contiguous block per invocation (START … REPORT), appended in completion order. */
  private async appendLog(fn: FunctionInfo, requestId: string, outcome: ChildOutcome | undefined, failure?: LambdaErrorObject): Promise<void> {
    const now = new Date().toISOString()
    const lines = [`START RequestId: ${requestId} Version: $LATEST\n`]
    if (outcome?.output) lines.push(outcome.output.endsWith('\n') ? outcome.output : `${outcome.output}\n`)
    let status = ''
    if (outcome?.timedOut) {
      lines.push(`${now} ${requestId} Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds\n`)
      status = '\tStatus: timeout'
    } else if (failure?.errorType === 'Runtime.ExitError') {
      lines.push(`${failure.errorMessage}\nRuntime.ExitError\n`)
      status = '\tStatus: error'
    } else if (failure) {
      lines.push(`${now}\t${requestId}\tERROR\tInvoke Error \t${JSON.stringify(failure)}\n`)
    }
    lines.push(`END RequestId: ${requestId}\n`)
    const duration = outcome?.durationMs ?? 0
    let report = `REPORT RequestId: ${requestId}\tDuration: ${duration.toFixed(2)} ms\tBilled Duration: ${Math.ceil(duration)} ms\tMemory Size: ${fn.memoryMb} MB`
    if (outcome?.maxMemoryUsedMb !== undefined) report += `\tMax Memory Used: ${outcome.maxMemoryUsedMb} MB`
    if (outcome?.initDurationMs !== undefined) report += `\tInit Duration: ${outcome.initDurationMs.toFixed(2)} ms`
    lines.push(`${report}${status}\n`)

    const path = this.logPath(fn.name)
    const previous = this.logChains.get(path) ?? Promise.resolve()
    const next = previous.then(() => appendFile(path, lines.join(''))).catch(() => {}) // logging never fails an invocation
    this.logChains.set(path, next)
    await next
    if (this.logChains.get(path) === next) this.logChains.delete(path)
  }
}

function failureOf(fn: FunctionInfo, requestId: string, outcome: ChildOutcome): LambdaErrorObject | undefined {
  if (outcome.answered) return outcome.error
  if (outcome.timedOut) return {errorType: 'Sandbox.Timedout', errorMessage: `Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds`}
  if (outcome.aborted) return {errorType: 'Runtime.Aborted', errorMessage: 'The local platform shut down during the invocation'}
  if (outcome.spawnError) return {errorType: 'ServiceException', errorMessage: `Could not start Node.js: ${outcome.spawnError.message}`}
  const how = outcome.exitSignal ? `signal: ${outcome.exitSignal}` : `exit status ${outcome.exitCode}`
  return {errorType: 'Runtime.ExitError', errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: ${how}`}
}

function validateDefinition(def: FunctionDefinition): void {
  const bad = (message: string) => inputRejected('InvalidParameterValueException', message)
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(def.name)) throw bad(`Invalid function name '${def.name}': use 1-64 letters, digits, - or _`)
  if (!validHandler(def.handler)) {
    throw bad(`Invalid handler '${def.handler}': expected file.export, e.g. index.handler`)
  }
  if (!/^nodejs\d+\.x$/.test(def.runtime)) {
    throw bad(`Runtime ${def.runtime} is not supported by the cape local platform: it runs Node.js functions (nodejs20.x) only`)
  }
  if (!Number.isInteger(def.timeoutSeconds) || def.timeoutSeconds < 1 || def.timeoutSeconds > 900) {
    throw bad(`Invalid timeout ${def.timeoutSeconds}: expected whole seconds from 1 to 900`)
  }
  if (!Number.isInteger(def.memoryMb) || def.memoryMb < 128 || def.memoryMb > 10_240) {
    throw bad(`Invalid memory size ${def.memoryMb}: expected MB from 128 to 10240`)
  }
  for (const [key, value] of Object.entries(def.environment ?? {})) {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(key)) throw bad(`Invalid environment variable name '${key}'`)
    if (RESERVED_ENV_KEYS.has(key)) throw bad(`Environment variable ${key} is reserved by the Lambda runtime`)
    if (typeof value !== 'string') throw bad(`Environment variable ${key} must be a string`)
  }
  if (!def.code || def.code.length === 0) throw bad('The deployment package (code) is empty')
}

/** `dir/file.export` with a non-empty file and export (the runtime's own split: first dot after the last slash). */
function validHandler(handler: string): boolean {
  if (/\s/.test(handler)) return false
  const rest = handler.slice(handler.lastIndexOf('/') + 1)
  const dot = rest.indexOf('.')
  return dot > 0 && dot < rest.length - 1
}

function logStreamName(at: Date, requestId: string): string {
  const day = at.toISOString().slice(0, 10).replaceAll('-', '/')
  return `${day}/[$LATEST]${requestId.replaceAll('-', '')}`
}

const round2 = (n: number) => Math.round(n * 100) / 100
