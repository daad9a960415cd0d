#!/usr/bin/env node
// cape ingest vs `aws s3 cp` (Debian's awscli, /usr/bin/aws) against one local platform:
//   1. a legacy-format participants CSV (default 1 GB), --transform local --output csv: MB/s ÷ aws s3 cp MB/s of the
//      same file to the same endpoint (target ≥ 0.5); peak RSS of the cape process (target ≤ 200 MB) at 100 MB and at
//      the full size (target: flat);
//   2. CSV → parquet rows/s for 1M rows (cape ingest --output parquet end to end, and the ingest core alone), beside
//      the writer alternatives measured in docs/ARCHITECTURE (1M rows × 6 cols: hyparquet-writer 11–12 s,
//      @dsnp/parquetjs 17–19 s, parquetjs-lite 26–31 s).
// Run after a build: `npm run build && node bench/ingest.mjs [--mb 1024] [--small-mb 100] [--parquet-rows 1000000]`.
// Not a test: starts its own platform in a temp folder, deploys phase1, generates the files there, runs the built
// CLI as a subprocess (as users do), samples its peak RSS (VmHWM in /proc/<pid>/status), prints figures, cleans up.
import {createWriteStream, readFileSync, rmSync, statSync} from 'node:fs'
import path from 'node:path'
import {Readable, Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {performance} from 'node:perf_hooks'
import {benchCommands, benchWorkspace, numArg} from './common.mjs'

const core = await import('../dist/lib/ingest/index.js').catch(() => {
  throw new Error('build first: npm run build')
})

const MB = numArg('mb', 1024)
const SMALL_MB = numArg('small-mb', 100)
const PARQUET_ROWS = numArg('parquet-rows', 1_000_000)
const AWS = '/usr/bin/aws'

const {work, env} = benchWorkspace('ingest')

const {run, cape, must, stopPlatform} = benchCommands({work, env})

const SITES = ['Oslo', 'Lima', 'Nairobi', 'Kampala', 'São Paulo', 'Chiang Mai']
const GIVEN = ['Ada', 'Zoë', 'José', 'Wei', 'Amina', 'Søren', 'Mary Ann', 'Kwame', 'Lucía', 'Ingrid']
const FAMILY = ['Lovelace', 'García', 'Okafor', 'Zhang', 'Madsen', 'Fernández', 'Ó Briain', 'Müller', 'Wanjiru']

/** Legacy-format participants (`Date of Birth`), generated in ~1 MB chunks straight to disk, until `bytes`. */
async function generate(file, {bytes = Infinity, rows = Infinity}) {
  let written = 0
  let n = 0
  const source = Readable.from((function* () {
    const header = 'participant_id,given_name,family_name,Date of Birth,site\n'
    written += header.length
    yield header
    while (written < bytes && n < rows) {
      let batch = ''
      while (batch.length < 1 << 20 && n < rows) {
        const i = n++
        const y = 1930 + (i % 90)
        const m = String(1 + (i % 12)).padStart(2, '0')
        const d = String(1 + (i % 28)).padStart(2, '0')
        const given = GIVEN[i % GIVEN.length]
        const dob = i % 97 === 0 ? '' : `${y}-${m}-${d}`
        batch += `P${String(i).padStart(10, '0')},${i % 50 === 0 ? `"${given}, Jr."` : given},${FAMILY[i % FAMILY.length]},${dob},${SITES[i % SITES.length]}\n`
      }
      const buf = Buffer.from(batch)
      written += buf.length
      yield buf
    }
  })())
  await pipeline(source, createWriteStream(file))
  return {bytes: statSync(file).size, rows: n}
}

/** The ingest core alone (no S3): CSV → parquet of a file, in this process. */
async function coreParquet(file) {
  const {createReadStream} = await import('node:fs')
  const p = core.createIngestPipeline({datasets: core.loadDatasets(), output: 'parquet'})
  let out = 0
  const t0 = performance.now()
  await Promise.all([
    pipeline(createReadStream(file, {highWaterMark: 1 << 20}), p.input),
    pipeline(p.output, new Writable({write(c, _e, cb) {
      out += c.length
      cb()
    }})),
  ])
  const report = await p.result
  if (!report.valid) throw new Error(`core: invalid ${JSON.stringify(report.errors.slice(0, 3))}`)
  return {seconds: (performance.now() - t0) / 1000, rows: report.rows, outBytes: out}
}

try {
  const started = JSON.parse(must(await cape('local', 'start', '--detach', '--port', '0', '--json'), 'cape local start').stdout)
  must(await cape('deploy', 'phase1', '--yes', '--json'), 'cape deploy phase1')
  const awsEnv = JSON.parse(must(await cape('local', 'env', '--json'), 'cape local env').stdout)
  const outputs = JSON.parse(readFileSync(path.join(env.CAPE_HOME, 'outputs', 'local', 'phase1.json'), 'utf8')).outputs
  const f = (n, d = 1) => n.toFixed(d)
  const results = {}

  // 1. throughput and memory, CSV output, local transform
  process.stderr.write(`generating ${SMALL_MB} MB and ${MB} MB legacy participants CSVs in ${work}…\n`)
  const small = path.join(work, 'participants_small.csv')
  const big = path.join(work, 'participants_big.csv')
  const smallInfo = await generate(small, {bytes: SMALL_MB * 1e6})
  const bigInfo = await generate(big, {bytes: MB * 1e6})

  // awscli 2.9 predates AWS_ENDPOINT_URL: the endpoint goes on the command line. Into curated: no notification there.
  const awsCp = must(await run(AWS, ['s3', 'cp', big, `s3://${outputs.CuratedBucketName}/_bench/anchor.csv`, '--endpoint-url', started.endpoint, '--only-show-errors', '--no-progress'], awsEnv), 'aws s3 cp')
  const awsMBps = bigInfo.bytes / 1e6 / awsCp.seconds
  must(await run(AWS, ['s3', 'rm', `s3://${outputs.CuratedBucketName}/_bench/anchor.csv`, '--endpoint-url', started.endpoint, '--only-show-errors'], awsEnv), 'aws s3 rm')

  const capeSmall = must(await cape('ingest', small, '--transform', 'local', '--output', 'csv', '--force', '--json'), 'cape ingest (small)')
  const capeBig = must(await cape('ingest', big, '--transform', 'local', '--output', 'csv', '--force', '--json'), 'cape ingest (big)')
  const bigResult = JSON.parse(capeBig.stdout).files[0]
  if (bigResult.status !== 'ingested' || bigResult.rows !== bigInfo.rows) throw new Error(`cape ingest (big): ${JSON.stringify(bigResult).slice(0, 500)}`)
  const capeMBps = bigInfo.bytes / 1e6 / capeBig.seconds
  results.csv = {
    bytes: bigInfo.bytes,
    rows: bigInfo.rows,
    awsSeconds: awsCp.seconds,
    awsMBps,
    capeSeconds: capeBig.seconds,
    capeMBps,
    ratio: capeMBps / awsMBps,
    peakRssSmallMB: capeSmall.peakMB,
    peakRssBigMB: capeBig.peakMB,
    capeSmallMBps: smallInfo.bytes / 1e6 / capeSmall.seconds,
  }
  rmSync(big, {force: true})

  // 2. CSV → parquet, 1M rows
  const pq = path.join(work, 'participants_1m.csv')
  const pqInfo = await generate(pq, {rows: PARQUET_ROWS})
  const corePq = await coreParquet(pq)
  const capePq = must(await cape('ingest', pq, '--transform', 'local', '--output', 'parquet', '--force', '--json'), 'cape ingest (parquet)')
  results.parquet = {
    rows: pqInfo.rows,
    bytes: pqInfo.bytes,
    coreSeconds: corePq.seconds,
    coreRowsPerSecond: pqInfo.rows / corePq.seconds,
    capeSeconds: capePq.seconds,
    capeRowsPerSecond: pqInfo.rows / capePq.seconds,
    peakRssMB: capePq.peakMB,
  }

  const c = results.csv
  console.log(`csv     ${f(c.bytes / 1e6, 0)} MB (${c.rows.toLocaleString('en')} rows), --transform local: cape ingest ${f(c.capeSeconds)} s = ${f(c.capeMBps)} MB/s; aws s3 cp ${f(c.awsSeconds)} s = ${f(c.awsMBps)} MB/s → ratio ${f(c.ratio, 2)} (target ≥ 0.5)`)
  console.log(`memory  peak RSS of cape: ${f(c.peakRssSmallMB, 0)} MB at ${SMALL_MB} MB, ${f(c.peakRssBigMB, 0)} MB at ${f(c.bytes / 1e6, 0)} MB (target ≤ 200 MB and flat)`)
  const p = results.parquet
  console.log(`parquet ${p.rows.toLocaleString('en')} rows × 5 cols (${f(p.bytes / 1e6, 0)} MB CSV): ingest core ${f(p.coreSeconds)} s = ${Math.round(p.coreRowsPerSecond).toLocaleString('en')} rows/s; cape ingest end to end ${f(p.capeSeconds)} s = ${Math.round(p.capeRowsPerSecond).toLocaleString('en')} rows/s (peak RSS ${f(p.peakRssMB, 0)} MB)`)
  console.log('        writer alternatives, 1M rows × 6 cols (ARCHITECTURE.md): hyparquet-writer 11–12 s (~87,000 rows/s), @dsnp/parquetjs 17–19 s (~56,000 rows/s), parquetjs-lite 26–31 s (~35,000 rows/s)')
  console.log(JSON.stringify(results))
} finally {
  stopPlatform()
  rmSync(work, {recursive: true, force: true})
}
