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

  /** `onRecord` gets each record's fields (a fresh array it may keep). */
  constructor(
    private readonly onRecord: (fields: string[]) => void,
    private readonly maxRecordBytes = 1 << 20,
  ) {}

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

  /** Parse whole records from `s`; keep an incomplete last record in `tail` (unless `end`). */
  private parse(s: string, end: boolean): CsvReadError | undefined {
    const len = s.length
    const max = this.maxRecordBytes
    let start = 0 // start of the current record
    let i = 0
    let fields: string[] = []
    let size = 0
    while (true) {
      if (i >= len) {
        // the input ends right after a delimiter, or is empty
        if (end) {
          if (fields.length > 0) {
            fields.push('')
            this.onRecord(fields)
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
          const stop = this.fieldEnd(s, next)
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
        const stop = this.fieldEnd(s, i)
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
        this.onRecord(fields)
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
      this.onRecord(fields)
      fields = []
      size = 0
      start = after
      i = after
      if (i >= len) {
        this.tail = ''
        return undefined
      }
    }
  }

  /** Index of the `,` or line end (LF, or the CR of CR LF) ending an unquoted field starting at `from`; -1 if none yet. */
  private fieldEnd(s: string, from: number): number {
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
