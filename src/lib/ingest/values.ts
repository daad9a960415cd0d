import type {Column, ColumnType} from './datasets.js'
import type {IssueRule} from './report.js'
import {showValue} from './report.js'

/** A typed value as written to parquet: string, bigint (integer), number, boolean, days since 1970-01-01 (date), bigint microseconds since the epoch (timestamp). */
export type TypedValue = string | bigint | number | boolean | null

export type CheckResult = {ok: true; value: TypedValue; text: string} | {ok: false; rule: IssueRule; message: string}

const INT_RE = /^[+-]?\d+$/
const NUM_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

const TRUE = new Set(['true', '1', 'yes'])
const FALSE = new Set(['false', '0', 'no'])

export const isLeapYear = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0
const monthDays = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
export const daysInMonth = (y: number, m: number): number => (m === 2 && isLeapYear(y) ? 29 : monthDays[m - 1])

/** Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil), exact for every year. */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y
  const era = Math.floor(yy / 400)
  const yoe = yy - era * 400
  const mp = (m + 9) % 12
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
}

/** YYYY-MM-DD (ASCII digits) that is a real calendar date → days since the epoch; otherwise NaN. No allocation. */
export function dateDays(value: string): number {
  if (value.length !== 10 || value.charCodeAt(4) !== 45 || value.charCodeAt(7) !== 45) return Number.NaN
  const y = digits(value, 0, 4)
  const mo = digits(value, 5, 7)
  const d = digits(value, 8, 10)
  if (y < 0 || mo < 0 || d < 0 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return Number.NaN
  return daysFromCivil(y, mo, d)
}

/** Whether dateDays() of the UTF-8 bytes at [from, to) of `buf` is a date (same answer as on their text), without decoding them. */
export function isDateBytes(buf: Uint8Array, from: number, to: number): boolean {
  if (to - from !== 10 || buf[from + 4] !== 45 || buf[from + 7] !== 45) return false
  const y = digitBytes(buf, from, from + 4)
  const mo = digitBytes(buf, from + 5, from + 7)
  const d = digitBytes(buf, from + 8, from + 10)
  return y >= 0 && mo >= 1 && mo <= 12 && d >= 1 && d <= daysInMonth(y, mo)
}

function digitBytes(buf: Uint8Array, from: number, to: number): number {
  let n = 0
  for (let i = from; i < to; i++) {
    const c = buf[i] - 48
    if (c < 0 || c > 9) return -1
    n = n * 10 + c
  }
  return n
}

/** The number written with ASCII digits at [from, to), or -1 if any is not one. */
function digits(s: string, from: number, to: number): number {
  let n = 0
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 48
    if (c < 0 || c > 9) return -1
    n = n * 10 + c
  }
  return n
}

/** YYYY-MM-DD that is a real calendar date → days since the epoch; otherwise a reason. */
export function parseDate(value: string): {days: number} | {reason: string} {
  const days = dateDays(value)
  if (!Number.isNaN(days)) return {days}
  if (!DATE_RE.test(value)) return {reason: 'is not a date in the form YYYY-MM-DD'}
  return {reason: 'is not a real calendar date'}
}

const TIMESTAMP_RE = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|z|[+-]\d{2}(?::?\d{2})?)$/

/**
 * ISO 8601 date and time with an offset (`2026-12-06T10:15:30.123456+01:00`, `…Z`; a space for the T is accepted)
 * → microseconds since 1970-01-01T00:00:00Z (a bigint, what parquet TIMESTAMP(MICROS, UTC) stores); otherwise a
 * reason. Digits beyond microseconds are truncated. A time without an offset is refused: it names no instant.
 */
