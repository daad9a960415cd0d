import {GetObjectCommand, PutObjectCommand, type S3Client} from '@aws-sdk/client-s3'
import type {Datasets} from '../ingest/datasets.js'
import {postCallback, type CallbackOptions} from './callback.js'
import {engineAvailable, queryExecution, readQueryIndex, startOnEngine, writeEngineResult, type EngineDeps} from './engine.js'
import {extract} from './extract.js'
import {callbackUrlProblem, MAX_REQUEST_BYTES, parseRequestText, validateRequest} from './schema.js'
import {ID_PATTERN, REQUEST_FILE, REQUEST_META, statusKey, type RequestStatus} from './status.js'

/**
 * What the extractor function does with one `<id>/request.json` upload: status `running`, validate again (the
 * bucket is an API), extract, final status (`succeeded` | `failed` with the reason), then the callback. A timer
 * fires before the function's own timeout and records `failed: timed out`, so no request stays `running`.
 */

export interface ExtractorDeps {
  s3: S3Client
  curatedBucket: string
  resultsBucket: string
  rowsPerFile: number
  datasets: Datasets
  /** Milliseconds left before the function is stopped (context.getRemainingTimeInMillis). */
  remainingMs: () => number
  /** Structured log line (the function prints it). */
  log?: (entry: Record<string, unknown>) => void
  callback?: Pick<CallbackOptions, 'timeoutMs' | 'retries' | 'backoffMs' | 'policy' | 'tls'>
  /** The query engine (phase 2): requests run there when its workgroup answers, else they are streamed here. */
  engine?: EngineDeps
}

export interface RequestRecord {
  bucket: string
  key: string
  /** userIdentity.principalId of the S3 event. */
  uploader?: string
}

/** `<id>/request.json` → id; anything else (a root `request.json`, `x-request.json`, a nested key) → undefined. */
export function idFromKey(key: string): string | undefined {
  const suffix = `/${REQUEST_FILE}`
  if (!key.endsWith(suffix)) return undefined
  const id = key.slice(0, -suffix.length)
  return ID_PATTERN.test(id) ? id : undefined
}

/** Time kept back from the function's timeout to write the `timed out` status: 5 % of it, 1–10 s. */
export const timeoutMargin = (remainingMs: number) => Math.min(10_000, Math.max(1_000, Math.round(remainingMs * 0.05)))

class StatusWriter {
  private chain: Promise<unknown> = Promise.resolve()
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly id: string,
  ) {}

  /** Writes are serialised, so a later status can never be overtaken by an earlier one. */
  put(status: RequestStatus): Promise<void> {
    const p = this.chain.then(() =>
      this.s3.send(new PutObjectCommand({Bucket: this.bucket, Key: statusKey(this.id), Body: `${JSON.stringify(status, null, 2)}\n`, ContentType: 'application/json'})),
    )
    this.chain = p.catch(() => undefined)
    return p.then(() => undefined)
  }
}

const errorText = (e: unknown): string => {
  const err = e as Error & {name?: string; $metadata?: unknown}
  if (err?.$metadata && err.name && !err.message?.includes(err.name)) return `${err.name}: ${err.message}`
  return err?.message ?? String(e)
}

/** The one way a request ends: the final status, then the callback (once), then the status with its outcome. */
function finalizer(deps: ExtractorDeps, writer: StatusWriter, status: RequestStatus, callbackUrl: () => string | undefined, deadline: number) {
  const log = deps.log ?? (() => {})
  let finalized: Promise<RequestStatus> | undefined
  return (final: Partial<RequestStatus> & {state: 'succeeded' | 'failed'}): Promise<RequestStatus> => {
    finalized ??= (async () => {
      const {deadline: _running, ...rest} = status
      const done: RequestStatus = {...rest, ...final, finishedAt: new Date().toISOString()}
      await writer.put(done)
      log({id: status.id, state: done.state, rows: done.rows, files: done.files.length, reason: done.reason})
      const url = callbackUrl()
      if (url === undefined) return done
      const outcome = await postCallback(url, done, {...deps.callback, deadline: deadline - 500})
      log({id: status.id, callback: outcome})
      const withCallback = {...done, callback: outcome}
      await writer.put(withCallback)
      return withCallback
    })()
    return finalized
  }
}

