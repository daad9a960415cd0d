/**
 * A CSV record reader and line writer for the ingest hot path, ~10× faster than csv-parse / csv-stringify on the
 * same input (they build every field byte by byte; this scans decoded text with indexOf and slices). It implements
 * exactly the dialect the ingest core configures csv-parse with — `bom: true, delimiter: ',', record_delimiter:
 * ['\r\n', '\n'], relax_quotes: true, relax_column_count: true, max_record_size` — with csv-parse's results, and
 * test/lib/ingest/csv-fast.test.ts checks it against csv-parse on fuzzed input.
 *
 * Dialect: `"` opens a quoted field only as its first character; inside, `""` is a quote and the field closes at a
 * `"` followed by `,`, a line end or the end of input. A `"` followed by anything else does not close it: the field
 * then continues unquoted as `"<content so far>"…` (csv-parse's relax_quotes). Elsewhere `"` is an ordinary
 * character. A lone CR is an ordinary character. A blank line is a record of one empty field.
 */

export interface CsvReadError {
  code: 'CSV_QUOTE_NOT_CLOSED' | 'CSV_MAX_RECORD_SIZE'
  message: string
}

const QUOTE = 34
const COMMA = 44
const LF = 10
const CR = 13

export class CsvRecordReader {
  private tail = ''
  private bomChecked = false
  private failed = false

  /**
   * Where the record being handed to `onRecord` is (valid during that call only): its text, the start of the record
   * and the end of its content (before the line end, or the end of input), whether it ended with CR LF, and whether
   * the content is "clean" — holds no `"` and no CR, so no field was quoted and each field is its text as is.
   * `recordChunk` changes with every parsed piece of text (records of the same chunk share `recordText`).
   */
  recordText = ''
  recordStart = 0
  recordEnd = 0
  recordCrLf = false
  recordClean = false
  recordChunk = 0

  /** `onRecord` gets each record's fields (a fresh array it may keep). */
  constructor(
    private readonly onRecord: (fields: string[]) => void,
    private readonly maxRecordBytes = 1 << 20,
  ) {}

  /** True while a record is incomplete: the text pushed so far ends inside it (a quoted line break, or no line end yet). */
  get pending(): boolean {
    return this.tail.length > 0
  }

  /** True once push() or end() returned an error (nothing more is parsed). */
  get stoppedByError(): boolean {
    return this.failed
  }

