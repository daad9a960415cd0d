#!/usr/bin/env node
// `cape query` on the local platform's Athena (DuckDB on the platform's object files) against DuckDB run directly on
// the same parquet files, in one process run:
//   - a GROUP BY over N rows (default 10M) of participants in curated parquet over 30 partitions:
//     ratio = DuckDB direct ÷ cape query (goal ≥ 0.7; the cape side includes CLI start, Athena calls and printing);
//   - a 1-row query end to end (goal ≤ 300 ms);
//   - exporting a large result with --out (default 5M rows): peak RSS of the CLI (goal ≤ 150 MB, flat in size).
// Run after a build: `npm run build && node bench/query.mjs [--rows 10000000] [--export-rows 5000000] [--runs 3]`.
import {createReadStream, mkdirSync, readFileSync, readdirSync, statSync} from 'node:fs'
import path from 'node:path'
import {performance} from 'node:perf_hooks'
import {PutObjectCommand} from '@aws-sdk/client-s3'
import {DuckDBInstance} from '@duckdb/node-api'
import {benchCommands, benchWorkspace, numArg} from './common.mjs'

const {createClients} = await import('../dist/lib/aws/clients.js').catch(() => {
  throw new Error('build first: npm run build')
})

const ROWS = numArg('rows', 10_000_000)
const EXPORT_ROWS = numArg('export-rows', 5_000_000)
const RUNS = numArg('runs', 3)
const PARTITIONS = 30
const {work, env} = benchWorkspace('query')
const {cape, must, stopPlatform} = benchCommands({work, env})
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** 30 days of participants as parquet files written by DuckDB: one file per ingest_date partition. */
async function generate(dir) {
  const duck = await (await DuckDBInstance.create(':memory:', {threads: '2'})).connect()
  const per = Math.ceil(ROWS / PARTITIONS)
  const files = []
  for (let d = 0; d < PARTITIONS; d++) {
    const day = new Date(Date.UTC(2026, 10, 1 + d)).toISOString().slice(0, 10)
    const file = path.join(dir, `ingest_date=${day}`, 'part.parquet')
    mkdirSync(path.dirname(file), {recursive: true})
    await duck.run(`COPY (SELECT 'P' || lpad(CAST(${d * per} + range AS VARCHAR), 9, '0') AS participant_id, 'Given' || (range % 997) AS given_name,
      'Family' || (range % 1013) AS family_name, DATE '1930-01-01' + CAST(range % 25000 AS INTEGER) AS "DOB",
      ['Oslo', 'Lima', 'Nairobi', 'Kampala', 'Hanoi', 'Quito'][1 + range % 6] AS site
      FROM range(${Math.min(per, ROWS - d * per)})) TO '${file}' (FORMAT parquet)`)
    files.push({day, file})
  }
  return files
}

async function direct(files, sql) {
  const duck = await (await DuckDBInstance.create(':memory:', {threads: '2'})).connect()
  const list = files.map((f) => `'${f.file}'`).join(', ')
  await duck.run(`CREATE VIEW participants_parquet AS SELECT * FROM read_parquet([${list}], hive_partitioning = true)`)
  const t0 = performance.now()
  await duck.runAndReadAll(sql)
  return performance.now() - t0
}

try {
  const start = must(await cape('local', 'start', '--detach', '--port', '0', '--json'), 'cape local start')
  const {endpoint} = JSON.parse(start.stdout)
  must(await cape('deploy', 'phase1', '--yes', '--json'), 'cape deploy phase1')
  must(await cape('deploy', 'phase2', '--yes', '--json'), 'cape deploy phase2')
  const admin = JSON.parse(readFileSync(path.join(work, '.cape', 'admin-credentials.json'), 'utf8'))
  const clients = createClients({region: 'us-east-1', endpoint, credentials: admin})
  const curated = JSON.parse(readFileSync(path.join(work, '.cape', 'outputs', 'local', 'phase1.json'), 'utf8')).outputs.CuratedBucketName
  const dir = path.join(work, 'data')
  console.log(`generating ${ROWS.toLocaleString()} rows in ${PARTITIONS} parquet partitions…`)
  const files = await generate(dir)
  for (const f of files) {
    await clients.s3.send(new PutObjectCommand({Bucket: curated, Key: `participants/parquet/ingest_date=${f.day}/part.parquet`, Body: createReadStream(f.file), ContentLength: statSync(f.file).size}))
  }
  const bytes = files.reduce((n, f) => n + statSync(f.file).size, 0)
  console.log(`stored ${(bytes / 1e6).toFixed(0)} MB in curated`)

  const groupBy = 'SELECT site, count(*) AS n, min("DOB") AS earliest, max("DOB") AS latest FROM participants_parquet GROUP BY site ORDER BY site'
  const ours = []
  const engine = []
  const theirs = []
  for (let i = 0; i < RUNS; i++) {
    const r = must(await cape('query', groupBy, '--json'), 'cape query')
    ours.push(r.ms)
    engine.push(JSON.parse(r.stdout).engineMs)
    theirs.push(await direct(files, groupBy))
  }
  const one = []
  for (let i = 0; i < RUNS; i++) one.push(must(await cape('query', "SELECT participant_id FROM participants_parquet WHERE ingest_date = '2026-11-03' LIMIT 1", '--format', 'csv'), 'one row').ms)
  const days = Math.max(1, Math.round((EXPORT_ROWS / ROWS) * PARTITIONS))
  const last = new Date(Date.UTC(2026, 10, days)).toISOString().slice(0, 10)
  const small = must(await cape('query', `SELECT * FROM participants_parquet WHERE ingest_date = '2026-11-01'`, '--out', 'small.csv'), 'export small')
  const big = must(await cape('query', `SELECT * FROM participants_parquet WHERE ingest_date <= '${last}'`, '--out', 'big.csv'), 'export big')
  const bigRows = readdirSync(work).includes('big.csv') ? statSync(path.join(work, 'big.csv')).size : 0

  console.log(`GROUP BY over ${ROWS.toLocaleString()} rows: cape query ${median(ours).toFixed(0)} ms (median of ${RUNS}, whole CLI run), DuckDB direct ${median(theirs).toFixed(0)} ms`)
  console.log(`  ratio DuckDB ÷ cape query = ${(median(theirs) / median(ours)).toFixed(2)} (goal ≥ 0.7)`)
  console.log(`  the engine alone (Athena's EngineExecutionTimeInMillis: catalog, IAM per object, views, DuckDB, result file): ${median(engine)} ms — DuckDB ÷ engine = ${(median(theirs) / median(engine)).toFixed(2)}`)
  console.log(`1-row query end to end: ${median(one).toFixed(0)} ms (goal ≤ 300 ms)`)
  console.log(`export --out: ~${Math.round(ROWS / PARTITIONS).toLocaleString()} rows peak RSS ${small.peakMB.toFixed(0)} MB; ~${(days * Math.round(ROWS / PARTITIONS)).toLocaleString()} rows (${(bigRows / 1e6).toFixed(0)} MB) peak RSS ${big.peakMB.toFixed(0)} MB in ${(big.ms / 1000).toFixed(1)} s (goal ≤ 150 MB, flat)`)
  clients.destroy()
} finally {
  stopPlatform()
}
