import {createHash} from 'node:crypto'
import {once} from 'node:events'
import {PassThrough, type Readable} from 'node:stream'
import {GetObjectCommand, ListObjectsV2Command, type S3Client} from '@aws-sdk/client-s3'
import {Upload} from '@aws-sdk/lib-storage'
import {parse} from 'csv-parse'
import {parquetMetadataAsync, parquetRead, type AsyncBuffer, type FileMetaData} from 'hyparquet'
import type {Column, ColumnType, Dataset} from '../ingest/datasets.js'
import {checkType, isEmpty, timestampText, type TypedValue} from '../ingest/values.js'
import {CsvRowWriter, ParquetRowWriter, type RowWriter} from '../ingest/writers.js'
import {compileFilters} from './filter.js'
import type {ExtractionRequest} from './schema.js'
import {partKey, type ResultFile} from './status.js'

/**
 * The extraction core: read a dataset's curated objects (CSV and parquet) one after the other, filter and project
 * row by row, and stream the result files to the results bucket, a new part every `rowsPerFile` rows. Memory stays
 * bounded: one CSV chunk or one parquet row group in, one output batch (or row group) plus upload parts out.
 */

export interface ExtractTarget {
  s3: S3Client
  curatedBucket: string
  resultsBucket: string
  id: string
  rowsPerFile: number
  signal?: AbortSignal
}

export interface ExtractResult {
  rows: number
  /** Rows read from curated (before filtering). */
  scanned: number
  files: ResultFile[]
  /** The curated objects read. */
  sources: string[]
}

export interface CuratedObject {
  key: string
  size: number
}

/** A curated object's path has no segment starting with `_` (reports, probes, definitions) and ends .csv/.parquet. */
const isDataKey = (key: string) => /\.(csv|parquet)$/i.test(key) && !key.split('/').some((s) => s.startsWith('_'))

/** The dataset's curated objects, in key order (`<dataset>/ingest_date=…/<name>.csv|.parquet`). */
export async function listCuratedObjects(s3: S3Client, bucket: string, dataset: string, signal?: AbortSignal): Promise<CuratedObject[]> {
  const out: CuratedObject[] = []
  let token: string | undefined
  do {
    const page = await s3.send(new ListObjectsV2Command({Bucket: bucket, Prefix: `${dataset}/`, ContinuationToken: token}), {abortSignal: signal})
    for (const o of page.Contents ?? []) if (o.Key && isDataKey(o.Key)) out.push({key: o.Key, size: o.Size ?? 0})
    token = page.IsTruncated ? page.NextContinuationToken : undefined
  } while (token)
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
}

interface SourceRow {
  values: TypedValue[]
  texts: string[]
}

const dataError = (key: string, where: string, message: string) => new Error(`curated object ${key}${where}: ${message}`)

/** The records a stream has buffered right now, or, when none, the next ones (undefined at the end). */
async function nextRecords(parser: Readable): Promise<string[][] | undefined> {
  for (;;) {
    const batch: string[][] = []
    let record: string[] | null
    while (batch.length < 4096 && (record = parser.read()) !== null) batch.push(record)
    if (batch.length > 0) return batch
    if (parser.readableEnded || parser.destroyed) {
      if (parser.errored) throw parser.errored
      return undefined
    }
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        parser.off('readable', done)
        parser.off('end', done)
        parser.off('error', fail)
        resolve()
      }
      const fail = (e: Error) => {
        parser.off('readable', done)
        parser.off('end', done)
        reject(e)
      }
      parser.once('readable', done)
      parser.once('end', done)
      parser.once('error', fail)
    })
  }
}

const NO_VALUES: TypedValue[] = []

/**
 * Rows of a curated CSV: texts in dataset column order (curated CSV is canonical, so its texts are the canonical
 * texts), and typed values for the `typed` columns only (dataset indexes; those filtered on, and all projected ones
 * for parquet output). Yields batches (what the parser has ready), so the per-row work stays synchronous.
 */
async function* csvRows(s3: S3Client, bucket: string, key: string, dataset: Dataset, typed: number[], signal?: AbortSignal): AsyncGenerator<SourceRow[]> {
  const object = await s3.send(new GetObjectCommand({Bucket: bucket, Key: key}), {abortSignal: signal})
  const body = object.Body as Readable
  const parser = parse({bom: true, skip_empty_lines: true, relax_column_count: true})
  body.on('error', (e) => parser.destroy(e))
  body.pipe(parser)
  const columns = dataset.columns
  const width = columns.length
  let positions: number[] | undefined
  let canonical = false
  let line = 0
  try {
    let records: string[][] | undefined
    while ((records = await nextRecords(parser)) !== undefined) {
      const rows: SourceRow[] = []
      for (const record of records) {
        line++
        if (positions === undefined) {
          const header = record.map((h) => h.trim())
          positions = columns.map((c) => header.indexOf(c.name))
          canonical = header.length === width && positions.every((p, i) => p === i)
          continue
        }
        const texts = canonical && record.length === width ? record : positions.map((p) => (p >= 0 ? (record[p] ?? '') : ''))
        let values = NO_VALUES
        if (typed.length > 0) {
          values = new Array(width).fill(null)
          for (const i of typed) {
            const raw = texts[i]
            if (isEmpty(raw)) continue
            const r = checkType(columns[i].type, raw)
            if (!r.ok) throw dataError(key, ` record ${line}`, `column ${columns[i].name}: ${r.message}`)
            values[i] = r.value
          }
        }
        rows.push({values, texts})
      }
      yield rows
    }
  } finally {
    body.unpipe(parser)
    body.destroy()
    parser.destroy()
  }
}

