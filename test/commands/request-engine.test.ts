import {copyFileSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {DeleteTableCommand} from '@aws-sdk/client-glue'
import {parse} from 'csv-parse/sync'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {repoRoot} from '../helpers/cli.js'
import {localWorkspace, type LocalWorkspace} from '../helpers/platform.js'
import {callbackServer} from '../lib/requests/helpers.js'

/**
 * Extraction requests on the query engine (phase 2) against the streaming extractor (phase 1 alone), on the same
 * curated data (CSV and parquet, ingested by the CLI): the same rows for every filter op, values that try to be SQL
 * stay data, a failed query ends the request failed with Athena's reason, the callback still fires.
 */
let ws: LocalWorkspace
let n = 0
const requestFile = (doc: unknown) => {
  const name = `req-${++n}.json`
  writeFileSync(path.join(ws.cwd, name), JSON.stringify(doc))
  return name
}
/** Submit, wait, and return the status and the rows of every part (sorted: the engine promises no order). */
async function extract(doc: Record<string, unknown>) {
  const r = await ws.cli(['request', 'submit', requestFile(doc), '--json'], {timeoutMs: 120_000})
  const out = r.json()
  const rows: string[][] = []
  for (const f of out.fetched?.files ?? []) rows.push(...(parse(readFileSync(f.path, 'utf8'), {from_line: 2}) as string[][]))
  return {code: r.code, out, status: out.status ?? out.error, rows: rows.map((row) => row.join('|')).sort()}
}

const CASES: Array<[string, Record<string, unknown>]> = [
  ['eq', {column: 'site', op: 'eq', value: 'Lima'}],
  ['ne (empty values match)', {column: 'given_name', op: 'ne', value: 'Ada'}],
  ['lt on a date', {column: 'DOB', op: 'lt', value: '1950-01-01'}],
  ['lte', {column: 'DOB', op: 'lte', value: '1906-12-09'}],
  ['gt', {column: 'DOB', op: 'gt', value: '2000-01-01'}],
  ['gte', {column: 'participant_id', op: 'gte', value: 'P015'}],
  ['in', {column: 'site', op: 'in', values: ['Oslo', 'Kampala']}],
  ['between', {column: 'DOB', op: 'between', values: ['1970-01-01', '1989-12-31']}],
  ['contains (unicode)', {column: 'family_name', op: 'contains', value: 'á'}],
  ['eq unicode', {column: 'given_name', op: 'eq', value: 'Zoë'}],
]

describe('extraction requests on the query engine vs the streaming extractor (built CLI, local platform)', () => {
  const streamed = new Map<string, string[]>()
  beforeAll(async () => {
    ws = await localWorkspace({deploy: true})
    for (const [fixture, name, output] of [['participants.csv', 'p.csv', 'csv'], ['participants_legacy.csv', 'legacy_pq.csv', 'parquet']]) {
      copyFileSync(path.join(repoRoot, 'fixtures', fixture!), path.join(ws.cwd, name!))
      const r = await ws.cli(['ingest', name!, '--output', output!, '--transform', 'local', '--json'])
      if (r.code !== 0) throw new Error(r.stdout + r.stderr)
    }
    // phase 1 alone: the streaming extractor answers
    for (const [name, filter] of CASES) {
      const s = await extract({dataset: 'participants', filters: [filter]})
      if (s.code !== 0 || s.status.engine !== undefined) throw new Error(`${name}: ${JSON.stringify(s.out)}`)
      streamed.set(name, s.rows)
    }
    const d = await ws.cli(['deploy', 'phase2', '--yes', '--json'])
    if (d.code !== 0) throw new Error(d.stdout + d.stderr)
  }, 400_000)
  afterAll(async () => ws?.stop())

  it.each(CASES)('%s: the same rows as the streaming extractor', async (name, filter) => {
    const s = await extract({dataset: 'participants', filters: [filter]})
    expect(s.code, JSON.stringify(s.out)).toBe(0)
    expect(s.status).toMatchObject({state: 'succeeded', engine: 'athena', queryExecutionId: expect.any(String)})
    expect(s.status.dataScannedBytes).toBeGreaterThan(0)
    expect(s.rows).toEqual(streamed.get(name))
    expect(s.rows.length).toBe(s.status.rows)
  }, 120_000)

  it('projection, limit and parquet output; request status shows the query', async () => {
    const s = await extract({dataset: 'participants', columns: ['site', 'participant_id'], filters: [{column: 'site', op: 'eq', value: 'Oslo'}], format: 'parquet', limit: 3})
    expect(s.status).toMatchObject({state: 'succeeded', rows: 3, format: 'parquet', files: [{key: expect.stringMatching(/part-00000\.parquet$/)}]})
    const st = await ws.cli(['request', 'status', s.out.id])
    expect(st.stdout).toMatch(new RegExp(`engine +athena query ${s.status.queryExecutionId}, .* scanned`))
  }, 120_000)

  it('values that try to be SQL are data: quotes, comments, backslashes, unicode; --explain shows ? and the parameters', async () => {
    for (const value of ["x'; DROP TABLE participants; --", "O''Brien\\' OR '1'='1", '\\\\', '"; SELECT 1; --', 'Ó Briain\u0000']) {
      const s = await extract({dataset: 'participants', filters: [{column: 'family_name', op: 'eq', value}]})
      expect(s.status, value).toMatchObject({state: 'succeeded', engine: 'athena', rows: 0})
    }
    const ok = await extract({dataset: 'participants', filters: [{column: 'family_name', op: 'eq', value: 'Ó Briain'}]})
    expect(ok.status.rows).toBe(2)
    const explain = await ws.cli(['request', 'submit', requestFile({dataset: 'participants', columns: ['participant_id'], filters: [{column: 'family_name', op: 'eq', value: "x'; DROP TABLE t; --"}]}), '--explain'])
    expect(explain.code, explain.stderr).toBe(0)
    expect(explain.stdout).toContain('WHERE "family_name" = ?')
    expect(explain.stdout).toContain("?1 = 'x''; DROP TABLE t; --'")
    expect(explain.stdout).not.toMatch(/= 'x'; DROP/)
  }, 180_000)

  it('the callback fires with the final status', async () => {
    const server = await callbackServer()
    try {
      const s = await extract({dataset: 'participants', filters: [{column: 'site', op: 'eq', value: 'Lima'}], callbackUrl: server.url})
      expect(s.status.callback).toMatchObject({ok: true})
      expect(server.received[0]?.body).toMatchObject({id: s.out.id, state: 'succeeded', engine: 'athena'})
    } finally {
      await server.close()
    }
  }, 120_000)

  it('a failed query ends the request failed with Athena\'s reason; partner cannot submit', async () => {
    const glue = ws.admin().glue
    await glue.send(new DeleteTableCommand({DatabaseName: 'cape_local', Name: 'participants_parquet'}))
    try {
      const s = await extract({dataset: 'participants'})
      expect(s.code).toBe(5)
      expect(s.out.error).toMatchObject({code: 'REQUEST_FAILED', data: {reason: expect.stringContaining('TABLE_NOT_FOUND')}})
      const status = (await ws.cli(['request', 'status', s.out.error.data.id, '--json'])).json()
      expect(status).toMatchObject({state: 'failed', engine: 'athena'})
      expect(status.reason).toMatch(/^query failed: TABLE_NOT_FOUND: line \d+:\d+: /)
    } finally {
      expect((await ws.cli(['tables', '--sync'])).code).toBe(0)
    }
    expect((await ws.cli(['users', 'rotate-key', 'partner_user', '--yes', '--save-profile', 'e-partner'])).code).toBe(0)
    const partner = await ws.cli(['request', 'submit', requestFile({dataset: 'participants'}), '--profile', 'e-partner'])
    expect(partner.code).toBe(3)
  }, 180_000)
})
