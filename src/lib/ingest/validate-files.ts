import {createReadStream} from 'node:fs'
import {countLines} from './encoding.js'
import type {Reporter} from '../reporter.js'
import type {Datasets} from './datasets.js'
import {validateStream} from './pipeline.js'
import type {IngestReport} from './report.js'
import {expandLocal} from './sources/local.js'

export interface FileValidation extends IngestReport {
  /** The file as given (relative to the working folder when inside it). */
  file: string
  bytes: number
}

export interface ValidateResult {
  valid: boolean
  files: FileValidation[]
  counts: {files: number; valid: number; invalid: number}
}

/**
 * `cape validate`: check local files (files, folders' *.csv, globs) without uploading anything. Every file is read
 * once, streaming; every problem is counted, the first `maxErrors` listed with line, column, value and rule.
 */
export async function validateFiles(
  args: string[],
  options: {datasets: Datasets; dataset?: string; maxErrors?: number; cwd: string; reporter: Reporter; signal?: AbortSignal},
): Promise<ValidateResult> {
  const files = []
  const seen = new Set<string>()
  for (const arg of args) {
    for (const f of await expandLocal(arg, options.cwd)) {
      if (seen.has(f.path)) continue
      seen.add(f.path)
      files.push(f)
    }
  }
  const out: FileValidation[] = []
  for (const f of files) {
    let last = Date.now() + 800 // nothing for quick files
    const onChunk = (bytes: number, lines: number) => {
      const now = Date.now()
      if (now - last < 200) return
      last = now
      options.reporter.notify({
        code: 'validate.progress',
        level: 'progress',
        message: `${f.display}: ${f.size > 0 ? Math.floor((bytes / f.size) * 100) : 100}% (${lines.toLocaleString('en')} lines)`,
        data: {file: f.display, bytes, size: f.size},
      })
    }
    const report = await validateStream(readCounted(f.path, onChunk, options.signal), {
      datasets: options.datasets,
      dataset: options.dataset,
      maxErrors: options.maxErrors,
    })
    out.push({file: f.display, bytes: f.size, ...report})
  }
  const valid = out.filter((r) => r.valid).length
  return {valid: valid === out.length, files: out, counts: {files: out.length, valid, invalid: out.length - valid}}
}

/** A file's chunks, reporting the running totals of bytes and line feeds (errors propagate, unlike .pipe()). */
export async function* readCounted(file: string, onChunk: (bytes: number, lines: number) => void, signal?: AbortSignal): AsyncGenerator<Buffer> {
  let bytes = 0
  let lines = 0
  for await (const chunk of createReadStream(file, {highWaterMark: 1 << 20, signal}) as AsyncIterable<Buffer>) {
    bytes += chunk.length
    lines += countLines(chunk)
    onChunk(bytes, lines)
    yield chunk
  }
}
