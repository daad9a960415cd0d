import type {ResultColumn, ResultRow} from './execute.js'

/** Output formats of `cape query`. */
export const queryFormats = ['table', 'csv', 'json', 'ndjson'] as const
export type QueryFormat = (typeof queryFormats)[number]

const NUMERIC = /^(tinyint|smallint|int|integer|bigint|real|float|double|decimal)\b/
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/

export const isNumericType = (type: string): boolean => NUMERIC.test(type.toLowerCase())
const isStringType = (type: string): boolean => /^(varchar|char|string)\b/.test(type.toLowerCase())

/**
 * One value as JSON text, typed by its column: numbers as numbers (their digits as Athena wrote them, so bigint and
 * decimal keep every digit), booleans as booleans, NULL — and an empty value of a non-string column — as null.
 * NaN/Infinity (not JSON numbers) stay strings.
 */
export function jsonValue(type: string, text: string | null): string {
  if (text === null) return 'null'
  if (text === '' && !isStringType(type)) return 'null'
  if (isNumericType(type)) {
    const t = text.startsWith('+') ? text.slice(1) : text
    return JSON_NUMBER.test(t) ? t : JSON.stringify(text)
  }
  if (type.toLowerCase() === 'boolean' && (text === 'true' || text === 'false')) return text
  return JSON.stringify(text)
}

/** One row as a JSON object text, keys the column names. */
export function jsonRow(columns: ResultColumn[], row: ResultRow): string {
  return `{${columns.map((c, i) => `${JSON.stringify(c.name)}:${jsonValue(c.type, row[i] ?? null)}`).join(',')}}`
}

/** RFC 4180: quoted when it holds a comma, quote, CR or LF (or starts/ends with a space); NULL is empty. */
export function csvField(value: string | null): string {
  if (value === null) return ''
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replaceAll('"', '""')}"` : value
}

export const csvLine = (values: ResultRow): string => `${values.map((v) => csvField(v)).join(',')}\n`

/** Turns result pages into text: `head()` once the columns are known, `rows()` per page, `end()` last. */
export interface Formatter {
  head(columns: ResultColumn[]): string
  rows(rows: ResultRow[]): string
  end(): string
}

export function createFormatter(format: QueryFormat, options: {maxWidth?: number} = {}): Formatter {
  let columns: ResultColumn[] = []
  switch (format) {
    case 'csv':
      return {head: (c) => csvLine(c.map((x) => x.name)), rows: (rows) => rows.map((r) => csvLine(r)).join(''), end: () => ''}
    case 'ndjson':
      return {
        head: (c) => {
          columns = c
          return ''
        },
        rows: (rows) => rows.map((r) => `${jsonRow(columns, r)}\n`).join(''),
        end: () => '',
      }
    case 'json': {
      let count = 0
      return {
        head: (c) => {
          columns = c
          return ''
        },
        rows: (rows) => rows.map((r) => `${count++ === 0 ? '[\n' : ',\n'}${jsonRow(columns, r)}`).join(''),
        end: () => (count === 0 ? '[]\n' : '\n]\n'),
      }
    }
    case 'table':
      return tableFormatter(options.maxWidth ?? 40)
  }
}

const cellText = (v: string | null): string => (v === null ? 'NULL' : v.replaceAll(/\r?\n/g, '↵'))
const fit = (s: string, width: number): string => (s.length > width ? `${s.slice(0, width - 1)}…` : s)

/**
 * An aligned text table. Column widths come from the header and the first page (up to 1,000 rows), so a result of
 * any size streams; a longer value later is cut with … (as is any value over maxWidth).
 */
function tableFormatter(maxWidth: number): Formatter {
  let columns: ResultColumn[] = []
  let widths: number[] | undefined
  let pending = ''
  const line = (cells: string[]) =>
    `${cells.map((c, i) => (isNumericType(columns[i].type) ? fit(c, widths![i]).padStart(widths![i]) : fit(c, widths![i]).padEnd(widths![i]))).join('  ').trimEnd()}\n`
  const start = (rows: ResultRow[]) => {
    widths = columns.map((c, i) => Math.min(maxWidth, Math.max(c.name.length, 1, ...rows.map((r) => cellText(r[i] ?? null).length))))
    return line(columns.map((c) => c.name)) + line(widths.map((w) => '─'.repeat(w)))
  }
  return {
    head(c) {
      columns = c
      return ''
    },
    rows(rows) {
      if (columns.length === 0) return ''
      pending = widths ? '' : start(rows)
      return pending + rows.map((r) => line(columns.map((_, i) => cellText(r[i] ?? null)))).join('')
    },
    end: () => (widths || columns.length === 0 ? '' : start([])),
  }
}