  /** Parse the next piece of text (whole characters). Returns an error once; nothing is parsed after it. */
  push(text: string): CsvReadError | undefined {
    if (this.failed) return undefined
    let s = this.tail.length > 0 ? this.tail + text : text
    if (!this.bomChecked) {
      if (s.length === 0) return undefined
      this.bomChecked = true
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1)
    }
    return this.parse(s, false)
  }

  end(): CsvReadError | undefined {
    if (this.failed) return undefined
    const s = this.tail
    this.tail = ''
    if (!this.bomChecked && s.charCodeAt(0) === 0xfeff) return this.parse(s.slice(1), true)
    return this.parse(s, true)
  }

  private fail(error: CsvReadError): CsvReadError {
    this.failed = true
    this.tail = ''
    return error
  }

  /** Hand a record over, with its span (see recordText). */
  private emit(fields: string[], s: string, start: number, end: number, crlf: boolean, clean: boolean): void {
    this.recordText = s
    this.recordStart = start
    this.recordEnd = end
    this.recordCrLf = crlf
    this.recordClean = clean
    this.onRecord(fields)
  }

  /** Parse whole records from `s`; keep an incomplete last record in `tail` (unless `end`). */
  private parse(s: string, end: boolean): CsvReadError | undefined {
    this.recordChunk++
    const len = s.length
    const max = this.maxRecordBytes
    let start = 0 // start of the current record
    let i = 0
    let fields: string[] = []
    let size = 0
    // next positions of `,` `\n` `"` CR at or after where they were last looked for (len: none); indexOf is only
    // called again once the scan has passed them, so each character is searched at most once per kind
    let comma = -1
    let lf = -1
    let quote = -1
    let cr = -1
    let quoted = false // a field of the current record started with a quote
    while (true) {
      if (i >= len) {
        // the input ends right after a delimiter, or is empty
        if (end) {
          if (fields.length > 0) {
            fields.push('')
            this.emit(fields, s, start, len, false, false)
          }
          this.tail = ''
        } else {
          this.tail = s.slice(start)
        }
        return undefined
      }
      let value: string
      let next: number // index of the delimiter / line end after the field, or len
      if (s.charCodeAt(i) === QUOTE) {
        quoted = true
        let content = ''
        let seg = i + 1
        let relaxed = false
        for (;;) {
          const q = s.indexOf('"', seg)
          if (q === -1 || (q + 1 >= len && !end) || (s.charCodeAt(q + 1) === CR && q + 2 >= len && !end)) {
            // not closed yet: need more text (or, at the end, it never closes)
            if (end && q === -1) return this.fail({code: 'CSV_QUOTE_NOT_CLOSED', message: 'Quote Not Closed'})
            if (len - start > max) return this.fail({code: 'CSV_MAX_RECORD_SIZE', message: 'Max Record Size'})
            this.tail = s.slice(start)
            return undefined
          }
          const c = s.charCodeAt(q + 1)
          if (c === QUOTE) {
            content += s.slice(seg, q + 1)
            seg = q + 2
            continue
          }
          content += s.slice(seg, q)
          if (q + 1 >= len || c === COMMA || c === LF || (c === CR && s.charCodeAt(q + 2) === LF)) {
            next = q + 1
          } else {
            relaxed = true // an invalid closing quote: the field goes on unquoted, quotes included
            next = q + 1
          }
          break
        }
        if (relaxed) {
          const stop = fieldEnd(s, next)
          if (stop === -1 && !end) {
            if (len - start > max) return this.fail({code: 'CSV_MAX_RECORD_SIZE', message: 'Max Record Size'})
            this.tail = s.slice(start)
            return undefined
          }
          const e = stop === -1 ? len : stop
          value = `"${content}"${s.slice(next, e)}`
          next = e
        } else {
          value = content
        }
      } else {
        // the `,` or line end (LF, or the CR of CR LF) ending this unquoted field
        if (comma < i) comma = indexOr(s, ',', i, len)
        if (lf < i) lf = indexOr(s, '\n', i, len)
        let stop: number
        if (comma < lf) stop = comma
        else if (lf === len) stop = -1 // no line end yet (a CR at the very end may be the first half of CR LF)
        else stop = lf > i && s.charCodeAt(lf - 1) === CR ? lf - 1 : lf
        if (stop === -1) {
          if (!end) {
            if (len - start > max) return this.fail({code: 'CSV_MAX_RECORD_SIZE', message: 'Max Record Size'})
            this.tail = s.slice(start)
            return undefined
          }
          value = s.slice(i, len)
          next = len
        } else {
          value = s.slice(i, stop)
          next = stop
        }
      }
      size += value.length
      if (size > max) return this.fail({code: 'CSV_MAX_RECORD_SIZE', message: 'Max Record Size'})
      fields.push(value)
      if (next >= len) {
        // end of input (only reached when `end`)
        this.emit(fields, s, start, len, false, false)
        this.tail = ''
        return undefined
      }
      const c = s.charCodeAt(next)
      if (c === COMMA) {
        i = next + 1
        continue
      }
      // a line end: LF, or CR LF
      const after = c === CR ? next + 2 : next + 1
      let clean = false
      if (!quoted) {
        if (quote < start) quote = indexOr(s, '"', start, len)
        if (cr < start) cr = indexOr(s, '\r', start, len)
        clean = quote >= next && cr >= next
      }
      this.emit(fields, s, start, next, c === CR, clean)
      fields = []
      size = 0
      quoted = false
      start = after
      i = after
      if (i >= len) {
        this.tail = ''
        return undefined
      }
    }
  }
}

/** s.indexOf(c, from), or `none` when absent. */
function indexOr(s: string, c: string, from: number, none: number): number {
  const k = s.indexOf(c, from)
  return k === -1 ? none : k
}

/** Index of the `,` or line end (LF, or the CR of CR LF) ending an unquoted field starting at `from`; -1 if none yet. */
function fieldEnd(s: string, from: number): number {
  const comma = s.indexOf(',', from)
  let lf = s.indexOf('\n', from)
  if (comma !== -1 && (lf === -1 || comma < lf)) return comma
  if (lf === -1) {
    // a CR at the very end may be the first half of CR LF: wait for more
    return -1
  }
  if (lf > from && s.charCodeAt(lf - 1) === CR) lf-- // CR LF
  return lf
}

/** One CSV line (no line end): quotes only fields holding `,` `"` CR or LF, doubling `"` — csv-stringify's output for cape's options. */
export function csvLine(fields: readonly string[]): string {
  let out = ''
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]
    if (i > 0) out += ','
    if (needsQuotes(f)) out += `"${f.replace(/"/g, '""')}"`
    else out += f
  }
  return out
}

const NEEDS_QUOTES = /[",\r\n]/

function needsQuotes(f: string): boolean {
  return NEEDS_QUOTES.test(f)
}