/** Objects up to this size are read in one GET; bigger parquet files are read by byte ranges. */
const WHOLE_OBJECT = 32 * 1024 * 1024

async function s3AsyncBuffer(s3: S3Client, bucket: string, object: CuratedObject, signal?: AbortSignal): Promise<AsyncBuffer> {
  const get = async (range?: string): Promise<ArrayBuffer> => {
    const r = await s3.send(new GetObjectCommand({Bucket: bucket, Key: object.key, Range: range}), {abortSignal: signal})
    const bytes = await r.Body!.transformToByteArray()
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
  }
  if (object.size <= WHOLE_OBJECT) {
    const whole = await get()
    return {byteLength: whole.byteLength, slice: (start, end) => whole.slice(start, end)}
  }
  return {byteLength: object.size, slice: (start, end = object.size) => get(`bytes=${start}-${end - 1}`)}
}

/** Days since 1970-01-01 → YYYY-MM-DD (H. Hinnant's civil_from_days, exact for every year). */
export function civilFromDays(days: number): string {
  const z = days + 719468
  const era = Math.floor(z / 146097)
  const doe = z - era * 146097
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365)
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1
  const m = mp < 10 ? mp + 3 : mp - 9
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0)
  const pad = (n: number, w: number) => String(Math.abs(n)).padStart(w, '0')
  return `${y < 0 ? '-' : ''}${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`
}

/** A value read from parquet → the typed value and canonical text the CSV path would give. */
function fromParquet(type: ColumnType, v: unknown): {value: TypedValue; text: string} | undefined {
  if (v === null || v === undefined) return undefined
  switch (type) {
    case 'string':
      return {value: String(v), text: String(v)}
    case 'integer': {
      const n = typeof v === 'bigint' ? v : BigInt(v as number)
      return {value: n, text: n.toString()}
    }
    case 'number':
      return {value: Number(v), text: String(Number(v))}
    case 'boolean':
      return {value: Boolean(v), text: v ? 'true' : 'false'}
    case 'date': {
      const days = v instanceof Date ? Math.round(v.getTime() / 86_400_000) : Number(v)
      return {value: days, text: civilFromDays(days)}
    }
    case 'timestamp': {
      const micros = v instanceof Date ? BigInt(v.getTime()) * 1000n : BigInt(v as number | bigint)
      return {value: micros, text: timestampText(micros)}
    }
  }
}

/** Rows of a curated parquet file, one row group at a time. */
async function* parquetRows(s3: S3Client, bucket: string, object: CuratedObject, dataset: Dataset, needed: number[], signal?: AbortSignal): AsyncGenerator<SourceRow[]> {
  const file = await s3AsyncBuffer(s3, bucket, object, signal)
  const metadata: FileMetaData = await parquetMetadataAsync(file)
  const present = new Set(metadata.schema.slice(1).map((s) => s.name))
  const columns = dataset.columns
  const read = needed.filter((i) => present.has(columns[i].name))
  let start = 0
  for (const group of metadata.row_groups) {
    const count = Number(group.num_rows)
    const rows = await new Promise<unknown[][]>((resolve, reject) => {
      parquetRead({
        file,
        metadata,
        columns: read.map((i) => columns[i].name),
        rowStart: start,
        rowEnd: start + count,
        rowFormat: 'array',
        parsers: {dateFromDays: (d: number) => d},
        onComplete: (r: unknown[][]) => resolve(r),
      }).catch(reject)
    })
    start += count
    const batch: SourceRow[] = []
    for (const r of rows) {
      const values: TypedValue[] = new Array(columns.length).fill(null)
      const texts: string[] = new Array(columns.length).fill('')
      for (let j = 0; j < read.length; j++) {
        const i = read[j]
        const t = fromParquet(columns[i].type, r[j])
        if (t === undefined) continue
        values[i] = t.value
        texts[i] = t.text
      }
      batch.push({values, texts})
    }
    yield batch
  }
}

interface OpenPart {
  key: string
  writer: RowWriter
  body: PassThrough
  upload: Upload
  done: Promise<unknown>
  hash: ReturnType<typeof createHash>
  size: number
  rows: number
}

/** Result parts: `<id>/part-00000.<format>`, a new one every `rowsPerFile` rows; at least one (header only) file. */
export class ResultWriter {
  readonly files: ResultFile[] = []
  private part: OpenPart | undefined
  private blocked = false

