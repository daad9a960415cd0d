#!/usr/bin/env node
// Extraction requests: the query-engine extractor (phase 2: Athena, locally DuckDB) against the streaming extractor
// (phase 1 alone) on the same curated parquet — N rows (default 10M) over 30 partitions, a request selecting ~10%.
// Prints submit → verified results on disk for both, the ratio (goal: engine ≥ 5× faster) and the peak RSS of the
// function process (goal ≤ 200 MB; the Lambda runtime's REPORT line, "Max Memory Used").
// Run after a build: `npm run build && node bench/request-engine.mjs [--rows 10000000]`.
import {createReadStream, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {PutObjectCommand} from '@aws-sdk/client-s3'
import {DuckDBInstance} from '@duckdb/node-api'
import {benchCommands, benchWorkspace, numArg} from './common.mjs'

const {createClients} = await import('../dist/lib/aws/clients.js').catch(() => {
  throw new Error('build first: npm run build')
})

const ROWS = numArg('rows', 10_000_000)
const PARTITIONS = 30
const {work, env} = benchWorkspace('request-engine')
const {cape, must, stopPlatform} = benchCommands({work, env})

async function generate(dir) {
  const duck = await (await DuckDBInstance.create(':memory:', {threads: '2'})).connect()
  const per = Math.ceil(ROWS / PARTITIONS)
  const files = []
  for (let d = 0; d < PARTITIONS; d++) {
    const day = new Date(Date.UTC(2026, 10, 1 + d)).toISOString().slice(0, 10)
    const file = path.join(dir, `${day}.parquet`)
    mkdirSync(dir, {recursive: true})
    await duck.run(`COPY (SELECT 'P' || lpad(CAST(${d * per} + range AS VARCHAR), 9, '0') AS participant_id, 'Given' || (range % 997) AS given_name,
      'Family' || (range % 1013) AS family_name, DATE '1930-01-01' + CAST(range % 25000 AS INTEGER) AS "DOB",
      ['Oslo', 'Lima', 'Nairobi', 'Kampala', 'Hanoi', 'Quito', 'Accra', 'Dhaka', 'Lagos', 'Cusco'][1 + range % 10] AS site
      FROM range(${Math.min(per, ROWS - d * per)})) TO '${file}' (FORMAT parquet)`)
    files.push({day, file})
  }
  return files
}

/** The extractor's REPORT lines since `from` (bytes into its log): the largest "Max Memory Used". */
function functionPeakMB(from) {
  const dir = path.join(work, '.cape', 'lambda', 'logs')
  const log = readdirSync(dir).find((f) => f.includes('Extractor'))
  const text = readFileSync(path.join(dir, log), 'utf8').slice(from)
  return Math.max(0, ...[...text.matchAll(/Max Memory Used: (\d+) MB/g)].map((m) => Number(m[1])))
}
const logSize = () => {
  const dir = path.join(work, '.cape', 'lambda', 'logs')
  const log = readdirSync(dir).find((f) => f.includes('Extractor'))
  return log ? statSync(path.join(dir, log)).size : 0
}

async function submit(label) {
  const before = logSize()
  const r = must(await cape('request', 'submit', 'request.json', '--json', '--timeout', '30m'), `request (${label})`)
  const out = JSON.parse(r.stdout)
  return {ms: r.ms, rows: out.status.rows, engine: out.status.engine ?? 'streaming', scanned: out.status.dataScannedBytes, peakMB: functionPeakMB(before)}
}

try {
  const start = must(await cape('local', 'start', '--detach', '--port', '0', '--json'), 'cape local start')
  const {endpoint} = JSON.parse(start.stdout)
  must(await cape('deploy', 'phase1', '--yes', '--json'), 'cape deploy phase1')
  const admin = JSON.parse(readFileSync(path.join(work, '.cape', 'admin-credentials.json'), 'utf8'))
  const clients = createClients({region: 'us-east-1', endpoint, credentials: admin})
  const curated = JSON.parse(readFileSync(path.join(work, '.cape', 'outputs', 'local', 'phase1.json'), 'utf8')).outputs.CuratedBucketName
  console.log(`generating ${ROWS.toLocaleString()} rows in ${PARTITIONS} parquet partitions…`)
  const files = await generate(path.join(work, 'data'))
  for (const f of files) {
    await clients.s3.send(new PutObjectCommand({Bucket: curated, Key: `participants/parquet/ingest_date=${f.day}/part.parquet`, Body: createReadStream(f.file), ContentLength: statSync(f.file).size}))
  }
  writeFileSync(path.join(work, 'request.json'), JSON.stringify({dataset: 'participants', columns: ['participant_id', 'DOB', 'site'], filters: [{column: 'site', op: 'eq', value: 'Lima'}]}))
  const streaming = await submit('phase 1: streaming')
  must(await cape('deploy', 'phase2', '--yes', '--json'), 'cape deploy phase2')
  const engine = await submit('phase 2: query engine')
  for (const r of [streaming, engine]) {
    console.log(`${r.engine.padEnd(9)}: submit → verified results on disk ${(r.ms / 1000).toFixed(1)} s, ${r.rows.toLocaleString()} rows, function peak RSS ${r.peakMB} MB${r.scanned ? `, ${(r.scanned / 1e6).toFixed(0)} MB scanned` : ''}`)
  }
  console.log(`query engine ÷ streaming: ${(streaming.ms / engine.ms).toFixed(1)}× faster (goal ≥ 5×); function peak RSS ${engine.peakMB} MB (goal ≤ 200 MB)`)
  clients.destroy()
} finally {
  stopPlatform()
}