/** How long a request may run on the query engine before its `running` status counts as stale. */
export const ENGINE_DEADLINE_MS = 35 * 60_000

/** Handle one request upload; resolves with the final status (undefined when the key is not a request). */
export async function processRequest(deps: ExtractorDeps, record: RequestRecord): Promise<RequestStatus | undefined> {
  const log = deps.log ?? (() => {})
  const id = idFromKey(record.key)
  if (id === undefined) {
    log({key: record.key, skipped: `not <id>/${REQUEST_FILE}`})
    return undefined
  }
  const remaining = deps.remainingMs()
  const deadline = Date.now() + remaining
  const status: RequestStatus = {
    id,
    state: 'running',
    ...(record.uploader ? {uploader: record.uploader} : {}),
    rows: 0,
    files: [],
    startedAt: new Date().toISOString(),
    deadline: new Date(deadline).toISOString(),
  }
  const writer = new StatusWriter(deps.s3, deps.resultsBucket, id)
  const abort = new AbortController()
  let callbackUrl: string | undefined

  const finalize = finalizer(deps, writer, status, () => callbackUrl, deadline)

  // 1. the request document and who uploaded it
  let text: string
  try {
    const object = await deps.s3.send(new GetObjectCommand({Bucket: record.bucket, Key: record.key}))
    if ((object.ContentLength ?? 0) > MAX_REQUEST_BYTES) {
      object.Body?.transformToByteArray().catch(() => undefined)
      return await finalize({state: 'failed', reason: `invalid request: larger than ${MAX_REQUEST_BYTES / 1024} KiB`})
    }
    text = await object.Body!.transformToString('utf8')
    const meta = object.Metadata ?? {}
    if (meta[REQUEST_META.submittedBy]) status.submittedBy = meta[REQUEST_META.submittedBy]
    if (meta[REQUEST_META.submittedAt]) status.submittedAt = meta[REQUEST_META.submittedAt]
    else if (object.LastModified) status.submittedAt = object.LastModified.toISOString()
  } catch (e) {
    return finalize({state: 'failed', reason: `cannot read the request: ${errorText(e)}`})
  }
  const parsed = parseRequestText(text)
  if (parsed.ok && parsed.doc && typeof parsed.doc === 'object' && !Array.isArray(parsed.doc)) {
    const doc = parsed.doc as Record<string, unknown>
    if (typeof doc.dataset === 'string') status.dataset = doc.dataset
    if (typeof doc.description === 'string') status.description = doc.description.slice(0, 1000)
    if (doc.format === 'csv' || doc.format === 'parquet') status.format = doc.format
    if (typeof doc.callbackUrl === 'string' && callbackUrlProblem(doc.callbackUrl) === undefined) callbackUrl = doc.callbackUrl
  }
  await writer.put(status).catch((e) => log({id, warning: `could not write the running status: ${errorText(e)}`}))

  // 2. the timer that beats the function's own timeout
  const timer = setTimeout(() => {
    abort.abort(new Error('timed out'))
    void finalize({state: 'failed', reason: `timed out: the extractor stopped after ${Math.round((Date.now() - Date.parse(status.startedAt!)) / 1000)} s, before the function's timeout`})
  }, Math.max(0, remaining - timeoutMargin(remaining)))

  try {
    // 3. validate again, then extract
    const validation = parsed.ok ? validateRequest(parsed.doc, deps.datasets) : {valid: false as const, issues: parsed.issues}
    if (!validation.valid) {
      const first = validation.issues[0]
      const more = validation.issues.length > 1 ? ` (and ${validation.issues.length - 1} more)` : ''
      return await finalize({state: 'failed', reason: `invalid request: ${first.pointer || '(document)'}: ${first.message}${more}`, errors: validation.issues})
    }
    abort.signal.throwIfAborted()
    if (await engineAvailable(deps.engine)) {
      const queryExecutionId = await startOnEngine(deps.engine!, deps.s3, deps.resultsBucket, validation.request, validation.dataset, {id, bucket: record.bucket, key: record.key})
      Object.assign(status, {engine: 'athena', queryExecutionId, deadline: new Date(Date.now() + ENGINE_DEADLINE_MS).toISOString()})
      await writer.put(status)
      log({id, engine: 'athena', queryExecutionId})
      return status
    }
    const result = await extract(validation.request, validation.dataset, {
      s3: deps.s3,
      curatedBucket: deps.curatedBucket,
      resultsBucket: deps.resultsBucket,
      id,
      rowsPerFile: deps.rowsPerFile,
      signal: abort.signal,
    })
    return await finalize({state: 'succeeded', format: validation.request.format ?? 'csv', rows: result.rows, files: result.files})
  } catch (e) {
    return await finalize({state: 'failed', reason: abort.signal.aborted ? 'timed out' : `extraction failed: ${errorText(e)}`})
  } finally {
    clearTimeout(timer)
  }
}

