import ms from 'ms'
import {usageError} from './errors.js'

/** Parse `500ms`, `30s`, `5m`, `1h`, `1.5h` into milliseconds. A bare number means seconds. */
export function parseDuration(input: string, flag = 'duration'): number {
  const text = input.trim()
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000)
  if (/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/i.test(text)) {
    const value = ms(text.replace(/\s+/g, '') as ms.StringValue)
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value
  }
  throw usageError(`--${flag}: "${input}" is not a duration.`, ['Write durations like 500ms, 30s, 5m or 1h.'])
}

export function formatDuration(msValue: number): string {
  if (msValue < 1000) return `${Math.round(msValue)}ms`
  if (msValue < 60_000) return `${(msValue / 1000).toFixed(1)}s`
  const m = Math.floor(msValue / 60_000)
  const s = Math.round((msValue % 60_000) / 1000)
  return `${m}m${String(s).padStart(2, '0')}s`
}
