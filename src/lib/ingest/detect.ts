import {type Dataset, type Datasets, type Variant, getDataset} from './datasets.js'
import type {Issue} from './report.js'
import {showValue} from './report.js'
import {bindTransforms, type TransformChain} from './transforms.js'

/**
 * Header → {dataset, variant}. A variant matches a header when every header column belongs to the variant and every
 * required column of the variant is present (optional columns may be left out; order does not matter). Header names
 * are compared exactly, after trimming surrounding whitespace.
 */
export interface HeaderMatch {
  dataset: Dataset
  variant: Variant
  /** The variant's transforms bound to the file's header. */
  chain: TransformChain
  /** For each canonical column, its index in the transformed values, or -1 when the file does not have it. */
  positions: number[]
}

export type DetectResult = {ok: true; match: HeaderMatch} | {ok: false; issues: Issue[]}

const DELIMITERS: Array<[string, string]> = [[';', 'semicolon'], ['\t', 'tab'], ['|', 'pipe']]

const q = (s: string) => JSON.stringify(s)
const list = (names: string[]) => names.map(q).join(', ')

/** Levenshtein distance, small strings only. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({length: b.length + 1}, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]
    prev[0] = i
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1))
      diag = up
    }
  }
  return prev[b.length]
}

/** The candidate a mistyped/mis-cased header name most likely meant, if any is close. */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[\s_-]+/g, '')
  let best: string | undefined
  let bestScore = Number.POSITIVE_INFINITY
  for (const c of candidates) {
    const score = norm(c) === norm(name) ? 0 : editDistance(name.toLowerCase(), c.toLowerCase())
    const limit = Math.max(1, Math.floor(Math.min(name.length, c.length) / 4))
    if (score <= limit && score < bestScore) {
      best = c
      bestScore = score
    }
  }
  return best
}

interface Candidate {
  dataset: Dataset
  variant: Variant
  missing: string[]
  unexpected: string[]
  overlap: number
  jaccard: number
}

function requiredSourceColumns(dataset: Dataset, variant: Variant): string[] {
  const chain = bindTransforms(variant.header, variant.transforms, variant.rename)
  const out: string[] = []
  for (const col of dataset.columns) {
    if (!col.required) continue
    const j = chain.header.indexOf(col.name)
    if (j >= 0 && chain.origin[j] >= 0) out.push(variant.header[chain.origin[j]])
  }
  return out
}

function compare(header: readonly string[], dataset: Dataset, variant: Variant): Candidate {
  const inFile = new Set(header)
  const inVariant = new Set(variant.header)
  const unexpected = header.filter((h) => !inVariant.has(h))
  const missing = requiredSourceColumns(dataset, variant).filter((r) => !inFile.has(r))
  const overlap = header.filter((h) => inVariant.has(h)).length
  const union = new Set([...header, ...variant.header]).size
  return {dataset, variant, missing, unexpected, overlap, jaccard: union === 0 ? 0 : overlap / union}
}

const variantLabel = (c: {dataset: Dataset; variant: Variant}) =>
  c.variant.name === 'canonical' ? c.dataset.name : `${c.dataset.name} (variant ${c.variant.name})`

/** Problems with the header itself, before any dataset is considered: wrong delimiter, duplicate names. */
export function checkHeaderShape(header: readonly string[]): Issue[] {
  if (header.length === 1) {
    const only = header[0]
    const counts = DELIMITERS.map(([d, name]) => ({d, name, n: only.split(d).length - 1})).filter((c) => c.n > 0)
    counts.sort((a, b) => b.n - a.n)
    if (counts.length > 0) {
      const {d, name} = counts[0]
      return [{
        rule: 'delimiter',
        line: 1,
        value: only,
        message: `the header is a single column ${showValue(only)}: the file looks ${name}-separated (${JSON.stringify(d)}), but cape reads comma-separated CSV`,
        hints: [`Export the file with "," as the delimiter (in a spreadsheet: "CSV UTF-8 (Comma delimited)").`],
        fatal: true,
      }]
    }
  }
  const issues: Issue[] = []
  const firstAt = new Map<string, number>()
  const reported = new Set<string>()
  header.forEach((name, i) => {
    const first = firstAt.get(name)
    if (first === undefined) {
      firstAt.set(name, i)
      return
    }
    if (reported.has(name)) return
    reported.add(name)
    const positions = header.map((h, k) => (h === name ? k + 1 : 0)).filter((k) => k > 0)
    issues.push({
      rule: 'header-duplicate',
      line: 1,
      column: name,
      message: `column ${q(name)} appears more than once in the header (columns ${positions.join(', ')})`,
      fatal: true,
    })
  })
  return issues
}

