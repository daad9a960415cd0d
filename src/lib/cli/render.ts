import type {Level, ProgressEvent, Reporter} from '../reporter.js'

export type OutputMode = 'tty' | 'plain' | 'json'

export interface Style {
  bold(s: string): string
  dim(s: string): string
  red(s: string): string
  green(s: string): string
  yellow(s: string): string
  cyan(s: string): string
}

const code = (open: number, close: number) => (s: string) => `\u001B[${open}m${s}\u001B[${close}m`
const plainStyle: Style = {bold: (s) => s, dim: (s) => s, red: (s) => s, green: (s) => s, yellow: (s) => s, cyan: (s) => s}
const colourStyle: Style = {bold: code(1, 22), dim: code(2, 22), red: code(31, 39), green: code(32, 39), yellow: code(33, 39), cyan: code(36, 39)}

/** Colour only on a TTY and only when NO_COLOR is unset (https://no-color.org). */
export function styleFor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): Style {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return plainStyle
  if (env.FORCE_COLOR && env.FORCE_COLOR !== '0') return colourStyle
  return stream.isTTY ? colourStyle : plainStyle
}

const marks: Record<Level, string> = {debug: '·', info: '•', notice: '›', warn: '!', progress: '…', success: '✓', error: '✗'}

/**
 * Renders lib progress events on stderr.
 * - tty: events as lines; `progress` events redraw one live status line.
 * - plain (CI): one line per event, progress events throttled, no control characters.
 * - json: nothing (stdout carries only the result).
 */
export class EventRenderer implements Reporter {
  private live = false
  private lastProgress = 0
  constructor(
    private readonly mode: OutputMode,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly style: Style = styleFor(process.stderr),
    private readonly verbose = false,
  ) {}

  notify(event: ProgressEvent): void {
    if (this.mode === 'json') return
    if (event.level === 'debug' && !this.verbose) return
    if (event.level === 'progress') {
      if (this.mode === 'tty') {
        this.stream.write(`\r\u001B[2K${this.style.dim(event.message)}`)
        this.live = true
      } else {
        const now = Date.now()
        if (now - this.lastProgress >= 5000) {
          this.lastProgress = now
          this.stream.write(`${event.message}\n`)
        }
      }
      return
    }
    this.clearLive()
    this.stream.write(`${this.format(event)}\n`)
  }

  clearLive(): void {
    if (this.live) {
      this.stream.write('\r\u001B[2K')
      this.live = false
    }
  }

  private format(event: ProgressEvent): string {
    const s = this.style
    const mark = marks[event.level]
    switch (event.level) {
      case 'warn':
        return s.yellow(`${mark} ${event.message}`)
      case 'error':
        return s.red(`${mark} ${event.message}`)
      case 'success':
        return `${s.green(mark)} ${event.message}`
      case 'debug':
        return s.dim(`${mark} ${event.message}`)
      default:
        return `${s.cyan(mark)} ${event.message}`
    }
  }
}

/** Human sizes: 1.2 KB, 3.4 MB (powers of 1024, like aws s3 ls --human-readable). */
export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`
}

/** A simple aligned table (no borders). */
export function table(rows: string[][], header?: string[]): string {
  const all = header ? [header, ...rows] : rows
  // eslint-disable-next-line no-control-regex
  const visible = (s: string) => s.replace(/\u001B\[[0-9;]*m/g, '')
  const widths: number[] = []
  for (const r of all) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, [...visible(c)].length)))
  return all
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i] - [...visible(c)].length))).join('  ').trimEnd())
    .join('\n')
}
