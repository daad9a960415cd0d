import {CANONICAL, type Column, type ColumnType, type Dataset, type Datasets, type Variant} from '../ingest/datasets.js'

/**
 * Backwards compatibility of dataset definitions (pure). Each difference between the previous and the next
 * definition of a dataset is classed:
 * - breaking: a column removed or renamed, a type narrowed or changed, a column made required or unique, a pattern
 *   added or changed, a required column added, a variant dropped or changed, history or key changed, the dataset
 *   removed. Consumers' queries, requests or producers' files stop working: needs a major version bump.
 * - minor: an optional column added, a variant added, a type widened (integer → number, any → string), required or
 *   unique or a pattern dropped, the column order changed. Needs at least a minor bump.
 * - patch: descriptions and owners. No bump needed.
 * A change with no version bump at all is refused like a missing bump of its class (minor and breaking alike):
 * the version is what consumers pin, so a shape change must always move it. A lower version is refused.
 */

export type ChangeClass = 'breaking' | 'minor' | 'patch'
export type Bump = 'major' | 'minor' | 'patch' | 'none' | 'downgrade'

export interface DatasetChange {
  class: ChangeClass
  message: string
  column?: string
  variant?: string
}

export interface DatasetComparison {
  dataset: string
  status: 'new' | 'removed' | 'changed' | 'unchanged'
  previousVersion?: string
  version?: string
  bump?: Bump
  /** The bump the changes need. */
  needs: 'major' | 'minor' | 'none'
  changes: DatasetChange[]
  ok: boolean
  /** Why not ok, and what to do. */
  problem?: string
}

const RANK: Record<ChangeClass, number> = {patch: 0, minor: 1, breaking: 2}

/** integer ⊂ number ⊂ string; boolean and date ⊂ string. */
function widens(from: ColumnType, to: ColumnType): boolean {
  return to === 'string' || (from === 'integer' && to === 'number')
}

const q = JSON.stringify

function columnChanges(prev: Column[], next: Column[]): DatasetChange[] {
  const out: DatasetChange[] = []
  const before = new Map(prev.map((c) => [c.name, c]))
  const after = new Map(next.map((c) => [c.name, c]))
  const removed = prev.filter((c) => !after.has(c.name))
  const added = next.filter((c) => !before.has(c.name))
  // a removed and an added column of the same type at the same position: a rename
  for (const r of [...removed]) {
    const a = added.find((c) => c.type === r.type && next.indexOf(c) === prev.indexOf(r))
    if (!a) continue
    removed.splice(removed.indexOf(r), 1)
    added.splice(added.indexOf(a), 1)
    out.push({class: 'breaking', column: r.name, message: `column ${q(r.name)} renamed to ${q(a.name)}`})
  }
  for (const r of removed) out.push({class: 'breaking', column: r.name, message: `column ${q(r.name)} removed`})
  for (const a of added) {
    out.push(a.required
      ? {class: 'breaking', column: a.name, message: `required column ${q(a.name)} added (files without it are rejected)`}
      : {class: 'minor', column: a.name, message: `optional column ${q(a.name)} added`})
  }
  for (const n of next) {
    const p = before.get(n.name)
    if (!p) continue
    const col = n.name
    if (p.type !== n.type) {
      out.push(widens(p.type, n.type)
        ? {class: 'minor', column: col, message: `column ${q(col)} widened from ${p.type} to ${n.type}`}
        : {class: 'breaking', column: col, message: `column ${q(col)} ${widens(n.type, p.type) ? 'narrowed' : 'changed'} from ${p.type} to ${n.type}`})
    }
    if (p.required !== n.required) out.push({class: n.required ? 'breaking' : 'minor', column: col, message: `column ${q(col)} ${n.required ? 'made required' : 'no longer required'}`})
    if (p.unique !== n.unique) out.push({class: n.unique ? 'breaking' : 'minor', column: col, message: `column ${q(col)} ${n.unique ? 'made unique' : 'no longer unique'}`})
    if (p.pattern !== n.pattern) {
      out.push(n.pattern === undefined
        ? {class: 'minor', column: col, message: `column ${q(col)}: pattern dropped`}
        : {class: 'breaking', column: col, message: `column ${q(col)}: pattern ${p.pattern === undefined ? 'added' : 'changed'} (${q(n.pattern)})`})
    }
    if ((p.description ?? '') !== (n.description ?? '')) out.push({class: 'patch', column: col, message: `column ${q(col)}: description changed`})
  }
  const common = (cols: Column[], other: Map<string, Column>) => cols.filter((c) => other.has(c.name)).map((c) => c.name).join('\0')
  if (common(prev, after) !== common(next, before)) out.push({class: 'minor', message: 'column order changed'})
  return out
}

