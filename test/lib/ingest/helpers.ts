import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {createIngestPipeline, type IngestOptions, type IngestReport} from '../../../src/lib/ingest/index.js'

export const fixturesDir = fileURLToPath(new URL('../../../fixtures/', import.meta.url))
export const fixture = (name: string): Buffer => readFileSync(fixturesDir + name)

/** Feed `bytes` in chunks of `chunkSize` through a pipeline; collect the curated output and the report. */
export async function run(bytes: Buffer | string, opts: IngestOptions, chunkSize = 65_536): Promise<{report: IngestReport; output: Buffer}> {
  const p = createIngestPipeline(opts)
  const chunks: Buffer[] = []
  p.output.on('data', (c: Buffer) => chunks.push(c))
  const ended = new Promise<void>((resolve, reject) => {
    p.output.on('end', resolve)
    p.output.on('error', reject)
  })
  const buf = typeof bytes === 'string' ? Buffer.from(bytes) : bytes
  for (let i = 0; i < buf.length; i += chunkSize) {
    if (!p.input.write(buf.subarray(i, i + chunkSize))) await new Promise((r) => p.input.once('drain', r))
  }
  p.input.end()
  const report = await p.result
  await ended
  return {report, output: Buffer.concat(chunks)}
}

/** [line, rule, column?] of every listed issue, for compact exact assertions. */
export const where = (r: IngestReport) => r.errors.map((e) => (e.column === undefined ? [e.line, e.rule] : [e.line, e.rule, e.column]))