  constructor(
    private readonly target: ExtractTarget,
    private readonly format: 'csv' | 'parquet',
    private readonly columns: Column[],
    private readonly dataset: string,
  ) {}

  /** Returns a promise only when the caller must wait (backpressure, or a part to finish). */
  write(texts: string[], values: TypedValue[]): Promise<void> | undefined {
    const part = (this.part ??= this.open())
    part.writer.write(texts, values)
    part.rows++
    if (this.blocked || part.rows >= this.target.rowsPerFile) return this.settle(part)
    return undefined
  }

  private async settle(part: OpenPart): Promise<void> {
    if (this.blocked) await this.drain(part)
    if (part.rows >= this.target.rowsPerFile) await this.close()
  }

  async finish(): Promise<ResultFile[]> {
    if (!this.part && this.files.length === 0) this.part = this.open()
    if (this.part) await this.close()
    return this.files
  }

  async abort(): Promise<void> {
    const part = this.part
    this.part = undefined
    if (part) {
      part.body.destroy()
      await part.upload.abort().catch(() => undefined)
      await part.done.catch(() => undefined)
    }
  }

  private open(): OpenPart {
    const key = partKey(this.target.id, this.files.length, this.format)
    const body = new PassThrough({highWaterMark: 1 << 20})
    const hash = createHash('sha256')
    const upload = new Upload({
      client: this.target.s3,
      params: {
        Bucket: this.target.resultsBucket,
        Key: key,
        Body: body,
        ContentType: this.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/vnd.apache.parquet',
      },
      queueSize: 4,
      partSize: 8 * 1024 * 1024,
      leavePartsOnError: false,
    })
    const part: Partial<OpenPart> = {key, body, hash, upload, size: 0, rows: 0}
    const push = (bytes: Buffer) => {
      hash.update(bytes)
      part.size! += bytes.length
      if (!body.write(bytes)) this.blocked = true
    }
    part.writer = this.format === 'csv' ? new CsvRowWriter(this.columns, push) : new ParquetRowWriter(this.columns, push, {dataset: this.dataset})
    part.done = upload.done()
    part.done.catch(() => undefined)
    return part as OpenPart
  }

  private async drain(part: OpenPart): Promise<void> {
    await Promise.race([
      once(part.body, 'drain'),
      part.done.then(() => {
        throw new Error(`upload of ${part.key} ended before its data`)
      }),
    ])
    this.blocked = false
  }

  private async close(): Promise<void> {
    const part = this.part!
    part.writer.end()
    part.body.end()
    await part.done
    this.part = undefined
    this.blocked = false
    this.files.push({key: part.key, size: part.size, sha256: part.hash.digest('hex'), rows: part.rows})
  }
}

/** Run one extraction. The request must be valid for `dataset` (see validateRequest). */
export async function extract(request: ExtractionRequest, dataset: Dataset, target: ExtractTarget): Promise<ExtractResult> {
  const {s3, curatedBucket, signal} = target
  const columns = dataset.columns
  const index = (name: string) => columns.findIndex((c) => c.name === name)
  const outIdx = (request.columns ?? columns.map((c) => c.name)).map(index)
  const filters = request.filters ?? []
  const filtered = filters.map((f) => index(f.column))
  const format = request.format ?? 'csv'
  // CSV sources type only what is compared (and everything projected for parquet output); parquet sources read what is used
  const typed = [...new Set([...filtered, ...(format === 'parquet' ? outIdx : [])])].sort((a, b) => a - b)
  const needed = [...new Set([...outIdx, ...filtered])].sort((a, b) => a - b)
  const identity = outIdx.length === columns.length && outIdx.every((v, i) => v === i)
  const predicate = compileFilters(filters, dataset)
  const limit = request.limit ?? Number.POSITIVE_INFINITY
  if (!Number.isInteger(target.rowsPerFile) || target.rowsPerFile < 1) throw new Error(`rows per file must be a positive integer, not ${target.rowsPerFile}`)

  const sources = await listCuratedObjects(s3, curatedBucket, dataset.name, signal)
  const out = new ResultWriter(target, format, outIdx.map((i) => columns[i]), dataset.name)
  let rows = 0
  let scanned = 0
  try {
    scan: for (const source of sources) {
      if (rows >= limit) break
      const iter = /\.parquet$/i.test(source.key)
        ? parquetRows(s3, curatedBucket, source, dataset, needed, signal)
        : csvRows(s3, curatedBucket, source.key, dataset, typed, signal)
      for await (const batch of iter) {
        signal?.throwIfAborted()
        scanned += batch.length
        for (const row of batch) {
          if (!predicate(row.values)) continue
          const wait = identity
            ? out.write(row.texts, row.values)
            : out.write(outIdx.map((i) => row.texts[i]), format === 'parquet' ? outIdx.map((i) => row.values[i]) : NO_VALUES)
          if (wait) await wait
          if (++rows >= limit) break scan
        }
      }
    }
    signal?.throwIfAborted()
    const files = await out.finish()
    return {rows, scanned, files, sources: sources.map((s) => s.key)}
  } catch (e) {
    await out.abort()
    throw e
  }
}