/** Reads a status.json (undefined when there is none). */
async function readStatus(s3: S3Client, bucket: string, id: string): Promise<RequestStatus | undefined> {
  try {
    const object = await s3.send(new GetObjectCommand({Bucket: bucket, Key: statusKey(id)}))
    return JSON.parse(await object.Body!.transformToString()) as RequestStatus
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return undefined
    throw error
  }
}

/**
 * Athena called back (its query state change): the request's query ended. Writes the result parts from the query's
 * result file and the final status (query id and bytes scanned included), then the callback. A query cape did not
 * start, or a request already final (a repeated event), is left alone.
 */
export async function finishOnEngine(deps: ExtractorDeps, queryExecutionId: string): Promise<RequestStatus | undefined> {
  const log = deps.log ?? (() => {})
  const origin = await readQueryIndex(deps.s3, deps.resultsBucket, queryExecutionId)
  const status = origin ? await readStatus(deps.s3, deps.resultsBucket, origin.id) : undefined
  if (!origin || !status || status.state !== 'running' || status.queryExecutionId !== queryExecutionId) {
    log({queryExecutionId, skipped: origin ? 'request not running on this query' : 'not an extraction query'})
    return undefined
  }
  const deadline = Date.now() + deps.remainingMs()
  let callbackUrl: string | undefined
  const finalize = finalizer(deps, new StatusWriter(deps.s3, deps.resultsBucket, origin.id), status, () => callbackUrl, deadline)
  try {
    const object = await deps.s3.send(new GetObjectCommand({Bucket: origin.bucket, Key: origin.key}))
    const parsed = parseRequestText(await object.Body!.transformToString('utf8'))
    const validation = parsed.ok ? validateRequest(parsed.doc, deps.datasets) : {valid: false as const, issues: parsed.issues}
    if (!validation.valid) return await finalize({state: 'failed', reason: `invalid request: ${validation.issues[0]?.message ?? 'changed since it was started'}`})
    if (validation.request.callbackUrl && callbackUrlProblem(validation.request.callbackUrl) === undefined) callbackUrl = validation.request.callbackUrl
    const q = await queryExecution(deps.engine!, queryExecutionId)
    const scanned = {dataScannedBytes: q.Statistics?.DataScannedInBytes ?? 0}
    if (q.Status?.State !== 'SUCCEEDED') {
      return await finalize({state: 'failed', ...scanned, reason: `query ${String(q.Status?.State).toLowerCase()}: ${q.Status?.StateChangeReason ?? 'no reason given'}`})
    }
    const result = await writeEngineResult(q, validation.request, validation.dataset, {s3: deps.s3, curatedBucket: deps.curatedBucket, resultsBucket: deps.resultsBucket, id: origin.id, rowsPerFile: deps.rowsPerFile})
    return await finalize({state: 'succeeded', ...scanned, format: validation.request.format ?? 'csv', rows: result.rows, files: result.files})
  } catch (e) {
    return finalize({state: 'failed', reason: `extraction failed: ${errorText(e)}`})
  }
}
