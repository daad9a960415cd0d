import {Readable, Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {describe, expect, it} from 'vitest'
import {createIngestPipeline, loadDatasets} from '../../../src/lib/ingest/index.js'

/**
 * Bounded memory smoke test: ~50 MB of generated CSV streamed through validation and the CSV writer, sampling RSS
 * as the input is pulled. If the pipeline buffered the input or the output, RSS would grow by well over the input
 * size (JS strings of 50 MB of fields); streaming keeps it to a few tens of MB. A dataset without `unique` columns
 * is used so the one structure allowed to grow (the set of seen ids) is not in play. The bound is generous so the
 * test is not flaky on a busy machine.
 */
const datasets = loadDatasets([{
  name: 'events',
  columns: [
    {name: 'event_id', type: 'integer', required: true},
    {name: 'participant_id', type: 'string', required: true},
    {name: 'when', type: 'date'},
    {name: 'value', type: 'number'},
    {name: 'note', type: 'string'},
  ],
}])

async function stream(opts: {output: 'csv' | 'parquet'; megabytes: number; rowGroupSize?: number}) {
  const target = opts.megabytes * 1024 * 1024
  const note = 'x'.repeat(60)
  let produced = 0
  let rows = 0
  let baseline = 0
  let peak = 0
  let producedAtFirstOutput: number | undefined
  function* generate() {
    yield Buffer.from('event_id,participant_id,when,value,note\n')
    while (produced < target) {
      let s = ''
      for (let k = 0; k < 600; k++, rows++) s += `${rows},P${rows % 5000},2024-01-${String(1 + (rows % 28)).padStart(2, '0')},${rows % 997}.5,${note}\n`
      produced += s.length
      const rss = process.memoryUsage().rss
      if (produced > 2 * 1024 * 1024 && baseline === 0) baseline = rss // after warm-up
      peak = Math.max(peak, rss)
      yield Buffer.from(s)
    }
  }
  const p = createIngestPipeline({datasets, output: opts.output, ...(opts.rowGroupSize ? {rowGroupSize: opts.rowGroupSize} : {})})
  let outBytes = 0
  const sink = new Writable({write(chunk: Buffer, _e, cb) {
    producedAtFirstOutput ??= produced
    outBytes += chunk.length
    cb()
  }})
  await Promise.all([pipeline(Readable.from(generate()), p.input), pipeline(p.output, sink)])
  return {report: await p.result, rows, target, outBytes, growthMb: (peak - baseline) / 1024 / 1024, producedAtFirstOutput: producedAtFirstOutput ?? Infinity}
}

describe('memory', () => {
  it('stays bounded on a ~50 MB stream (CSV → CSV), output flowing while input is still read', async () => {
    const r = await stream({output: 'csv', megabytes: 50})
    expect(r.report).toMatchObject({valid: true, rows: r.rows})
    expect(r.outBytes).toBeGreaterThan(r.target)
    expect(r.producedAtFirstOutput).toBeLessThan(1024 * 1024)
    expect(r.growthMb).toBeLessThan(120) // measured ~55 MB, the same for 50 MB and 200 MB inputs
  }, 120_000)

  it('parquet is written row group by row group (CSV → parquet, ~12 MB)', async () => {
    const r = await stream({output: 'parquet', megabytes: 12, rowGroupSize: 16_384})
    expect(r.report).toMatchObject({valid: true, rows: r.rows})
    expect(r.producedAtFirstOutput).toBeLessThan(3 * 1024 * 1024) // the first group (~1.5 MB of CSV) is out early
    expect(r.growthMb).toBeLessThan(150)
  }, 120_000)
})
