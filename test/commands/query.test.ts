// Needs the platform's Athena/Glue engine (branch glue-athena): it fails until that is merged.
import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {CreateWorkGroupCommand, GetQueryExecutionCommand} from '@aws-sdk/client-athena'
import {CreateDatabaseCommand, CreateTableCommand} from '@aws-sdk/client-glue'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {cleanEnv, cliBin, repoRoot} from '../helpers/cli.js'
import {localWorkspace, type LocalWorkspace} from '../helpers/platform.js'

const columns = ['participant_id', 'given_name', 'family_name', 'DOB', 'site'].map((Name) => ({Name: Name.toLowerCase(), Type: 'string'}))

// Needs the local platform's Athena and Glue APIs (phase 2's engine), not on the platform yet: run it once they land.
describe.skip('cape query (built CLI, real local platform with its Athena engine)', () => {
  let ws: LocalWorkspace
  beforeAll(async () => {
    ws = await localWorkspace({deploy: true})
    const ing = await ws.cli(['ingest', path.join(repoRoot, 'fixtures/participants.csv'), '--transform', 'local', '--json'])
    if (ing.code !== 0) throw new Error(ing.stderr)
    const curated = ws.outputs().CuratedBucket
    const results = ws.outputs().ResultsBucket
    const {glue, athena} = ws.admin()
    await glue.send(new CreateDatabaseCommand({DatabaseInput: {Name: 'cape_local'}}))
    await athena.send(new CreateWorkGroupCommand({Name: 'cape-local', Configuration: {ResultConfiguration: {OutputLocation: `s3://${results}/athena/`}}}))
    await glue.send(new CreateTableCommand({
      DatabaseName: 'cape_local',
      TableInput: {
        Name: 'participants',
        TableType: 'EXTERNAL_TABLE',
        Parameters: {classification: 'csv', 'skip.header.line.count': '1'},
        StorageDescriptor: {
          Columns: columns,
          Location: `s3://${curated}/participants/`,
          InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          SerdeInfo: {SerializationLibrary: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe', Parameters: {'field.delim': ','}},
        },
      },
    }))
  }, 240_000)
  afterAll(async () => ws?.stop())

  it('formats: csv (default off a TTY), json typed, ndjson, table; stats on stderr', async () => {
    const sql = 'SELECT site, count(*) AS n FROM participants GROUP BY site ORDER BY n DESC, site'
    const csv = await ws.cli(['query', sql])
    expect(csv.code, csv.stderr).toBe(0)
    expect(csv.stdout.split('\n')[0]).toBe('site,n')
    expect(csv.stderr).toMatch(/rows · .* scanned/)
    const json = await ws.cli(['query', sql, '--format', 'json'])
    const rows = JSON.parse(json.stdout)
    expect(rows.reduce((a: number, r: any) => a + r.n, 0)).toBe(20)
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
    expect(text.trimEnd().split('\n')).toHaveLength(21)
    const bad = await ws.cli(['query', 'SELECT nope FROM participants'])
    expect(bad.code).toBe(5)
    expect(bad.stderr).toContain('QUERY_FAILED')
    const list = await ws.cli(['query', '--list', '--json'])
    expect(list.code, list.stderr).toBe(0)
    expect(list.json().map((q: any) => q.state)).toContain('FAILED')
  }, 120_000)

  it('Ctrl-C stops a long query: exit 130 and the execution ends CANCELLED', async () => {
    const child = spawn(process.execPath, [cliBin, 'query', 'SELECT count(*) FROM range(20000000000) a', '--json'], {cwd: ws.cwd, env: cleanEnv(ws.env)})
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