export function parseTimestamp(value: string): {micros: bigint} | {reason: string} {
  const m = TIMESTAMP_RE.exec(value)
  if (!m) {
    return /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value)
      ? {reason: 'has no UTC offset (add Z or ±hh:mm)'}
      : {reason: 'is not a timestamp in the form YYYY-MM-DDThh:mm:ss[.ffffff]±hh:mm (or Z)'}
  }
  const days = dateDays(m[1])
  if (Number.isNaN(days)) return {reason: 'is not a real calendar date'}
  const [h, min, s] = [Number(m[2]), Number(m[3]), Number(m[4] ?? '0')]
  if (h > 23 || min > 59 || s > 59) return {reason: 'is not a valid time of day'}
  const micros = Number((m[5] ?? '').padEnd(6, '0').slice(0, 6))
  let offsetMinutes = 0
  if (m[6] !== 'Z' && m[6] !== 'z') {
    const digits = m[6].slice(1).replace(':', '')
    const oh = Number(digits.slice(0, 2))
    const om = Number(digits.slice(2) || '0')
    if (oh > 23 || om > 59) return {reason: 'has an invalid UTC offset'}
    offsetMinutes = (m[6][0] === '-' ? -1 : 1) * (oh * 60 + om)
  }
  const seconds = BigInt(days) * 86_400n + BigInt(h * 3600 + min * 60 + s - offsetMinutes * 60)
  return {micros: seconds * 1_000_000n + BigInt(micros)}
}

/** Canonical text of a timestamp: UTC, `YYYY-MM-DDThh:mm:ss.ffffffZ`. */
export function timestampText(micros: bigint): string {
  const ms = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n)
  const sub = ((micros % 1000n) + 1000n) % 1000n
  const iso = new Date(Number(ms)).toISOString() // …ss.mmmZ
  return `${iso.slice(0, -1)}${String(sub).padStart(3, '0')}Z`
}

/**
 * Check one non-empty value against its column type; on success return the typed value and its canonical text for
 * the curated CSV (integers without sign/leading zeros, numbers as JavaScript prints them, booleans true/false,
 * strings with CRLF inside the value turned into LF, dates as they are).
 */
export function checkType(type: ColumnType, value: string): CheckResult {
  switch (type) {
    case 'string': {
      const text = value.includes('\r\n') ? value.replaceAll('\r\n', '\n') : value
      return {ok: true, value: text, text}
    }
    case 'integer': {
      if (!INT_RE.test(value)) return {ok: false, rule: 'integer', message: `${showValue(value)} is not an integer`}
      const n = BigInt(value)
      if (n < INT64_MIN || n > INT64_MAX) return {ok: false, rule: 'integer', message: `${showValue(value)} is out of the 64-bit integer range`}
      return {ok: true, value: n, text: n.toString()}
    }
    case 'number': {
      const n = NUM_RE.test(value) ? Number(value) : Number.NaN
      if (!Number.isFinite(n)) return {ok: false, rule: 'number', message: `${showValue(value)} is not a number`}
      return {ok: true, value: n, text: String(n)}
    }
    case 'boolean': {
      const lower = value.toLowerCase()
      if (TRUE.has(lower)) return {ok: true, value: true, text: 'true'}
      if (FALSE.has(lower)) return {ok: true, value: false, text: 'false'}
      return {ok: false, rule: 'boolean', message: `${showValue(value)} is not a boolean (true/false, yes/no, 1/0)`}
    }
    case 'date': {
      const r = parseDate(value)
      if ('reason' in r) return {ok: false, rule: 'date', message: `${showValue(value)} ${r.reason}`}
      return {ok: true, value: r.days, text: value}
    }
    case 'timestamp': {
      const r = parseTimestamp(value)
      if ('reason' in r) return {ok: false, rule: 'timestamp', message: `${showValue(value)} ${r.reason}`}
      return {ok: true, value: r.micros, text: timestampText(r.micros)}
    }
  }
}

/** A column compiled for checking: the anchored pattern, if any. */
export interface ColumnCheck {
  column: Column
  regex?: RegExp
}

export const compileColumn = (column: Column): ColumnCheck => ({
  column,
  ...(column.pattern === undefined ? {} : {regex: new RegExp(`^(?:${column.pattern})$`, 'u')}),
})

/** Empty = nothing but whitespace. */
export function isEmpty(value: string): boolean {
  if (value.length === 0) return true
  const c = value.charCodeAt(0)
  if (c > 32 && c < 127) return false // printable ASCII first: not whitespace (trim's whitespace is ≤ 32 or non-ASCII)
  return value.trim().length === 0
}
