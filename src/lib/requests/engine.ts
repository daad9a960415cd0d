import type {Readable} from 'node:stream'
import {GetQueryExecutionCommand, GetWorkGroupCommand, StartQueryExecutionCommand, type AthenaClient, type QueryExecution} from '@aws-sdk/client-athena'
import {GetObjectCommand, PutObjectCommand, type S3Client} from '@aws-sdk/client-s3'
import type {Column, Dataset} from '../ingest/datasets.js'
import {checkType, type TypedValue} from '../ingest/values.js'
import {CsvRecordReader} from '../ingest/csv-fast.js'
import {ResultWriter, type ExtractTarget} from './extract.js'
import type {ExtractionRequest} from './schema.js'
import {compileRequest} from './sql.js'
import type {ResultFile} from './status.js'

/**
 * Extraction on the query engine (phase 2): the request compiled to one statement (sql.ts) runs in the extractor's
 * Athena workgroup; the function does not wait for it — it records the query and ends, and Athena's state change
 * event (an EventBridge rule of phase 2) calls it back when the query ends. Then the result file Athena wrote is
 * streamed into the request's parts (`<id>/part-NNNNN.csv|parquet`, sha256 and rows), as the streaming extractor
 * writes them. Without phase 2 the workgroup does not answer and the streaming extractor runs instead.
 */

export interface EngineDeps {
  athena: AthenaClient
  /** the extractor's workgroup (phase 2's `cape-<env>-extract`) */
  workgroup: string
  database: string
}

/** Where the extractor finds the request of a query when Athena calls back: `_queries/<query id>.json` in results. */
export const queryIndexKey = (queryExecutionId: string) => `_queries/${queryExecutionId}.json`

export interface QueryIndex {
  id: string
  bucket: string
  key: string
}

/** Whether the query engine serves extractions: the workgroup exists, is enabled, and the function may use it. */
export async function engineAvailable(engine: EngineDeps | undefined): Promise<boolean> {
  if (!engine?.workgroup) return false
  try {
    const {WorkGroup} = await engine.athena.send(new GetWorkGroupCommand({WorkGroup: engine.workgroup}))
    return WorkGroup?.State === 'ENABLED'
  } catch {
    return false
  }
}

/** Starts the request's query (idempotent per request: the ClientRequestToken) and records where it came from. */
export async function startOnEngine(engine: EngineDeps, s3: S3Client, resultsBucket: string, request: ExtractionRequest, dataset: Dataset, origin: QueryIndex): Promise<string> {
  const {sql, parameters} = compileRequest(request, dataset, engine.database)
  const started = await engine.athena.send(new StartQueryExecutionCommand({
    QueryString: sql,
    WorkGroup: engine.workgroup,
    QueryExecutionContext: {Database: engine.database},
    ...(parameters.length > 0 ? {ExecutionParameters: parameters} : {}),
    ClientRequestToken: `cape-extraction-request-${origin.id}`.slice(0, 128).padEnd(32, '0'),
  }))
  const id = started.QueryExecutionId!
  await s3.send(new PutObjectCommand({Bucket: resultsBucket, Key: queryIndexKey(id), Body: JSON.stringify(origin), ContentType: 'application/json'}))
  return id
}

export async function readQueryIndex(s3: S3Client, resultsBucket: string, queryExecutionId: string): Promise<QueryIndex | undefined> {
  try {
    const object = await s3.send(new GetObjectCommand({Bucket: resultsBucket, Key: queryIndexKey(queryExecutionId)}))
    return JSON.parse(await object.Body!.transformToString()) as QueryIndex
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return undefined
    throw error
  }
}

export async function queryExecution(engine: EngineDeps, queryExecutionId: string): Promise<QueryExecution> {
  const {QueryExecution: q} = await engine.athena.send(new GetQueryExecutionCommand({QueryExecutionId: queryExecutionId}))
  return q!
}

/** Athena's text for a value → the canonical text and typed value the result writers take (the ingest checks). */
function typed(column: Column, text: string): {text: string; value: TypedValue} {
  // empty is NULL, as the streaming extractor reads curated data (Athena writes NULL empty and unquoted)
  if (text === '') return {text: '', value: null}
  // Athena prints a timestamp as `YYYY-MM-DD HH:MM:SS.fff` (UTC here): cape's timestamps carry their offset
  const checked = checkType(column.type, column.type === 'timestamp' ? `${text.replace(' ', 'T')}Z` : text)
  if (!checked.ok) throw new Error(`the query's result has ${JSON.stringify(text)} in column ${column.name}: ${checked.message}`)
  return {text: checked.text, value: checked.value}
}

const NO_VALUES: TypedValue[] = []

/**
 * Streams the query's result file into the request's result parts, in batches (what the parser has ready). CSV
 * output needs canonical texts only (Athena's are, except numbers: formatted as cape formats them); parquet the
 * typed values too.
 */
export async function writeEngineResult(q: QueryExecution, request: ExtractionRequest, dataset: Dataset, target: ExtractTarget): Promise<{rows: number; files: ResultFile[]}> {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(q.ResultConfiguration?.OutputLocation ?? '')
  if (!m) throw new Error(`the query has no result location (${q.ResultConfiguration?.OutputLocation ?? 'none'})`)
  const byName = new Map(dataset.columns.map((c) => [c.name, c]))
  const columns = (request.columns ?? dataset.columns.map((c) => c.name)).map((n) => byName.get(n)!)
  const format = request.format ?? 'csv'
  const retype = columns.map((c, i) => (format === 'parquet' || c.type === 'number' || c.type === 'timestamp' ? i : -1)).filter((i) => i >= 0)
  const object = await target.s3.send(new GetObjectCommand({Bucket: m[1], Key: m[2]}), {abortSignal: target.signal})
  const body = object.Body as Readable
  body.setEncoding('utf8')
  const out = new ResultWriter(target, format, columns, dataset.name)
  let rows = 0
  let batch: string[][] = []
  let header = true
  // Athena's CSV (every value quoted, "" inside) is the dialect of the ingest core's fast reader
  const reader = new CsvRecordReader((fields) => {
    if (header) header = false
    else batch.push(fields)
  })
  const flush = async () => {
    const records = batch
    batch = []
    for (const record of records) {
      const texts = columns.map((_, i) => record[i] ?? '')
      let values = NO_VALUES
      if (retype.length > 0) {
        values = format === 'parquet' ? new Array<TypedValue>(columns.length).fill(null) : NO_VALUES
        for (const i of retype) {
          const t = typed(columns[i]!, texts[i]!)
          texts[i] = t.text
          if (format === 'parquet') values[i] = t.value
        }
      }
      const wait = out.write(texts, values)
      if (wait) await wait
      rows++
    }
  }
  try {
    for await (const chunk of body) {
      const error = reader.push(chunk as string)
      if (error) throw new Error(`the query's result file: ${error.message}`)
      await flush()
    }
    const error = reader.end()
    if (error) throw new Error(`the query's result file: ${error.message}`)
    await flush()
    return {rows, files: await out.finish()}
  } catch (error) {
    await out.abort()
    throw error
  }
}
