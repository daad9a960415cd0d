import type {CheckReport, DatasetSummary} from '../../datasets/check.js'
import type {DatasetComparison} from '../../datasets/compare.js'
import type {PublishResult} from '../../datasets/publish.js'
import type {Dataset} from '../../ingest/datasets.js'
import {table, type Style} from '../render.js'

export function renderDatasetList(datasets: DatasetSummary[]): string {
  return table(
    datasets.map((d) => [d.name, d.version ?? '-', d.owners.join(',') || '-', String(d.columns), d.variants.join(',') || '-', d.history ?? '-', d.from]),
    ['DATASET', 'VERSION', 'OWNERS', 'COLUMNS', 'VARIANTS', 'HISTORY', 'FROM'],
  )
}

export function renderDataset(d: Dataset): string {
  const lines = [`${d.name} ${d.version ?? '(no version)'}${d.description ? ` — ${d.description}` : ''}`]
  lines.push(`owners: ${d.owners?.join(', ') ?? '-'}`, `from: ${d.source === 'built-in' ? `built-in (${d.file})` : d.file ?? 'cape.yaml'}`)
  if (d.history) lines.push(`history: ${d.history}, key: ${d.key?.join(', ')}`)
  lines.push('', table(d.columns.map((c) => [c.name, c.type, c.required ? 'required' : '', c.unique ? 'unique' : '', c.pattern ?? '']), ['COLUMN', 'TYPE', 'REQUIRED', 'UNIQUE', 'PATTERN']))
  lines.push('', table(d.variants.map((v) => [v.name, v.header.join(','), [...(v.rename ? ['rename'] : []), ...v.transforms].join(', ') || '-']), ['VARIANT', 'HEADER', 'TRANSFORMS']))
  return lines.join('\n')
}

const klass = (s: Style, c: string) => (c === 'breaking' ? s.red(c) : c === 'minor' ? s.yellow(c) : s.dim(c))

function renderComparison(c: DatasetComparison, s: Style): string[] {
  const version = c.status === 'new' ? `${c.version ?? ''} (new)` : c.status === 'removed' ? `${c.previousVersion ?? ''} (removed)` : `${c.previousVersion ?? '(none)'} → ${c.version ?? '(none)'}`
  const head = `${c.ok ? s.green('ok  ') : s.red('FAIL')} ${c.dataset} ${version}${c.needs === 'none' ? '' : `, needs a ${c.needs} bump`}`
  const out = [head, ...c.changes.map((ch) => `       ${klass(s, ch.class).padEnd(8)} ${ch.message}`)]
  if (c.problem) out.push(`       ${s.red(c.problem)}`)
  return out
}

export function renderCheckReport(r: CheckReport, s: Style): string {
  if (r.against === null) return `${r.datasets.length} dataset definitions valid (compare with --against REF or --against-deployed)`
  const shown = r.comparisons.filter((c) => c.status !== 'unchanged' || !c.ok)
  const lines = [`against ${r.against}: ${shown.length === 0 ? 'no changes' : `${shown.length} changed`}`, ...shown.flatMap((c) => renderComparison(c, s))]
  return lines.join('\n')
}

export function renderPublish(r: PublishResult, s: Style): string {
  return [
    `${r.dryRun ? 'would publish' : 'published'} as ${r.caller} to s3://${r.bucket}/`,
    ...r.datasets.map((d) => `  ${d.status === 'unchanged' ? s.dim('unchanged') : s.green(d.status)} ${d.dataset} ${d.version ?? ''} → ${d.key}`),
  ].join('\n')
}