function bindMatch(dataset: Dataset, variant: Variant, header: readonly string[]): HeaderMatch {
  const chain = bindTransforms(header, variant.transforms, variant.rename)
  const positions = dataset.columns.map((c) => chain.header.indexOf(c.name))
  return {dataset, variant, chain, positions}
}

function knownHeaders(datasets: Iterable<Dataset>): string[] {
  const out: string[] = []
  for (const d of datasets) for (const v of d.variants) out.push(`  ${variantLabel({dataset: d, variant: v})}: ${v.header.join(',')}`)
  return out
}

function nearMisses(c: Candidate): string[] {
  const pool = c.variant.header.filter((h) => !c.unexpected.includes(h))
  const hints: string[] = []
  for (const u of c.unexpected) {
    const m = closestName(u, pool)
    if (m !== undefined) hints.push(`${q(u)}: did you mean ${q(m)}?`)
  }
  return hints
}

/**
 * Find the dataset and variant of a header (names already trimmed). With `forced`, only that dataset is considered
 * and a mismatch lists each missing and unexpected column. Throws CapeError DATASET_UNKNOWN for an unknown `forced`.
 */
export function detectDataset(header: readonly string[], datasets: Datasets, forced?: string): DetectResult {
  const shape = checkHeaderShape(header)
  if (shape.length > 0) return {ok: false, issues: shape}
  const pool = forced === undefined ? [...datasets.values()] : [getDataset(datasets, forced)]
  const candidates = pool.flatMap((d) => d.variants.map((v) => compare(header, d, v)))
  let best: Candidate | undefined
  for (const c of candidates) {
    if (c.missing.length === 0 && c.unexpected.length === 0 && (best === undefined || c.overlap > best.overlap)) best = c
  }
  if (best !== undefined) return {ok: true, match: bindMatch(best.dataset, best.variant, header)}

  let closest = candidates[0]
  for (const c of candidates) {
    if (c.jaccard > closest.jaccard || (c.jaccard === closest.jaccard && c.missing.length + c.unexpected.length < closest.missing.length + closest.unexpected.length)) closest = c
  }
  const diff = [
    ...(closest.missing.length > 0 ? [`missing ${list(closest.missing)}`] : []),
    ...(closest.unexpected.length > 0 ? [`unexpected ${list(closest.unexpected)}`] : []),
  ].join('; ')

  if (forced === undefined) {
    return {ok: false, issues: [{
      rule: 'header-unknown',
      line: 1,
      value: header.join(','),
      message: `the header matches no known dataset; closest is ${variantLabel(closest)}: ${diff}`,
      hints: [
        ...nearMisses(closest),
        'Known headers (order does not matter; optional columns may be left out):',
        ...knownHeaders(datasets.values()),
        'Pass --dataset NAME to check the file against one dataset and list every missing and unexpected column.',
      ],
      fatal: true,
    }]}
  }

  const label = variantLabel(closest)
  const expected = [`Expected header for ${forced}:`, ...knownHeaders(pool)]
  const issues: Issue[] = []
  for (const m of closest.missing) {
    issues.push({rule: 'header-missing', line: 1, column: m, message: `required column ${q(m)} is missing (dataset ${label})`, fatal: true})
  }
  for (const u of closest.unexpected) {
    const near = closestName(u, closest.variant.header.filter((h) => !header.includes(h)))
    issues.push({
      rule: 'header-unexpected',
      line: 1,
      column: u,
      message: `column ${q(u)} is not part of dataset ${label}${near === undefined ? '' : ` (did you mean ${q(near)}?)`}`,
      fatal: true,
    })
  }
  issues[0].hints = expected
  return {ok: false, issues}
}
