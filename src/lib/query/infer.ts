import {createReadStream, existsSync} from 'node:fs'
import path from 'node:path'
import {parse} from 'csv-parse'
import {inputRejected, notFoundError} from '../cli/errors.js'
import type {ColumnType} from '../ingest/datasets.js'
import {checkType, isEmpty} from '../ingest/values.js'

/** Distinct values kept per column to find unique candidates; past this a column is not reported as unique. */
export const UNIQUE_LIMIT = 200_000
const ORDER: ColumnType[] = ['integer', 'number', 'boolean', 'date']

export interface InferredColumn {
  name: string
  type: ColumnType
  required: boolean
  unique: boolean
}

export interface InferResult {
  name: string
  file: string
  rows: number
  /** Every row is read (a full pass, one row in memory at a time; distinct values up to UNIQUE_LIMIT per column). */
  pass: 'full'
  definition: {columns: InferredColumn[]}
  /** Columns whose values are all distinct in this file, besides the one marked unique. */
  uniqueCandidates: string[]
}

interface ColumnState {
  types: Set<ColumnType>
  empties: number
  seen: Set<string> | undefined
}

/** A dataset name from a file name: lower case, `_` for anything else, starting with a letter. */
export function datasetName(file: string): string {
  const base = path.basename(file).replace(/\.[^.]*$/, '').toLowerCase().replaceAll(/[^a-z0-9_-]+/g, '_')
  return /^[a-z]/.test(base) ? base : `d_${base}`
}

/**
 * Infer a dataset definition (the shape cape.yaml `datasets:` takes) from a CSV file, checking each value with the
 * same checks ingest uses, so the file validates against what is inferred: the first of integer, number, boolean,
 * date (YYYY-MM-DD, the only date form the dataset model has) that every non-empty value passes, else string.
 */
export async function inferDataset(file: string, options: {name?: string; signal?: AbortSignal} = {}): Promise<InferResult> {
  if (!existsSync(file)) throw notFoundError('FILE_NOT_FOUND', `${file}: no such file.`)
  const parser = createReadStream(file, {signal: options.signal}).pipe(parse({bom: true, relax_column_count: false, skip_empty_lines: true}))
  let header: string[] | undefined
  let states: ColumnState[] = []
  let rows = 0
  for await (const record of parser as AsyncIterable<string[]>) {
    if (!header) {
      header = record.map((h) => h.trim())
      const dupes = header.filter((h, i) => h === '' || header!.indexOf(h) !== i)
      if (dupes.length > 0) throw inputRejected('INFER_HEADER', `${file}:1: the header has empty or repeated names (${dupes.map((d) => JSON.stringify(d)).join(', ')}).`)
      states = header.map(() => ({types: new Set(ORDER), empties: 0, seen: new Set<string>()}))
      continue
    }
    rows++
    for (const [i, value] of record.entries()) observe(states[i], value)
  }
  if (!header) throw inputRejected('INFER_EMPTY', `${file} is empty: there is no header to infer from.`)
  const columns = header.map((name, i) => toColumn(name, states[i], rows))
  const key = columns.find((c) => c.unique)
  const uniqueCandidates = columns.filter((c) => c.unique && c !== key).map((c) => c.name)
  for (const c of columns) c.unique = c === key
  return {name: options.name ?? datasetName(file), file, rows, pass: 'full', definition: {columns}, uniqueCandidates}
}

function observe(s: ColumnState, value: string): void {
  if (isEmpty(value)) {
    s.empties++
    return
  }
  for (const t of s.types) if (!checkType(t, value).ok) s.types.delete(t)
  if (s.seen) {
    if (s.seen.has(value) || s.seen.size >= UNIQUE_LIMIT) s.seen = undefined
    else s.seen.add(value)
  }
}

function toColumn(name: string, s: ColumnState, rows: number): InferredColumn {
  const nonEmpty = rows - s.empties
  const type = nonEmpty === 0 ? 'string' : (ORDER.find((t) => s.types.has(t)) ?? 'string')
  const required = rows > 0 && s.empties === 0
  // a key-like column: present everywhere, all distinct, and not a measure
  const unique = required && s.seen !== undefined && (type === 'string' || type === 'integer')
  return {name, type, required, unique}
}

/** The definition as YAML, ready to paste under cape.yaml `datasets:`. */
export function inferYaml(r: InferResult): string {
  const col = (c: InferredColumn) => `      - {name: ${yamlKey(c.name)}, type: ${c.type}${c.required ? ', required: true' : ''}${c.unique ? ', unique: true' : ''}}`
  const notes = r.uniqueCandidates.length > 0 ? [`    # also all distinct in this file: ${r.uniqueCandidates.join(', ')}`] : []
  return [`# inferred from ${r.file} (${r.rows} rows, every row read)`, 'datasets:', `  ${r.name}:`, '    columns:', ...r.definition.columns.map(col), ...notes, ''].join('\n')
}

const yamlKey = (s: string): string => (/^[A-Za-z_][A-Za-z0-9_ -]*$/.test(s) && s.trim() === s ? s : JSON.stringify(s))
