import type {DbIngestResult} from '../../feeds/postgres.js'
import type {IngestFileResult, IngestResult} from '../../ingest/ingest.js'
import {renderReport} from '../../ingest/report.js'
import type {ValidateResult} from '../../ingest/validate-files.js'
import {table, type Style} from '../render.js'

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

/** `cape validate`: each file's report (headline coloured), then a one-line summary. */
export function renderValidation(result: ValidateResult, s: Style): string {
  const blocks = result.files.map((f) => {
    const [head, ...rest] = renderReport(f, {file: f.file}).split('\n')
    return [f.valid ? `${s.green('✓')} ${head}` : `${s.red('✗')} ${head}`, ...rest.map((l) => `  ${l}`)].join('\n')
  })
  const {files, valid, invalid} = result.counts
  const summary = invalid === 0
    ? s.green(`${plural(files, 'file')} checked: all valid.`)
    : s.red(`${plural(files, 'file')} checked: ${valid} valid, ${invalid} invalid.`)
  return [...blocks, summary].join('\n')
}

const statusText = (f: IngestFileResult, s: Style): string => {
  switch (f.status) {
    case 'ingested':
      return s.green('ingested')
    case 'skipped':
      return s.dim('skipped')
    case 'planned':
      return f.errorCount === 0 ? s.cyan('would ingest') : s.red('would reject')
    case 'rejected':
      return s.red('rejected')
    case 'timeout':
      return s.yellow('timeout')
    default:
      return s.red('failed')
  }
}

/** `cape ingest`: the reports of rejected files, a table of every file, the totals and where things are. */
export function renderIngest(result: IngestResult, s: Style): string {
  const lines: string[] = []
  for (const f of result.files) {
    if (f.reportText) lines.push(s.red(`✗ ${f.source}`), ...f.reportText.split('\n').map((l) => `  ${l}`), '')
  }
  const rows = result.files.map((f) => [
    statusText(f, s),
    f.source,
    f.dataset ? `${f.dataset}/${f.variant ?? '-'}` : '-',
    f.rows === null ? '-' : String(f.rows),
    f.curatedKey ? `curated/${f.curatedKey}` : f.status === 'rejected' ? `raw/${f.reportKey}` : f.rawKey ? `raw/${f.rawKey}` : (f.error?.message ?? ''),
  ])
  lines.push(table(rows, ['STATUS', 'SOURCE', 'DATASET/VARIANT', 'ROWS', 'WHERE']))
  const c = result.counts
  const parts = Object.entries(c).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k === 'planned' ? 'planned' : k}`)
  lines.push('', `${result.dryRun ? 'Dry run (nothing written): ' : ''}${parts.join(', ')} — transform ${result.transform}, output ${result.output}; raw: ${result.buckets.raw}, curated: ${result.buckets.curated}`)
  const columns = result.files.find((f) => (f.status === 'ingested' || f.status === 'planned') && f.columns.length > 0)?.columns
  if (columns) lines.push(`curated columns: ${columns.join(', ')}`)
  return lines.join('\n')
}

/** The failed files with their hints (for stderr). */
export function renderIngestFailures(result: IngestResult, s: Style): string {
  const lines: string[] = []
  for (const f of result.files) {
    if ((f.status === 'failed' || f.status === 'timeout') && f.error) {
      lines.push(s.red(`✗ ${f.source}: ${f.error.message}`), s.dim(`  code: ${f.error.code}`))
      for (const h of f.error.hints) lines.push(`  ${s.cyan('→')} ${h}`)
    }
  }
  return lines.join('\n')
}

/** `cape ingest db:<source>`: one line per table (rows, watermark before → after, seconds). */
export function renderDbIngest(result: DbIngestResult): string {
  const edge = (w: DbIngestResult['tables'][number]['watermarkBefore']) => (w ? `${w.value} [${w.key.join(', ')}]` : 'start')
  const lines = result.tables.map((t) => `${result.dryRun ? 'would read' : 'read'} ${plural(t.rows, 'row')} from ${result.source}.${t.table} → ${t.dataset} (${edge(t.watermarkBefore)} → ${edge(t.watermarkAfter)}, ${plural(t.batches, 'batch', 'batches')}, ${t.seconds.toFixed(1)} s)`)
  return lines.join('\n')
}
