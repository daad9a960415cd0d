import type {SchemaElement} from 'hyparquet'
import {ByteWriter, ParquetWriter} from 'hyparquet-writer'
import {csvLine} from './csv-fast.js'
import type {Column, ColumnType} from './datasets.js'
import type {TypedValue} from './values.js'

/**
 * Curated-output writers. Deterministic bytes: the same rows give the same output on every machine and in the
 * Lambda (no timestamps, fixed `created_by`, fixed options). They push bytes to a callback; the pipeline turns
 * that into a stream with backpressure.
 */
export interface RowWriter {
  /** One valid row: canonical texts (CSV) and typed values (parquet), both in canonical column order. */
  write(texts: readonly string[], values: readonly TypedValue[]): void
  /** No more rows: flush and finish the file. */
  end(): void
}

export type Push = (bytes: Buffer) => void

/**
 * CSV: header + rows, "," delimiter, LF line endings, no BOM, quotes only where needed (`"` doubled). Rows collect in
 * a buffer pushed when full (~64 KiB per push, whatever the row size).
 */
export class CsvRowWriter implements RowWriter {
  private buf: Buffer
  private used = 0
  /** Pushed buffers handed back by the consumer (recycle()), to fill again instead of allocating. */
  private readonly spare: Buffer[] = []

  constructor(
    columns: readonly Column[],
    private readonly push: Push,
    private readonly bufferBytes = 1 << 16,
  ) {
    this.buf = Buffer.allocUnsafeSlow(bufferBytes)
    this.append(`${csvLine(columns.map((c) => c.name))}\n`)
  }

  write(texts: readonly string[]): void {
    // csvLine writes what csv-stringify would with {delimiter ',', record_delimiter 'unix', quote/escape '"', quote_record_delimiter} (tested)
    this.append(`${csvLine(texts)}\n`)
  }

  /** Rows already in their CSV form, each ending in LF (the caller vouches that they are what write() would give). */
  writeLines(lines: string): void {
    this.append(lines)
  }

  /** The same as writeLines(), as UTF-8 bytes (copied: the caller may reuse them). */
  writeBytes(bytes: Uint8Array): void {
    if (bytes.length > this.buf.length - this.used) {
      this.flush()
      if (bytes.length >= this.bufferBytes) {
        this.push(Buffer.from(bytes))
        return
      }
    }
    this.buf.set(bytes, this.used)
    this.used += bytes.length
  }

  end(): void {
    this.flush()
  }

  private append(text: string): void {
    // at most 3 UTF-8 bytes per UTF-16 code unit
    if (text.length * 3 > this.buf.length - this.used) {
      this.flush()
      if (text.length * 3 > this.bufferBytes) {
        this.push(Buffer.from(text, 'utf8'))
        return
      }
    }
    this.used += this.buf.write(text, this.used, 'utf8')
  }

  /**
   * The consumer is done with a chunk this writer pushed (it copied the bytes): its memory may be filled again.
   * Anything else is ignored. Without it, every pushed buffer is garbage for V8 to collect; with it, a streaming
   * copy runs on a handful of buffers.
   */
  recycle(chunk: Uint8Array): void {
    const whole = chunk.buffer
    if (chunk.byteOffset !== 0 || !this.lent.delete(whole as ArrayBuffer)) return
    if (this.spare.length < 4) this.spare.push(Buffer.from(whole as ArrayBuffer))
  }

  /** The memory of the pushed buffers not handed back yet (recycle() accepts only these; weak: never kept alive). */
  private readonly lent = new WeakSet<ArrayBuffer>()

  private flush(): void {
    if (this.used === 0) return
    this.lent.add(this.buf.buffer as ArrayBuffer)
    this.push(this.buf.subarray(0, this.used))
    this.buf = this.spare.pop() ?? Buffer.allocUnsafeSlow(this.bufferBytes)
    this.used = 0
  }
}

const PARQUET_TYPES: Record<ColumnType, Omit<SchemaElement, 'name' | 'repetition_type'>> = {
  string: {type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: {type: 'STRING'}},
  integer: {type: 'INT64', converted_type: 'INT_64', logical_type: {type: 'INTEGER', bitWidth: 64, isSigned: true}},
  number: {type: 'DOUBLE'},
  boolean: {type: 'BOOLEAN'},
  date: {type: 'INT32', converted_type: 'DATE', logical_type: {type: 'DATE'}},
  timestamp: {type: 'INT64', converted_type: 'TIMESTAMP_MICROS', logical_type: {type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS'}},
}

/** The parquet schema of a dataset: required columns REQUIRED, the others OPTIONAL (empty value → null). */
export function parquetSchema(columns: readonly Column[]): SchemaElement[] {
  return [
    {name: 'root', num_children: columns.length},
    ...columns.map((c): SchemaElement => ({name: c.name, ...PARQUET_TYPES[c.type], repetition_type: c.required ? 'REQUIRED' : 'OPTIONAL'})),
  ]
}

export const DEFAULT_ROW_GROUP_SIZE = 65_536

/**
 * Parquet via hyparquet-writer's incremental ParquetWriter: rows are buffered per column for one row group
 * (default 64k rows), then the group is encoded and its bytes pushed, so memory is bounded by one row group.
 * Snappy compression, statistics on. Integers INT64, numbers DOUBLE, booleans BOOLEAN, dates DATE (INT32 days), timestamps TIMESTAMP(MICROS, UTC),
 * strings STRING (UTF8).
 */
export class ParquetRowWriter implements RowWriter {
  private readonly writer: ByteWriter
  private readonly parquet: ParquetWriter
  private columnsData: TypedValue[][]
  private count = 0

  constructor(
    private readonly columns: readonly Column[],
    private readonly push: Push,
    options: {rowGroupSize?: number; dataset?: string} = {},
  ) {
    this.rowGroupSize = options.rowGroupSize ?? DEFAULT_ROW_GROUP_SIZE
    this.writer = new ByteWriter(1 << 16)
    // Drain the buffer after each row group (ParquetWriter calls flush) and at the end; offsets stay absolute.
    const drain = () => {
      if (this.writer.index === 0) return
      this.push(Buffer.from(this.writer.buffer.slice(0, this.writer.index)))
      this.writer.index = 0
    }
    Object.assign(this.writer, {flush: drain, finish: drain})
    this.parquet = new ParquetWriter({
      writer: this.writer,
      schema: parquetSchema(columns),
      codec: 'SNAPPY',
      createdBy: 'cape',
      ...(options.dataset === undefined ? {} : {kvMetadata: [{key: 'cape.dataset', value: options.dataset}]}),
    })
    this.columnsData = columns.map(() => [])
  }

  private readonly rowGroupSize: number

  write(_texts: readonly string[], values: readonly TypedValue[]): void {
    for (let i = 0; i < values.length; i++) this.columnsData[i].push(values[i])
    if (++this.count >= this.rowGroupSize) this.flushGroup()
  }

  end(): void {
    this.flushGroup()
    void this.parquet.finish()
  }

  private flushGroup(): void {
    if (this.count === 0) return
    const columnData = this.columns.map((c, i) => ({name: c.name, data: this.columnsData[i] as any[]}))
    void this.parquet.write({columnData, rowGroupSize: this.count})
    this.columnsData = this.columns.map(() => [])
    this.count = 0
  }
}
