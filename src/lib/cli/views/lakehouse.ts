import type {ListPage, ObjectEntry, ZoneInfo} from '../../lakehouse/list.js'
import {showKey, type PullResult} from '../../lakehouse/pull.js'
import {humanBytes, table, type Style} from '../render.js'

export function renderZones(zones: ZoneInfo[]): string {
  return table(
    zones.map((z) => [`${z.zone}/`, z.bucket]),
    ['ZONE', 'BUCKET'],
  )
}

const pad2 = (n: number) => String(n).padStart(2, '0')

/** Local time, to the second: 2024-05-01 14:03:59 (like `aws s3 ls`). */
export function humanTime(iso: string): string {
  const d = new Date(iso)
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`
}

/**
 * The lines of one listing page (printed as each page arrives, so the columns are fixed-width):
 * names relative to `base`; folders end with `/`; `long` adds time and size.
 */
export function renderListPage(page: ListPage, options: {base: string; long?: boolean}, s: Style): string[] {
  const rel = (key: string) => showKey(key.startsWith(options.base) ? key.slice(options.base.length) : key)
  const lines: string[] = []
  for (const p of page.prefixes) {
    lines.push(options.long ? `${' '.repeat(19)}  ${'DIR'.padStart(10)}  ${s.cyan(rel(p))}` : s.cyan(rel(p)))
  }
  for (const o of page.objects) {
    lines.push(options.long ? `${humanTime(o.lastModified)}  ${humanBytes(o.size).padStart(10)}  ${rel(o.key)}` : rel(o.key))
  }
  return lines
}

/**
 * Writes a JSON array element by element (for listings too big to hold): `[` on the first element, `]` at the
 * end, waiting for the stream to drain so memory stays bounded.
 */
export class JsonArrayWriter {
  private count = 0
  constructor(private readonly stream: NodeJS.WritableStream = process.stdout) {}

  async write(items: unknown[]): Promise<void> {
    if (items.length === 0) return
    const text = items.map((item) => `${this.count++ === 0 ? '[\n' : ',\n'}${JSON.stringify(item)}`).join('')
    if (!this.stream.write(text)) await new Promise<void>((resolve) => this.stream.once('drain', resolve))
  }

  async end(): Promise<void> {
    const text = this.count === 0 ? '[]\n' : '\n]\n'
    await new Promise<void>((resolve) => this.stream.write(text, () => resolve()))
  }
}

/** The `--json` elements of a page: objects as {key, size, etag, lastModified}; folders as {key, prefix: true}. */
export function jsonEntries(page: ListPage): Array<ObjectEntry | {key: string; prefix: true}> {
  return [...page.prefixes.map((key) => ({key, prefix: true as const})), ...page.objects]
}

export function renderPullSummary(r: PullResult, s: Style): string {
  const failed = r.failedTotal ?? r.failed.length
  const parts = [
    r.dryRun ? `Would download ${r.downloaded} files (${humanBytes(r.bytes)})` : `Downloaded ${r.downloaded} files (${humanBytes(r.bytes)}${r.resumed ? `, ${r.resumed} resumed` : ''})`,
    `${r.skipped} up to date`,
    ...(failed ? [s.red(`${failed} failed`)] : []),
  ]
  return `${failed ? s.yellow('!') : s.green('✓')} ${parts.join(', ')} · ${r.source} → ${r.dest} in ${r.seconds.toFixed(1)} s`
}

/** After the run (each failure was already reported as it happened): the count and the hints. */
export function renderPullFailures(r: PullResult, s: Style): string {
  const failed = r.failedTotal ?? r.failed.length
  const lines = [s.red(`✗ ${failed} object${failed === 1 ? '' : 's'} could not be pulled (see above; --json lists them with their reasons).`)]
  for (const h of r.hints) lines.push(`  ${s.cyan('→')} ${h}`)
  return lines.join('\n')
}
