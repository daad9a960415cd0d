#!/usr/bin/env node
// Throughput of the ingest core on generated participants rows: CSV → validate only, CSV → CSV, CSV → parquet.
// Run: `npx tsx bench/ingest-core.mjs [rows]` (from source), or `node bench/ingest-core.mjs [rows]` after a build
// (imports dist/). Not a test: prints rows/s, MB/s and peak RSS growth per mode.
import {Readable, Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {performance} from 'node:perf_hooks'

const mod = await import('../dist/lib/ingest/index.js').catch(async (distErr) => {
  try {
    return await import('../src/lib/ingest/index.ts')
  } catch {
    throw new Error(`cannot load the ingest core: build first (npm run build) or run with tsx (npx tsx bench/ingest-core.mjs)\n${distErr.message}`)
  }
})
const {createIngestPipeline, loadDatasets} = mod

const ROWS = Number(process.argv[2] ?? 200_000)
const HEADER = 'participant_id,given_name,family_name,DOB,site\n'
const SITES = ['Oslo', 'Lima', 'Nairobi', 'Kampala']
const NAMES = ['Ada', 'Zoë', 'José', 'Wei', 'Amina', 'Søren', 'Mary Ann']

/** Generated lazily in ~64 KB chunks, so the input never sits in memory whole. */
function* generate(rows) {
  yield HEADER
  let batch = ''
  for (let i = 0; i < rows; i++) {
    const y = 1930 + (i % 90)
    const m = String(1 + (i % 12)).padStart(2, '0')
    const d = String(1 + (i % 28)).padStart(2, '0')
    const given = NAMES[i % NAMES.length]
    batch += `P${String(i).padStart(8, '0')},${i % 50 === 0 ? `"${given}, Jr."` : given},Family${i % 1000},${y}-${m}-${d},${SITES[i % 4]}\n`
    if (batch.length > 65_000) {
      yield batch
      batch = ''
    }
  }
  if (batch) yield batch
}

async function measure(output) {
  globalThis.gc?.()
  const rss0 = process.memoryUsage().rss
  let peak = rss0
  const p = createIngestPipeline({datasets: loadDatasets(), output})
  let inBytes = 0
  let outBytes = 0
  const source = Readable.from((function* () {
    for (const s of generate(ROWS)) {
      inBytes += Buffer.byteLength(s)
      peak = Math.max(peak, process.memoryUsage().rss) // sampled as input is pulled (timers may not get a turn)
      yield Buffer.from(s)
    }
  })())
  const sink = new Writable({write(chunk, _e, cb) {
    outBytes += chunk.length
    cb()
  }})
  const t0 = performance.now()
  await Promise.all([pipeline(source, p.input), pipeline(p.output, sink)])
  const report = await p.result
  const s = (performance.now() - t0) / 1000
  if (!report.valid || report.rows !== ROWS) throw new Error(`unexpected report: ${JSON.stringify(report).slice(0, 500)}`)
  const mb = inBytes / 1e6
  console.log(`${('CSV → ' + output).padEnd(16)} ${ROWS} rows, ${mb.toFixed(1)} MB in ${s.toFixed(2)} s: ${Math.round(ROWS / s).toLocaleString('en')} rows/s, ${(mb / s).toFixed(1)} MB/s; output ${(outBytes / 1e6).toFixed(1)} MB; peak RSS +${((peak - rss0) / 1e6).toFixed(0)} MB`)
}

console.log(`ingest core, Node ${process.version}`)
for (const output of ['none', 'csv', 'parquet']) await measure(output)
