/** Types of the local Lambda runtime (module D of the local platform). */

export interface Credentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken: string
}

export interface LambdaRuntimeOptions {
  /** `<data>/lambda`: registry, code, extracted bundles, logs. */
  dataDir: string
  /** The local platform's endpoint, handed to functions as AWS_ENDPOINT_URL (read per invocation). */
  endpoint: () => string
  region: string
  /** Fresh credentials for the function's execution role, asked for on every invocation. */
  credentialsFor: (roleArn: string) => Promise<Credentials>
  /** At most this many invocations run at once (default 4); the rest wait in FIFO order. */
  maxConcurrent?: number
  /** Called after every finished invocation (e.g. to render `cape local` activity). Must not throw. */
  onInvocation?: (record: InvocationRecord) => void
}

/** What CloudFormation's AWS::Lambda::Function provisioner hands over. */
export interface FunctionDefinition {
  name: string
  arn: string
  roleArn: string
  /** `file.export`, e.g. `index.handler` (→ index.js, index.mjs or index.cjs in the bundle root). */
  handler: string
  /** nodejs18.x, nodejs20.x, nodejs22.x… (only Node.js runtimes can run locally). */
  runtime: string
  timeoutSeconds: number
  memoryMb: number
  environment: Record<string, string>
  /** The deployment package (a zip). */
  code: Buffer
}

/** A registered function as stored in functions.json (no code bytes). */
export interface FunctionInfo extends Omit<FunctionDefinition, 'code'> {
  codeSha256: string
  codeSize: number
  lastModified: string
}

export interface InvokeOptions {
  /**
   * true: wait for the outcome (like InvocationType=RequestResponse); a failing handler resolves with
   * status 'error' and the AWS error object as payload. Default false: queue it (like InvocationType=Event) and
   * resolve at once with status 'queued'; the outcome goes to the log and the recent-invocations list.
   */
  sync?: boolean
}

/** The AWS error object a failed invocation returns as its payload. */
export interface LambdaErrorObject {
  errorType: string
  errorMessage: string
  trace?: string[]
}

export interface InvokeResult {
  requestId: string
  functionName: string
  status: 'queued' | 'success' | 'error'
  /** sync only: the handler's result (JSON round-tripped, `undefined` → null), or the error object on failure. */
  payload?: unknown
  /** 'Unhandled' when the function failed (the X-Amz-Function-Error header of the Invoke API). */
  functionError?: 'Unhandled'
  errorType?: string
  errorMessage?: string
  durationMs?: number
  timedOut?: boolean
}

/** One finished invocation, kept in a short per-function list (newest last). */
export interface InvocationRecord {
  requestId: string
  functionName: string
  status: 'success' | 'error'
  startedAt: string
  endedAt: string
  /** Handler time (from the event hand-over to the answer), as in the REPORT line. */
  durationMs: number
  /** Node start + module load time (every local invocation is a cold start). */
  initDurationMs?: number
  maxMemoryUsedMb?: number
  timedOut: boolean
  errorType?: string
  errorMessage?: string
}

export interface FunctionActivity {
  invocations: number
  errors: number
  recent: InvocationRecord[]
}

export interface LambdaRuntime {
  /** Create or replace a function (code stored by sha256 and extracted once). */
  putFunction(fn: FunctionDefinition): Promise<void>
  /** Remove a function; a no-op when it does not exist. */
  deleteFunction(name: string): Promise<void>
  /** By name or ARN; undefined when unknown. */
  getFunction(nameOrArn: string): FunctionInfo | undefined
  listFunctions(): FunctionInfo[]
  invoke(functionArnOrName: string, event: unknown, opts?: InvokeOptions): Promise<InvokeResult>
  /** Counts and the last few invocations of one function (empty when it never ran). */
  activity(name: string): FunctionActivity
  /** Absolute path of the function's log file (`<data>/lambda/logs/<function>.log`). */
  logPath(name: string): string
  /** How many invocations are running / waiting right now. */
  load(): {running: number; queued: number}
  /** Resolves when no invocation is queued or running and all records are on disk (tests). */
  idle(): Promise<void>
  /** Kill running children, fail queued invocations, flush state. */
  close(): Promise<void>
}
