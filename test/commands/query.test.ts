import {spawn} from 'node:child_process'
import {copyFileSync, readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {GetQueryExecutionCommand} from '@aws-sdk/client-athena'
import {DuckDBInstance} from '@duckdb/node-api'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {cleanEnv, cliBin, repoRoot} from '../helpers/cli.js'
import {localWorkspace, type LocalWorkspace} from '../helpers/platform.js'

/** Phase 1 + phase 2 deployed through the built CLI, both variants ingested in CSV and parquet, both transform modes. */
describe('cape query (built CLI, real local platform with its Athena engine)', () => {
  let ws: LocalWorkspace
  beforeAll(async () => {
    ws = await localWorkspace({deploy: true})
    const d2 = await ws.cli(['deploy', 'phase2', '--yes', '--json'])
    if (d2.code !== 0) throw new Error(`deploy phase2: ${d2.stdout}\n${d2.stderr}`)
    // one curated object per raw object: the parquet runs ingest copies under other names
    const ingest = async (fixture: string, name: string, ...flags: string[]) => {
      copyFileSync(path.join(repoRoot, 'fixtures', fixture), path.join(ws.cwd, name))
      const r = await ws.cli(['ingest', name, ...flags, '--json'])
      if (r.code !== 0) throw new Error(`ingest ${name}: ${r.stdout}\n${r.stderr}`)
    }
    await ingest('participants.csv', 'p_local.csv', '--transform', 'local')
    await ingest('participants_legacy.csv', 'legacy_remote.csv', '--transform', 'remote')
    await ingest('participants.csv', 'p_remote_pq.csv', '--transform', 'remote', '--output', 'parquet', '--force')
    await ingest('participants_legacy.csv', 'legacy_local_pq.csv', '--transform', 'local', '--output', 'parquet', '--force')
  }, 300_000)
  afterAll(async () => ws?.stop())

  it('deploy phase2 made the tables from the datasets; cape tables lists them with partitions', async () => {
    const t = await ws.cli(['tables', '--json'])
    expect(t.code, t.stderr).toBe(0)
    const tables = t.json().tables as Array<{name: string; format: string; columns: Array<{name: string; type: string}>; partitions: string[]}>
    expect(tables.map((x) => x.name)).toEqual(expect.arrayContaining(['participants', 'participants_parquet', 'raw_participants']))
    const pq = tables.find((x) => x.name === 'participants_parquet')!
    expect(pq.format).toBe('parquet')
    expect(pq.columns.find((c) => c.name === 'dob')?.type).toBe('date')
    expect(pq.partitions).toHaveLength(1)
  })

  it('sees every ingested row at once, in CSV and parquet, with the right types; aggregates equal DuckDB on the same files', async () => {
    const count = async (table: string) => {
      const r = await ws.cli(['query', `SELECT count(*) AS n FROM ${table}`, '--format', 'json'])
      expect(r.code, r.stderr).toBe(0)
      return r.json()[0].n
    }
    expect(await count('participants')).toBe(40)
    expect(await count('participants_parquet')).toBe(40)
    const typed = await ws.cli(['query', "SELECT min(dob) AS first, max(CAST(dob AS date)) - DATE '1900-01-01' AS days FROM participants_parquet", '--format', 'json'])
    expect(typed.code, typed.stderr).toBe(0)
    expect(typed.json()[0].first).toMatch(/^\d{4}-\d\d-\d\d$/)
    const sql = 'SELECT site, count(*) AS n, min(dob) AS earliest FROM participants_parquet GROUP BY site ORDER BY site'
    const ours = await ws.cli(['query', sql, '--format', 'csv'])
    expect(ours.code, ours.stderr).toBe(0)
    const files = await ws.cli(['ls', 'curated/participants/parquet/', '--recursive', '--json'])
    const keys = (files.json() as Array<{key: string}>).map((f) => f.key)
    const buckets = ws.outputs()
    const dataDir = path.join(ws.home, 's3', 'buckets', buckets.CuratedBucketName)
    const duck = await (await DuckDBInstance.create(':memory:')).connect()
    const list = keys.map((k) => `'${path.join(dataDir, k)}._S3rver_object'`).join(', ')
    const direct = await duck.runAndReadAll(`SELECT site, count(*) AS n, CAST(min("DOB") AS VARCHAR) AS earliest FROM read_parquet([${list}]) GROUP BY site ORDER BY site`)
    const expected = ['site,n,earliest', ...direct.getRows().map((r) => r.map(String).join(','))]
    expect(ours.stdout.trimEnd().split('\n')).toEqual(expected)
  }, 120_000)

  it('the analysis demo runs: every fixtures/analyses/*.sql, the decade chart as README shows it', async () => {
    for (const file of readdirSync(path.join(repoRoot, 'fixtures/analyses')).filter((f) => f.endsWith('.sql'))) {
      const r = await ws.cli(['query', '--file', path.join(repoRoot, 'fixtures/analyses', file), '--format', 'json'])
      expect(r.code, `${file}: ${r.stderr}`).toBe(0)
      expect(r.json().length, file).toBeGreaterThan(0)
    }
    const chart = await ws.cli(['query', '--file', path.join(repoRoot, 'fixtures/analyses/participants_per_birth_decade.sql'), '--chart', 'bar'])
    expect(chart.stdout).toMatch(/^1990s +█+ 8$/m)
  }, 120_000)

  it('partner can run nothing; reg queries curated but cannot read raw through a query; admin can', async () => {
    for (const user of ['reg_user', 'partner_user']) {
      const k = await ws.cli(['users', 'rotate-key', user, '--yes', '--save-profile', `q-${user}`])
      expect(k.code, k.stderr).toBe(0)
    }
    const reg = await ws.cli(['query', 'SELECT count(*) AS n FROM participants', '--format', 'json', '--profile', 'q-reg_user'])
    expect(reg.code, reg.stderr).toBe(0)
    expect(reg.json()[0].n).toBe(40)
    const regRaw = await ws.cli(['query', 'SELECT count(*) AS n FROM raw_participants', '--profile', 'q-reg_user'])
    expect(regRaw.code).toBe(5)
    expect(regRaw.stderr).toMatch(/not authorized to perform: glue:GetTable/)
    const partner = await ws.cli(['query', 'SELECT 1 AS one', '--profile', 'q-partner_user'])
    expect(partner.code).toBe(3)
    expect(partner.stderr).toMatch(/athena:StartQueryExecution/)
    const admin = await ws.cli(['query', 'SELECT count(*) AS n FROM raw_participants', '--format', 'json'])
    expect(admin.code, admin.stderr).toBe(0)
    expect(admin.json()[0].n).toBe(80) // raw keeps all four uploads
  }, 120_000)

  it('access check gains the query cells with phase 2: reg queries curated only, admin both, partner nothing (policy and live)', async () => {
    const r = await ws.cli(['access', 'check', '--live', '--json'], {timeoutMs: 180_000})
    expect(r.code, r.stdout + r.stderr).toBe(0)
    const cells = (r.json().cells as Array<{user: string; zone: string; action: string; simulated: boolean; live?: boolean}>).filter((c) => c.action === 'query')
    const view = Object.fromEntries(cells.map((c) => [`${c.user} ${c.zone}`, [c.simulated, c.live]]))
    expect(view).toEqual({
      'admin_user curated': [true, true], 'admin_user raw': [true, true],
      'partner_user curated': [false, false], 'partner_user raw': [false, false],
      'reg_user curated': [true, true], 'reg_user raw': [false, false],
    })
  }, 200_000)

  it('formats: csv (default off a TTY), json typed, ndjson, table; stats on stderr', async () => {
    const sql = 'SELECT site, count(*) AS n FROM participants GROUP BY site ORDER BY n DESC, site'
    const csv = await ws.cli(['query', sql])
    expect(csv.code, csv.stderr).toBe(0)
    expect(csv.stdout.split('\n')[0]).toBe('site,n')
    expect(csv.stderr).toMatch(/rows · .* scanned/)
    const json = await ws.cli(['query', sql, '--format', 'json'])
    const rows = JSON.parse(json.stdout)
    expect(rows.reduce((a: number, r: any) => a + r.n, 0)).toBe(40)
    expect(typeof rows[0].n).toBe('number')
    const nd = await ws.cli(['query', sql, '--format', 'ndjson'])
    expect(nd.stdout.trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual(rows)
    const table = await ws.cli(['query', sql, '--format', 'table'])
    expect(table.stdout.split('\n')[1]).toMatch(/^─+ {2}─+$/)
    const chart = await ws.cli(['query', sql, '--chart', 'bar'])
    expect(chart.code, chart.stderr).toBe(0)
    expect(chart.stdout).toContain('█')
    const notChart = await ws.cli(['query', 'SELECT site FROM participants', '--chart', 'bar'])
    expect(notChart.code).toBe(6)
    expect(notChart.stderr).toContain('two columns')
  }, 120_000)

  it('--out writes the whole result; a failed query gives its reason and exit 5; --list shows executions', async () => {
    const out = await ws.cli(['query', 'SELECT participant_id FROM participants ORDER BY 1', '--out', 'ids.csv', '--json'])
    expect(out.code, out.stderr).toBe(0)
    const text = readFileSync(path.join(ws.cwd, 'ids.csv'), 'utf8')
    expect(text.trimEnd().split('\n')).toHaveLength(41)
    const bad = await ws.cli(['query', 'SELECT nope FROM participants'])
    expect(bad.code).toBe(5)
    expect(bad.stderr).toContain('QUERY_FAILED')
    const list = await ws.cli(['query', '--list', '--json'])
    expect(list.code, list.stderr).toBe(0)
    expect(list.json().map((q: any) => q.state)).toContain('FAILED')
  }, 120_000)

  it('Ctrl-C stops a long query: exit 130 and the execution ends CANCELLED', async () => {
    const child = spawn(process.execPath, [cliBin, 'query', 'SELECT count(*) FROM participants_parquet a, participants_parquet b, participants_parquet c, participants_parquet d, participants_parquet e, participants_parquet f WHERE a.site || b.site || c.site || d.site || e.site || f.site = \'x\'', '--json'], {cwd: ws.cwd, env: cleanEnv(ws.env)})
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
    let stdout = ''
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
    await new Promise((r) => setTimeout(r, 3000))
    child.kill('SIGINT')
    const code = await new Promise((r) => child.on('close', r))
    expect(code, stderr).toBe(130)
    const list = await ws.cli(['query', '--list', '--json'])
    expect(list.json()[0].state).toBe('CANCELLED')
    const {QueryExecution: q} = await ws.admin().athena.send(new GetQueryExecutionCommand({QueryExecutionId: list.json()[0].queryExecutionId}))
    expect(q?.Status?.State).toBe('CANCELLED')
  }, 120_000)
})
