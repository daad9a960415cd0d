import {Transform, type Readable, type TransformCallback, type Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {CsvRecordReader} from './csv-fast.js'
import {type ColumnType, type Datasets, getDataset} from './datasets.js'
import {detectDataset, type HeaderMatch} from './detect.js'
import {Utf8Guard} from './encoding.js'
import type {IngestReport, Issue, IssueRule} from './report.js'
import {showValue} from './report.js'
import {checkType, compileColumn, type ColumnCheck, dateDays, isDateBytes, isEmpty, parseDate, type TypedValue} from './values.js'
import {DEFAULT_UNIQUE_MEMORY_ENTRIES, UniqueTracker} from './unique.js'
import {CsvRowWriter, DEFAULT_ROW_GROUP_SIZE, ParquetRowWriter, type RowWriter} from './writers.js'

export type OutputFormat = 'csv' | 'parquet' | 'none'

export interface IngestOptions {
  datasets: Datasets
  /** Force this dataset (`--dataset`): only its variants are tried, and a mismatch lists missing/unexpected columns. */
  dataset?: string
  /** Curated output format; 'none' only validates (the output stream then ends empty). Default 'none'. */
  output?: OutputFormat
  /** How many problems to list in the report (all are counted). Default 100. */
  maxErrors?: number
  /** Parquet rows per row group. Default 65,536. */
  rowGroupSize?: number
  /** Largest record accepted, in bytes (guards memory against an unclosed quote). Default 1 MiB. */
  maxRecordBytes?: number
  /** Distinct values of a `unique` column kept in memory before the check spills to temp files (see unique.ts). Default 20,000. */
  uniqueMemoryEntries?: number
  /** Check clean lines on their bytes (see IngestStream.pushBytes). Default true; false sends every line through the CSV reader (tests compare both). */
  byteLane?: boolean
}

export interface IngestPipeline {
  /** Write the raw file bytes here (Buffers or strings), then end it. */
  input: Writable
  /**
   * The curated bytes (canonical header and column order): CSV, or parquet. Only rows that passed every check are
   * written; when the report says invalid, discard them. Must be consumed (it applies backpressure to `input`).
   */
  output: Readable
  /** Resolves when the input is fully processed. Rejects only on stream errors or a bug — never for bad content. */
  result: Promise<IngestReport>
  /** Data rows read so far (for progress). */
  rows(): number
  /**
   * Optional: the consumer of `output` is done with this chunk (it copied the bytes), so the pipeline may fill its
   * memory again. Only for chunks read from `output`, each at most once, and only once nothing refers to it.
   */
  recycle?(chunk: Uint8Array): void
}

export const DEFAULT_MAX_ERRORS = 100
export const DEFAULT_MAX_RECORD_BYTES = 1 << 20

const countNewlines = (s: string): number => {
  let n = 0
  let i = -1
  while ((i = s.indexOf('\n', i + 1)) !== -1) n++
  return n
}

/** A bare CR before the first LF means old-Mac (CR-only) line endings. */
function bareCarriageReturn(buf: Buffer): boolean {
  const lf = buf.indexOf(10)
  const end = lf === -1 ? buf.length - 1 : lf // the last byte of a chunk may be a CR whose LF is in the next chunk
  let i = -1
  while ((i = buf.indexOf(13, i + 1)) !== -1 && i < end) {
    if (buf[i + 1] !== 10) return true
  }
  return false
}

/**
 * One streaming pass: UTF-8 guard → csv-parse (BOM, CRLF/LF, quoted fields) → header detection → per-row checks and
 * transforms → curated writer. Problems are collected in the report; a file-level problem (encoding, delimiter,
 * header, CSV syntax) stops the work and the rest of the input is read and discarded.
 */
class IngestStream extends Transform {
  private readonly guard = new Utf8Guard()
  private readonly reader: CsvRecordReader
  private parserError: (Error & {code?: string}) | undefined
  private internalError: unknown
  private stopped = false
  private sawBytes = false
  private lineEndingsChecked = false
  private nextLine = 1
  private match: HeaderMatch | undefined
  private header: string[] = []
  private checks: ColumnCheck[] = []
  private seen: Array<UniqueTracker | undefined> = []
  private writer: RowWriter | undefined
  /** Per canonical column: 1 string, 2 date, 0 other types (checkType). */
  private kinds: number[] = []
  private texts: string[] = []
  private typed: TypedValue[] = []
  /**
   * The CSV writer, when a clean row (see CsvRecordReader.recordClean) is written exactly as it is in the file: the
   * canonical columns are the file's, in its order, with no value transform. Then consecutive such rows are handed
   * over as one slice of the decoded text (a "run") instead of being joined again field by field.
   */
  private verbatim: CsvRowWriter | undefined
  private runText = ''
  private runChunk = -1
  private runStart = 0
  private runEnd = 0
  private runRows = 0

  /**
   * The byte lane (see pushBytes): the columns as it checks them, set after the header when rows can be checked
   * and written without decoding them (no value transform; CSV output in the file's own layout, or no output).
   */
  private lane: LaneColumn[] | undefined
  private laneUnique: LaneColumn[] = []
  /** Field starts of the line being checked by the lane (+ one past the end of its last field). */
  private bounds = new Int32Array(0)
  /** An incomplete line at the end of the last chunk (the lane reads whole lines). */
  private carry: Buffer | undefined

  private readonly errors: Issue[] = []
  private errorCount = 0
  private readonly byRule: Partial<Record<IssueRule, number>> = {}
  private rows = 0
  private validRows = 0
  private invalidRows = 0

  get rowsRead(): number {
    return this.rows
  }

  /** See IngestPipeline.recycle (CSV output recycles its buffers). */
  recycle(chunk: Uint8Array): void {
    if (this.writer instanceof CsvRowWriter) this.writer.recycle(chunk)
  }

  readonly result: Promise<IngestReport>
  private resolveResult!: (r: IngestReport) => void
  private rejectResult!: (e: unknown) => void

  constructor(private readonly options: Required<Omit<IngestOptions, 'dataset'>> & {dataset?: string}) {
    super({readableHighWaterMark: 1 << 16})
    this.result = new Promise((resolve, reject) => {
      this.resolveResult = resolve
      this.rejectResult = reject
    })
    this.result.catch(() => {}) // the caller may only watch the streams; never an unhandled rejection
    this.on('error', (e) => this.rejectResult(e))
    // csv-fast implements csv-parse's {bom, delimiter ',', record_delimiter ['\r\n', '\n'], relax_quotes,
    // relax_column_count, max_record_size} dialect on decoded text, ~10× faster (see csv-fast.ts and its tests).
    this.reader = new CsvRecordReader((record: string[]) => {
      try {
        this.onRecord(record)
      } catch (e) {
        this.internalError ??= e
      }
    }, options.maxRecordBytes)
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    if (this.stopped) return callback()
    if (chunk.length > 0) this.sawBytes = true
    const checked = this.guard.push(chunk)
    const {bytes, problem} = checked
    const afterWrite = () => {
      this.afterParse((err) => {
        if (err === undefined && problem && !this.stopped) this.fatal({rule: 'encoding', line: problem.line, message: problem.message, hints: problem.hints})
        callback(err)
      })
    }
    if (bytes.length === 0) return afterWrite()
    if (!this.lineEndingsChecked) {
      const body = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes
      if (body.length > 0) this.lineEndingsChecked = true
      if (bareCarriageReturn(body)) {
        this.fatal({
          rule: 'line-endings',
          line: 1,
          message: 'the file uses CR-only (old Mac) line endings; cape reads LF or CRLF',
          hints: ['Save the file with Windows (CRLF) or Unix (LF) line endings.'],
        })
        return callback()
      }
    }
    if (this.lane !== undefined) this.pushBytes(bytes)
    else this.readText(bytes.toString('utf8'))
    afterWrite()
  }

  /** The string path: text (whole characters) to the CSV reader, whose records go to onRecord. */
  private readText(text: string): void {
    const err = this.reader.push(text)
    this.flushRun()
    if (err) this.parserError ??= Object.assign(new Error(err.message), {code: err.code})
  }

  /**
   * The byte lane. Most lines of a large file are "clean": no quote, no CR but one ending the line, the right number
   * of fields, every value plainly valid. The lane checks such lines on the bytes (no string per field, no garbage)
   * and writes them as they are (with LF); any line it does not accept whole — or any doubt — goes to the string path, which reports it exactly
   * as it would have anyway. So the lane only ever accepts lines that the string path would have accepted and
   * written the same (tested against it on fuzzed input); it never reports a problem itself.
   */
  private pushBytes(buf: Buffer): void {
    let pos = 0
    const len = buf.length
    if (this.carry !== undefined) {
      // finish the line cut by the last chunk
      const lf = buf.indexOf(10)
      if (lf === -1) {
        this.carry = Buffer.concat([this.carry, buf])
        if (this.carry.length > this.options.maxRecordBytes) this.readCarry()
        return
      }
      const line = Buffer.concat([this.carry, buf.subarray(0, lf + 1)])
      this.carry = undefined
      if (this.laneRun(line, 0) === 0) this.readText(line.toString('utf8'))
      pos = lf + 1
    }
    while (pos < len && !this.stopped && this.parserError === undefined) {
      if (this.reader.pending) {
        // the string path is inside a record (a quoted line break): hand it the next line; if that does not end the
        // record either, the rest of the chunk (line by line would be quadratic on a long record)
        const lf = buf.indexOf(10, pos)
        const end = lf === -1 ? len : lf + 1
        this.readText(buf.toString('utf8', pos, end))
        pos = end
        if (this.reader.pending && pos < len) {
          this.readText(buf.toString('utf8', pos))
          pos = len
        }
        continue
      }
      pos = this.laneRun(buf, pos)
      if (pos >= len) break
      const lf = buf.indexOf(10, pos)
      if (lf === -1) {
        this.carry = Buffer.from(buf.subarray(pos)) // a copy: the chunk can go
        break
      }
      // a line the lane does not take: the string path checks (and reports) it
      this.readText(buf.toString('utf8', pos, lf + 1))
      pos = lf + 1
    }
  }

  /** The carried incomplete line to the string path (at the end of input, or when it grows past a record's size). */
  private readCarry(): void {
    const carry = this.carry
    this.carry = undefined
    if (carry !== undefined && carry.length > 0) this.readText(carry.toString('utf8'))
  }

  /** Accept lines from `pos` (a line start) while the lane takes them; write them; return where it stopped. */
  private laneRun(buf: Buffer, pos: number): number {
    let start = pos // of the lines accepted and not written yet (LF-ended: written as they are)
    let rows = 0
    for (;;) {
      const next = this.laneLine(buf, pos)
      if (next < 0) break
      rows++
      if (this.laneCrLf) {
        // a CR LF line is written with LF, as the CSV writer writes every line
        this.verbatim?.writeBytes(buf.subarray(start, next - 2))
        this.verbatim?.writeBytes(LF_BYTES)
        start = next
      }
      pos = next
    }
    if (rows > 0) {
      this.rows += rows
      this.validRows += rows
      if (pos > start) this.verbatim?.writeBytes(buf.subarray(start, pos))
    }
    return pos
  }

  /** Whether the line laneLine() accepted last ended with CR LF. */
  private laneCrLf = false

  /** One line at `a`: the index after its LF when the lane accepts it (and records its unique values), else -1. */
  private laneLine(buf: Buffer, a: number): number {
    const len = buf.length
    const bounds = this.bounds
    const n = bounds.length - 1
    bounds[0] = a
    let k = 1
    let j = a
    let crlf = false
    for (; j < len; j++) {
      const c = buf[j]
      if (c <= 44) {
        if (c === 10) break
        if (c === 44) {
          if (k === n) return -1 // too many fields
          bounds[k++] = j + 1
        } else if (c === 13 && j + 1 < len && buf[j + 1] === 10 && j > a) {
          crlf = true // CR LF: the line's content ends here
          j++
          break
        } else if (c === 34 || c === 13) return -1 // quotes, and CRs inside a line: the string path
      }
    }
    if (j >= len || j === a || k !== n) return -1 // incomplete, blank, or too few fields
    bounds[n] = crlf ? j : j + 1 // one past the end of the last field (+1): its CR, or its LF
    const columns = this.lane!
    for (let i = 0; i < columns.length; i++) {
      const col = columns[i]
      if (col.pos < 0) continue // an optional column the file does not have
      const from = bounds[col.pos]
      const to = bounds[col.pos + 1] - 1
      if (from === to) {
        if (col.required) return -1
        continue
      }
      const first = buf[from]
      // printable ASCII first: not empty (see isEmpty); else decide on the text
      if ((first <= 32 || first >= 127) && isEmpty(buf.toString('utf8', from, to))) return -1
      if (col.kind === 2) {
        if (!isDateBytes(buf, from, to)) return -1
      } else if (col.kind === 0) {
        const text = buf.toString('utf8', from, to)
        const checked = checkType(col.type, text)
        if (!checked.ok || checked.text !== text) return -1
      }
      if (col.regex !== undefined && !col.regex.test(buf.toString('utf8', from, to))) return -1
    }
    // unique values: all known-new before any is recorded (a refused line is checked again by the string path)
    const unique = this.laneUnique
    for (let i = 0; i < unique.length; i++) {
      const p = unique[i].pos
      if (unique[i].tracker!.probeBytes(buf, bounds[p], bounds[p + 1] - 1)) return -1
    }
    const line = this.nextLine
    for (let i = 0; i < unique.length; i++) {
      const p = unique[i].pos
      unique[i].tracker!.acceptBytes(buf, bounds[p], bounds[p + 1] - 1, line)
    }
    this.nextLine = line + 1
    this.laneCrLf = crlf
    return j + 1
  }

  override _flush(callback: TransformCallback): void {
    const finish = () => {
      try {
        if (this.internalError !== undefined) return callback(this.internalError as Error)
        if (!this.stopped && this.match === undefined && this.header.length === 0) {
          this.addIssue({rule: 'empty-file', ...(this.sawBytes ? {line: 1} : {}), message: this.sawBytes ? 'the file has no header (only blank lines)' : 'the file is empty', fatal: true})
          this.stopped = true
        }
        this.flushRun()
        this.finishUnique()
        this.writer?.end()
        this.resolveResult(this.report())
        callback()
      } catch (e) {
        callback(e as Error)
      }
    }
    if (this.stopped) return finish()
    const tail = this.guard.end()
    if (tail) {
      this.fatal({rule: 'encoding', line: tail.line, message: tail.message, hints: tail.hints})
      return finish()
    }
    if (this.parserError === undefined) this.readCarry()
    const err = this.reader.end()
    if (err) this.parserError ??= Object.assign(new Error(err.message), {code: err.code})
    this.afterParse(() => finish())
  }

  private afterParse(callback: (err?: Error) => void): void {
    if (this.internalError !== undefined) return callback(this.internalError as Error)
    if (this.parserError !== undefined && !this.stopped) this.onParserError(this.parserError)
    callback()
  }

  private onParserError(err: Error & {code?: string}): void {
    const line = this.nextLine
    if (err.code === 'CSV_MAX_RECORD_SIZE') {
      this.fatal({
        rule: 'record-too-large',
        line,
        message: `the record starting at line ${line} is larger than ${this.options.maxRecordBytes} bytes — is a quote left open?`,
      })
    } else if (err.code === 'CSV_QUOTE_NOT_CLOSED') {
      this.fatal({rule: 'csv-syntax', line, message: `a quoted field in the record starting at line ${line} is never closed`})
    } else {
      this.fatal({rule: 'csv-syntax', line, message: `malformed CSV in the record starting at line ${line}: ${err.message}`})
    }
  }

  private fatal(issue: Issue): void {
    this.addIssue({...issue, fatal: true})
    this.stopped = true
  }

  private addIssue(issue: Issue): void {
    this.errorCount++
    this.byRule[issue.rule] = (this.byRule[issue.rule] ?? 0) + 1
    if (this.errors.length < this.options.maxErrors || issue.fatal) this.errors.push(issue)
  }

  private onRecord(values: string[]): void {
    if (this.stopped) return
    const line = this.nextLine
    let newlines = 0
    if (!this.reader.recordClean) for (let i = 0; i < values.length; i++) if (values[i].includes('\n')) newlines += countNewlines(values[i])
    this.nextLine = line + 1 + newlines
    if (values.length === 1 && isEmpty(values[0])) return // blank line
    if (this.match === undefined) return this.onHeader(values)
    this.onRow(values, line)
  }

  private onHeader(values: string[]): void {
    this.header = values.map((v) => v.trim())
    const detected = detectDataset(this.header, this.options.datasets, this.options.dataset)
    if (!detected.ok) {
      for (const issue of detected.issues) this.addIssue(issue)
      this.stopped = true
      return
    }
    const match = detected.match
    this.match = match
    this.checks = match.dataset.columns.map(compileColumn)
    this.kinds = match.dataset.columns.map((c) => (c.type === 'string' ? 1 : c.type === 'date' ? 2 : 0))
    this.texts = new Array<string>(this.checks.length).fill('')
    this.typed = new Array<TypedValue>(this.checks.length).fill(null)
    this.seen = match.dataset.columns.map((c) => (c.unique ? new UniqueTracker(this.options.uniqueMemoryEntries) : undefined))
    const push = (b: Buffer) => {
      this.push(b)
    }
    if (this.options.output === 'csv') {
      const writer = new CsvRowWriter(match.dataset.columns, push)
      this.writer = writer
      const inOrder = match.positions.length === this.header.length && match.positions.every((p, i) => p === i)
      if (inOrder && match.chain.row === undefined) this.verbatim = writer
    }
    else if (this.options.output === 'parquet') this.writer = new ParquetRowWriter(match.dataset.columns, push, {rowGroupSize: this.options.rowGroupSize, dataset: match.dataset.name})
    const columns: LaneColumn[] = this.checks.map((check, i) => ({
      pos: match.positions[i],
      required: Boolean(check.column.required),
      kind: this.kinds[i],
      type: check.column.type,
      regex: check.regex,
      tracker: this.seen[i],
    }))
    const laneWrites = this.options.output === 'none' || this.verbatim !== undefined
    if (this.options.byteLane && laneWrites && match.chain.row === undefined && !columns.some((c) => c.pos < 0 && c.required)) {
      this.lane = columns
      this.laneUnique = columns.filter((c) => c.tracker !== undefined)
      this.bounds = new Int32Array(this.header.length + 1)
    }
  }

  private fieldLine(values: readonly string[], line: number, sourceIndex: number): number {
    let n = line
    for (let i = 0; i < sourceIndex && i < values.length; i++) if (values[i].includes('\n')) n += countNewlines(values[i])
    return n
  }

  private onRow(values: string[], line: number): void {
    this.rows++
    const match = this.match as HeaderMatch
    if (values.length !== this.header.length) {
      const hints = values.length === 1 && /[;\t|]/.test(values[0]) ? ['This row looks separated by a different delimiter than ",".'] : undefined
      this.addIssue({
        rule: 'ragged',
        line,
        message: `the row has ${values.length} ${values.length === 1 ? 'field' : 'fields'}, the header has ${this.header.length}`,
        ...(hints ? {hints} : {}),
      })
      this.invalidRows++
      return
    }
    const transformed = match.chain.row ? match.chain.row(values) : values
    const n = this.checks.length
    const {texts, typed, kinds, checks, seen} = this
    const positions = match.positions
    // clean record + canonical layout: the row's CSV line is its text in the file, unless a value changes below
    let verbatim = this.verbatim !== undefined && this.reader.recordClean
    let ok = true
    for (let i = 0; i < n; i++) {
      const pos = positions[i]
      const raw = pos < 0 ? '' : transformed[pos]
      const check = checks[i]
      if (isEmpty(raw)) {
        if (check.column.required) {
          ok = false
          this.problem(i, pos, raw, values, line, 'required', raw === '' ? 'a value is required' : `a value is required (got only whitespace ${showValue(raw)})`)
        }
        if (raw.length > 0) verbatim = false
        texts[i] = ''
        typed[i] = null
        continue
      }
      let text: string
      let value: TypedValue
      const kind = kinds[i]
      if (kind === 1) {
        // string (as checkType)
        text = raw.includes('\r\n') ? raw.replaceAll('\r\n', '\n') : raw
        value = text
      } else if (kind === 2) {
        // date (as checkType)
        const days = dateDays(raw)
        if (Number.isNaN(days)) {
          ok = false
          this.problem(i, pos, raw, values, line, 'date', `${showValue(raw)} ${(parseDate(raw) as {reason: string}).reason}`)
          continue
        }
        text = raw
        value = days
      } else {
        const checked = checkType(check.column.type, raw)
        if (!checked.ok) {
          ok = false
          this.problem(i, pos, raw, values, line, checked.rule, checked.message)
          continue
        }
        text = checked.text
        value = checked.value
        if (text !== raw) verbatim = false
      }
      if (check.regex !== undefined && !check.regex.test(raw)) {
        ok = false
        this.problem(i, pos, raw, values, line, 'pattern', `${showValue(raw)} does not match the pattern /${check.column.pattern}/`)
        continue
      }
      const tracker = seen[i]
      if (tracker !== undefined) {
        const first = tracker.add(text, line)
        if (first !== undefined) {
          ok = false
          this.problem(i, pos, raw, values, line, 'unique', `${showValue(raw)} is a duplicate: already on line ${first}`)
        }
      }
      texts[i] = text
      typed[i] = value
    }
    for (let i = 0; i < seen.length; i++) seen[i]?.commit(ok)
    if (!ok) {
      this.invalidRows++
      return
    }
    this.validRows++
    if (verbatim) this.addToRun()
    else {
      this.flushRun()
      this.writer?.write(texts, typed)
    }
  }

  /** A problem with canonical column `i` (from transformed value `pos`) of the row on `line`. */
  private problem(i: number, pos: number, raw: string, values: readonly string[], line: number, rule: IssueRule, message: string): void {
    const match = this.match as HeaderMatch
    const column = this.checks[i].column
    const src = pos < 0 ? -1 : match.chain.origin[pos]
    const sourceColumn = src >= 0 ? this.header[src] : undefined
    this.addIssue({
      rule,
      line: src >= 0 ? this.fieldLine(values, line, src) : line,
      column: column.name,
      ...(sourceColumn !== undefined && sourceColumn !== column.name ? {sourceColumn} : {}),
      value: raw,
      message,
    })
  }

  /** The current (valid, verbatim) record joins the run of rows written as one slice of the text. */
  private addToRun(): void {
    const r = this.reader
    // contiguous: it starts right after the LF ending the run (a blank line, a CR LF, a skipped row break the run)
    if (this.runRows > 0 && this.runChunk === r.recordChunk && r.recordStart === this.runEnd + 1) {
      this.runEnd = r.recordEnd
      this.runRows++
      return
    }
    this.flushRun()
    this.runText = r.recordText
    this.runChunk = r.recordChunk
    this.runStart = r.recordStart
    this.runEnd = r.recordEnd
    this.runRows = 1
  }

  private flushRun(): void {
    if (this.runRows === 0) return
    this.verbatim!.writeLines(`${this.runText.slice(this.runStart, this.runEnd)}\n`)
    this.runText = ''
    this.runRows = 0
  }

  /** Duplicates found on disk once the whole file is read (large files: see unique.ts), merged into the report. */
  private finishUnique(): void {
    const late: Issue[] = []
    const invalidated = new Set<number>()
    const max = this.options.maxErrors
    const byLine = (a: Issue, b: Issue) => (a.line ?? 0) - (b.line ?? 0)
    this.seen.forEach((tracker, i) => {
      tracker?.finish((d) => {
        this.errorCount++
        this.byRule.unique = (this.byRule.unique ?? 0) + 1
        if (d.rowWasValid && !invalidated.has(d.line)) {
          invalidated.add(d.line)
          this.validRows--
          this.invalidRows++
        }
        const column = this.match!.dataset.columns[i].name
        late.push({rule: 'unique', line: d.line, column, value: d.value, message: `${showValue(d.value)} is a duplicate: already on line ${d.firstLine}`})
        if (late.length > 2 * max + 16) late.sort(byLine).length = max
      })
    })
    if (late.length === 0) return
    const order = new Map(this.match!.dataset.columns.map((c, k) => [c.name, k]))
    const all = [...this.errors, ...late].sort((a, b) => byLine(a, b) || (order.get(a.column ?? '') ?? -1) - (order.get(b.column ?? '') ?? -1))
    const kept: Issue[] = []
    let listed = 0
    for (const issue of all) {
      if (issue.fatal) kept.push(issue)
      else if (listed < max) {
        kept.push(issue)
        listed++
      }
    }
    this.errors.length = 0
    this.errors.push(...kept)
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    for (const t of this.seen) t?.dispose()
    callback(error)
  }

  private report(): IngestReport {
    const m = this.match
    return {
      dataset: m?.dataset.name ?? null,
      variant: m?.variant.name ?? null,
      transforms: m ? [...(m.variant.rename ? ['rename'] : []), ...m.variant.transforms] : [],
      columns: m ? m.dataset.columns.map((c) => c.name) : [],
      rows: this.rows,
      valid: this.errorCount === 0,
      complete: !this.stopped,
      errors: this.errors,
      errorCount: this.errorCount,
      summary: {rows: this.rows, validRows: this.validRows, invalidRows: this.invalidRows, errorsByRule: {...this.byRule}},
    }
  }
}

const LF_BYTES = Buffer.from('\n')

/** A canonical column as the byte lane checks it: its field in the file, and checks as onRow does them. */
interface LaneColumn {
  /** Index of its field in the file's rows (-1: the file lacks this optional column). */
  pos: number
  required: boolean
  /** 1 string, 2 date, 0 another type (see IngestStream.kinds). */
  kind: number
  type: ColumnType
  regex: RegExp | undefined
  tracker: UniqueTracker | undefined
}

function resolveOptions(opts: IngestOptions) {
  if (opts.dataset !== undefined) getDataset(opts.datasets, opts.dataset) // unknown --dataset: CapeError now, not a report
  const maxErrors = opts.maxErrors ?? DEFAULT_MAX_ERRORS
  if (!Number.isInteger(maxErrors) || maxErrors < 0) throw new RangeError(`maxErrors must be a non-negative integer, got ${maxErrors}`)
  return {
    datasets: opts.datasets,
    ...(opts.dataset === undefined ? {} : {dataset: opts.dataset}),
    output: opts.output ?? 'none',
    maxErrors,
    rowGroupSize: opts.rowGroupSize ?? DEFAULT_ROW_GROUP_SIZE,
    maxRecordBytes: opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES,
    uniqueMemoryEntries: opts.uniqueMemoryEntries ?? DEFAULT_UNIQUE_MEMORY_ENTRIES,
    byteLane: opts.byteLane ?? true,
  }
}

/**
 * The ingest pipeline: write the raw bytes to `input`, read the curated bytes from `output`, await `result`.
 * Throws CapeError DATASET_UNKNOWN (exit usage) at once for an unknown `dataset`.
 */
export function createIngestPipeline(opts: IngestOptions): IngestPipeline {
  const stream = new IngestStream(resolveOptions(opts))
  return {input: stream, output: stream, result: stream.result, rows: () => stream.rowsRead, recycle: (chunk) => stream.recycle(chunk)}
}

/** Validate a whole stream (no curated output): the report of `cape validate`. */
export async function validateStream(
  source: Readable | AsyncIterable<Buffer | Uint8Array | string> | Iterable<Buffer | Uint8Array | string>,
  opts: Omit<IngestOptions, 'output'>,
): Promise<IngestReport> {
  const p = createIngestPipeline({...opts, output: 'none'})
  p.output.resume()
  await pipeline(source as any, p.input)
  return p.result
}