const variantShape = (v: Variant) => JSON.stringify([v.header, v.transforms, v.rename ?? {}])

function variantChanges(prev: Variant[], next: Variant[]): DatasetChange[] {
  const out: DatasetChange[] = []
  const declared = (vs: Variant[]) => new Map(vs.filter((v) => v.name !== CANONICAL).map((v) => [v.name, v]))
  const before = declared(prev)
  const after = declared(next)
  for (const [name, p] of before) {
    const n = after.get(name)
    if (!n) out.push({class: 'breaking', variant: name, message: `variant ${q(name)} dropped (its files are no longer recognised)`})
    else if (variantShape(p) !== variantShape(n)) out.push({class: 'breaking', variant: name, message: `variant ${q(name)} changed (header, rename or transforms)`})
    else if ((p.description ?? '') !== (n.description ?? '')) out.push({class: 'patch', variant: name, message: `variant ${q(name)}: description changed`})
  }
  for (const name of after.keys()) if (!before.has(name)) out.push({class: 'minor', variant: name, message: `variant ${q(name)} added`})
  return out
}

/** Every difference between two definitions of one dataset, classed. */
export function datasetChanges(prev: Dataset, next: Dataset): DatasetChange[] {
  const out = [...columnChanges(prev.columns, next.columns), ...variantChanges(prev.variants, next.variants)]
  if ((prev.history ?? 'none') !== (next.history ?? 'none')) out.push({class: 'breaking', message: `history changed from ${prev.history ?? 'none'} to ${next.history ?? 'none'}`})
  else if (q(prev.key ?? []) !== q(next.key ?? [])) out.push({class: 'breaking', message: `key changed from ${q(prev.key ?? [])} to ${q(next.key ?? [])}`})
  if ((prev.description ?? '') !== (next.description ?? '')) out.push({class: 'patch', message: 'description changed'})
  if (q([...(prev.owners ?? [])].sort()) !== q([...(next.owners ?? [])].sort())) out.push({class: 'patch', message: `owners changed from ${q(prev.owners ?? [])} to ${q(next.owners ?? [])}`})
  return out
}

const parse = (v: string | undefined) => (v === undefined ? undefined : v.split('.').map(Number))

/** The bump from one semantic version to the next. An undefined version counts as 0.0.0. */
export function versionBump(prev: string | undefined, next: string | undefined): Bump {
  const [a, b] = [parse(prev) ?? [0, 0, 0], parse(next) ?? [0, 0, 0]]
  for (const [i, kind] of (['major', 'minor', 'patch'] as const).entries()) {
    if (b[i] > a[i]) return kind
    if (b[i] < a[i]) return 'downgrade'
  }
  return 'none'
}

/** One dataset's verdict (prev undefined: new; next undefined: removed). */
export function compareDataset(name: string, prev: Dataset | undefined, next: Dataset | undefined): DatasetComparison {
  if (!prev) return {dataset: name, status: 'new', version: next?.version, needs: 'none', changes: [], ok: true}
  if (!next) {
    return {
      dataset: name, status: 'removed', previousVersion: prev.version, needs: 'major', ok: false,
      changes: [{class: 'breaking', message: `dataset ${q(name)} removed`}],
      problem: `removing dataset ${q(name)} breaks every consumer: keep its definition (a major version can change everything else)`,
    }
  }
  const changes = datasetChanges(prev, next)
  const worst = Math.max(-1, ...changes.map((c) => RANK[c.class]))
  const needs: DatasetComparison['needs'] = worst === 2 ? 'major' : worst === 1 ? 'minor' : 'none'
  const bump = versionBump(prev.version, next.version)
  const base = {dataset: name, status: changes.length > 0 ? 'changed' as const : 'unchanged' as const, previousVersion: prev.version, version: next.version, bump, needs, changes}
  const from = `${prev.version ?? '(none)'} → ${next.version ?? '(none)'}`
  if (bump === 'downgrade') return {...base, ok: false, problem: `version went down (${from})`}
  if (needs === 'major' && bump !== 'major') return {...base, ok: false, problem: `breaking ${changes.filter((c) => c.class === 'breaking').length === 1 ? 'change' : 'changes'} without a major version bump (${from}): raise the major version, or keep the old shape`}
  if (needs === 'minor' && (bump === 'none' || bump === 'patch')) return {...base, ok: false, problem: `additions without a minor version bump (${from}): raise the minor version`}
  return {...base, ok: true}
}

/** Every dataset in either set, sorted by name. */
export function compareDatasets(prev: Datasets, next: Datasets): DatasetComparison[] {
  const names = [...new Set([...prev.keys(), ...next.keys()])].sort()
  return names.map((n) => compareDataset(n, prev.get(n), next.get(n)))
}
