/**
 * Lib code reports progress as data; the command renders it at the edge
 * (a live view on a TTY, one plain line per event in CI, nothing under --json).
 */
export type Level = 'debug' | 'info' | 'notice' | 'warn' | 'progress' | 'success' | 'error'

export interface ProgressEvent {
  /** Stable machine code, e.g. `deploy.event`, `ingest.file.done`, `local.started`. */
  code: string
  level: Level
  message: string
  data?: Record<string, unknown>
}

export interface Reporter {
  notify(event: ProgressEvent): void
}

/** A reporter that drops everything (tests, --json). */
export const silentReporter: Reporter = {notify() {}}

/** A reporter that keeps events (tests). */
export function collectingReporter(): Reporter & {events: ProgressEvent[]} {
  const events: ProgressEvent[] = []
  return {events, notify: (e) => void events.push(e)}
}
