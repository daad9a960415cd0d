#!/usr/bin/env node
// cape ingest db:<source> vs `psql \copy (SELECT …) TO` CSV of the same table, against a real PostgreSQL 15 (Debian's,
// started here in a temp folder) and one local platform with phase1 deployed:
//   initial load of an N-row table (default 5M, --rows): rows/s ÷ psql \copy rows/s (target ≥ 0.3), peak RSS of the
//   cape process (target ≤ 200 MB); then an incremental run after updating --changed rows (default 10,000; target ≤ 5 s).
// Run after a build: `npm run build && node bench/db-ingest.mjs [--rows 5000000] [--changed 10000] [--batch-rows 100000]`.
// Not a test: prints figures, cleans up. The table has an index on (updated_at, id), as a feed's table should.
import {execFileSync} from 'node:child_process'
import {chmodSync, chownSync, mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {userInfo} from 'node:os'
import path from 'node:path'
import {benchCommands, benchWorkspace, numArg} from './common.mjs'

const ROWS = numArg('rows', 5_000_000)
const CHANGED = numArg('changed', 10_000)
const BATCH = numArg('batch-rows', 100_000)
const BIN = '/usr/lib/postgresql/15/bin'
const PASSWORD = 'bench-pw'

const {work, env} = benchWorkspace('db-ingest')
env.PGPASSWORD = PASSWORD // the CLI's password for the source (no secret needed for a bench)
const {run, cape, must, stopPlatform} = benchCommands({work, env})

const freePort = () => new Promise((resolve) => {
  const s = createServer()
  s.listen(0, '127.0.0.1', () => {
    const {port} = s.address()
    s.close(() => resolve(port))
  })
})

// PostgreSQL as the postgres user when we are root (initdb refuses root)
const pgRoot = path.join(work, 'pg')
mkdirSync(path.join(pgRoot, 'run'), {recursive: true})
chmodSync(work, 0o755)
const asRoot = userInfo().uid === 0
if (asRoot) {
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString())
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString())
  for (const d of [pgRoot, path.join(pgRoot, 'run')]) chownSync(d, uid, gid)
}
const asPostgres = (cmd, args) => execFileSync(asRoot ? 'runuser' : cmd, asRoot ? ['-u', 'postgres', '--', cmd, ...args] : args, {stdio: 'pipe', cwd: pgRoot})
const port = await freePort()
const data = path.join(pgRoot, 'data')
const pgEnv = {PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: 'cape', PGDATABASE: 'shop', PGPASSWORD: PASSWORD}
const psql = async (sql) => must(await run('/usr/bin/psql', ['-v', 'ON_ERROR_STOP=1', '-qAt', '-c', sql], pgEnv), `psql ${sql.slice(0, 60)}`)

try {
  asPostgres(path.join(BIN, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C'])
  asPostgres(path.join(BIN, 'pg_ctl'), ['-D', data, '-l', path.join(pgRoot, 'log'), '-w', '-o', `-p ${port} -k ${path.join(pgRoot, 'run')} -c listen_addresses=127.0.0.1`, 'start'])
  const su = (sql) => asPostgres('/usr/bin/psql', ['-h', path.join(pgRoot, 'run'), '-p', String(port), '-U', 'postgres', '-qAt', '-c', sql])
  su(`CREATE ROLE cape LOGIN PASSWORD '${PASSWORD}'`)
  su('CREATE DATABASE shop OWNER cape')

  console.log(`generating ${ROWS.toLocaleString()} rows…`)
  await psql('CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, email text, updated_at timestamptz NOT NULL)')
  await psql(`INSERT INTO customers SELECT i, 'Customer ' || i, 'c' || i || '@example.org', timestamptz '2026-01-01' + (i % 1000000) * interval '1 second' FROM generate_series(1, ${ROWS}) AS i`)
  await psql('CREATE INDEX customers_feed ON customers (updated_at, id)')
  await psql('VACUUM ANALYZE customers')

  const csv = path.join(work, 'customers.csv')
  const copy = must(await run('/usr/bin/psql', ['-qAt', '-c', `\\copy (SELECT * FROM customers) TO '${csv}' CSV`], pgEnv), 'psql \\copy')
  rmSync(csv, {force: true})

  must(await cape('local', 'start', '--detach', '--port', '0', '--json'), 'cape local start')
  must(await cape('deploy', 'phase1', '--yes', '--json'), 'cape deploy phase1')
  writeFileSync(path.join(work, 'cape.yaml'), `datasets:
  customers:
    columns:
      - {name: id, type: integer, required: true, unique: true}
      - {name: name, type: string, required: true}
      - {name: email, type: string}
      - {name: updated_at, type: timestamp, required: true}
sources:
  shop:
    type: postgres
    host: 127.0.0.1
    port: ${port}
    database: shop
    user: cape
    tables:
      customers: {dataset: customers, key: [id], watermark: updated_at}
`)
  const initial = must(await cape('ingest', 'db:shop', '--batch-rows', String(BATCH), '--json'), 'cape ingest db:shop (initial)')
  const rows = JSON.parse(initial.stdout).tables[0].rows
  await psql(`UPDATE customers SET name = name || ' (changed)', updated_at = now() WHERE id <= ${CHANGED}`)
  const incremental = must(await cape('ingest', 'db:shop', '--batch-rows', String(BATCH), '--json'), 'cape ingest db:shop (incremental)')
  const changed = JSON.parse(incremental.stdout).tables[0].rows

  const capeRate = rows / initial.seconds
  const copyRate = ROWS / copy.seconds
  console.log(`psql \\copy TO csv:     ${ROWS.toLocaleString()} rows in ${copy.seconds.toFixed(1)} s = ${Math.round(copyRate).toLocaleString()} rows/s`)
  console.log(`cape ingest db (initial): ${rows.toLocaleString()} rows in ${initial.seconds.toFixed(1)} s = ${Math.round(capeRate).toLocaleString()} rows/s, peak RSS ${initial.peakMB.toFixed(0)} MB`)
  console.log(`ratio cape ÷ psql \\copy: ${(capeRate / copyRate).toFixed(2)} (target ≥ 0.3); peak RSS target ≤ 200 MB`)
  console.log(`cape ingest db (incremental, ${changed.toLocaleString()} changed rows): ${incremental.seconds.toFixed(1)} s end to end (target ≤ 5 s), peak RSS ${incremental.peakMB.toFixed(0)} MB`)
} finally {
  stopPlatform()
  try { asPostgres(path.join(BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']) } catch { /* not started */ }
  rmSync(work, {recursive: true, force: true})
}
