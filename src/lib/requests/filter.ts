import type {Column, Dataset} from '../ingest/datasets.js'
import {parseDate, parseTimestamp, type TypedValue} from '../ingest/values.js'

/**
 * Filters: the typed value of a filter (checked against its column's type) and the compiled row predicate. The one
 * place that decides what a filter value means, used by request validation (CLI and extractor) and extraction.
 */

export const FILTER_OPS = ['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'in', 'between', 'contains'] as const
export type FilterOp = (typeof FILTER_OPS)[number]
export type Scalar = string | number | boolean

export interface RequestFilter {
  column: string
  op: FilterOp
  value?: Scalar
  values?: Scalar[]
}

const ORDERED = new Set<FilterOp>(['lt', 'lte', 'gt', 'gte', 'between'])
/** Ops that take `values` (a list) instead of `value`. */
export const LIST_OPS = new Set<FilterOp>(['in', 'between'])

const show = (v: unknown) => JSON.stringify(v)

/** A JSON filter value → the typed value of its column (as the ingest core types it), or why it does not fit. */
export function typedFilterValue(column: Column, value: unknown): {ok: true; value: TypedValue} | {ok: false; message: string} {
  const name = show(column.name)
  switch (column.type) {
    case 'string':
      return typeof value === 'string' ? {ok: true, value} : {ok: false, message: `${show(value)} is not a string (column ${name} is a string)`}
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) return {ok: false, message: `${show(value)} is not an integer (column ${name} is an integer)`}
      if (!Number.isSafeInteger(value)) return {ok: false, message: `${show(value)} is outside the exact integer range of JSON (±2^53)`}
      return {ok: true, value: BigInt(value)}
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? {ok: true, value} : {ok: false, message: `${show(value)} is not a number (column ${name} is a number)`}
    case 'boolean':
      return typeof value === 'boolean' ? {ok: true, value} : {ok: false, message: `${show(value)} is not true or false (column ${name} is a boolean)`}
    case 'date': {
      if (typeof value !== 'string') return {ok: false, message: `${show(value)} is not a date "YYYY-MM-DD" (column ${name} is a date)`}
      const d = parseDate(value)
      return 'days' in d ? {ok: true, value: d.days} : {ok: false, message: `${show(value)} ${d.reason}`}
    }
    case 'timestamp': {
      if (typeof value !== 'string') return {ok: false, message: `${show(value)} is not a timestamp "YYYY-MM-DDThh:mm:ss±hh:mm" (column ${name} is a timestamp)`}
      const t = parseTimestamp(value)
      return 'micros' in t ? {ok: true, value: t.micros} : {ok: false, message: `${show(value)} ${t.reason}`}
    }
  }
}

/** Problems of one (well-formed) filter against the dataset: [JSON-pointer suffix, message] pairs. */
export function filterProblems(filter: RequestFilter, dataset: Dataset): Array<[string, string]> {
  const column = dataset.columns.find((c) => c.name === filter.column)
  if (!column) return [['/column', `unknown column ${show(filter.column)} of dataset ${show(dataset.name)} (columns: ${dataset.columns.map((c) => c.name).join(', ')})`]]
  const problems: Array<[string, string]> = []
  if (filter.op === 'contains' && column.type !== 'string') problems.push(['/op', `"contains" works on string columns only; ${show(column.name)} is ${article(column.type)}`])
  if (ORDERED.has(filter.op) && column.type === 'boolean') problems.push(['/op', `"${filter.op}" needs ordered values; ${show(column.name)} is a boolean (use eq, ne or in)`])
  if (problems.length > 0) return problems
  if (LIST_OPS.has(filter.op)) {
    const typed: TypedValue[] = []
    ;(filter.values ?? []).forEach((v, i) => {
      const t = typedFilterValue(column, v)
      if (t.ok) typed.push(t.value)
      else problems.push([`/values/${i}`, t.message])
    })
    if (filter.op === 'between' && problems.length === 0 && typed.length === 2 && (typed[0] as number) > (typed[1] as number)) {
      problems.push(['/values', `the lower bound ${show(filter.values![0])} is greater than the upper bound ${show(filter.values![1])}`])
    }
  } else {
    const t = typedFilterValue(column, filter.value)
    if (!t.ok) problems.push(['/value', t.message])
  }
  return problems
}

const article = (type: string) => (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`)

/** A row as the extractor sees it: typed values in the dataset's column order (null = empty). */
export type Row = ReadonlyArray<TypedValue>
export type RowPredicate = (row: Row) => boolean

/**
 * Compile valid filters into one predicate (all must match). An empty value (null) matches only `ne`.
 * Strings compare by code unit, integers as bigint, dates by day, `contains` is case-sensitive.
 */
export function compileFilters(filters: readonly RequestFilter[], dataset: Dataset): RowPredicate {
  const tests = filters.map((f): RowPredicate => {
    const index = dataset.columns.findIndex((c) => c.name === f.column)
    const column = dataset.columns[index]
    const typed = (v: unknown) => {
      const t = typedFilterValue(column, v)
      if (!t.ok) throw new Error(`filter on ${column.name}: ${t.message}`)
      return t.value as any
    }
    if (f.op === 'in') {
      const set = new Set((f.values ?? []).map(typed))
      return (row) => row[index] !== null && set.has(row[index])
    }
    if (f.op === 'between') {
      const [lo, hi] = (f.values ?? []).map(typed)
      return (row) => row[index] !== null && (row[index] as any) >= lo && (row[index] as any) <= hi
    }
    const v = typed(f.value)
    switch (f.op) {
      case 'eq':
        return (row) => row[index] !== null && row[index] === v
      case 'ne':
        return (row) => row[index] !== v
      case 'lt':
        return (row) => row[index] !== null && (row[index] as any) < v
      case 'lte':
        return (row) => row[index] !== null && (row[index] as any) <= v
      case 'gt':
        return (row) => row[index] !== null && (row[index] as any) > v
      case 'gte':
        return (row) => row[index] !== null && (row[index] as any) >= v
      case 'contains':
        return (row) => row[index] !== null && (row[index] as string).includes(v)
    }
  })
  if (tests.length === 0) return () => true
  if (tests.length === 1) return tests[0]
  return (row) => {
    for (const t of tests) if (!t(row)) return false
    return true
  }
}
