import {readFileSync, readdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {GetObjectCommand, ListObjectsV2Command, PutObjectCommand} from '@aws-sdk/client-s3'
import {parquetReadObjects} from 'hyparquet'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {loadDatasets} from '../../src/lib/ingest/datasets.js'
import {readStatus, waitForRequest} from '../../src/lib/requests/wait.js'
import {localWorkspace, type LocalWorkspace} from '../helpers/platform.js'
import {PARTICIPANTS_CSV_ROWS, PARTICIPANTS_HEADER, PARTICIPANTS_PARQUET_ROWS, callbackServer, csvOf, parquetOf} from '../lib/requests/helpers.js'

let ws: LocalWorkspace
let buckets: {curated: string; requests: string; results: string}
let n = 0

/** Write a request file into the workspace; returns its name. */
const requestFile = (doc: unknown) => {
  const name = `req-${++n}.json`
  writeFileSync(path.join(ws.cwd, name), typeof doc === 'string' ? doc : JSON.stringify(doc, null, 2))
  return name
}
const ids = (file: string) => readFileSync(file, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')[0])
const requestKeys = async () => ((await ws.admin().s3.send(new ListObjectsV2Command({Bucket: buckets.requests}))).Contents ?? []).map((o) => o.Key)

beforeAll(async () => {
  ws = await localWorkspace({deploy: true})
  const o = ws.outputs()
  buckets = {curated: o.CuratedBucketName, requests: o.RequestsBucketName, results: o.ResultsBucketName}
  const s3 = ws.admin().s3
  await s3.send(new PutObjectCommand({Bucket: buckets.curated, Key: 'participants/ingest_date=2024-01-01/a.csv', Body: csvOf(PARTICIPANTS_HEADER, PARTICIPANTS_CSV_ROWS)}))
  await s3.send(new PutObjectCommand({Bucket: buckets.curated, Key: 'participants/ingest_date=2024-02-01/b.parquet', Body: parquetOf(loadDatasets().get('participants')!, PARTICIPANTS_PARQUET_ROWS)}))
}, 180_000)
afterAll(async () => ws?.stop())

describe('cape request (built CLI, local platform, deployed phase1)', () => {
  it('submit: validates, uploads, waits, downloads the verified results (correct rows)', async () => {
    const r = await ws.cli(['request', 'submit', requestFile({dataset: 'participants', columns: ['participant_id', 'site'], filters: [{column: 'site', op: 'in', values: ['Oslo', 'Lima']}]}), '--json'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    const out = r.json()
    expect(out).toMatchObject({state: 'succeeded', dataset: 'participants', submittedBy: expect.stringMatching(/^arn:aws:iam::\d{12}:root$/), status: {rows: 5, state: 'succeeded'}})
    expect(out.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/)
    expect(out.fetched.dir).toBe(path.join(ws.cwd, 'results', out.id))
    expect(readdirSync(out.fetched.dir)).toEqual(['part-00000.csv'])
    expect(readFileSync(path.join(out.fetched.dir, 'part-00000.csv'), 'utf8')).toBe('participant_id,site\nP01,Oslo\nP02,Lima\nP05,Lima\nP06,Oslo\nP07,Oslo\n')
    // the request object carries the submitter; the status copies it for `list`
    const listed = (await ws.cli(['request', 'list', '--json'])).json()
    expect(listed).toContainEqual(expect.objectContaining({id: out.id, dataset: 'participants', state: 'succeeded', submittedBy: out.submittedBy, submittedAt: out.submittedAt}))
  })

  it('filters: each op gives the right rows from CSV and parquet curated objects (requests put straight into the zone)', async () => {
    const cases: Array<[unknown, string[]]> = [
      [{column: 'site', op: 'eq', value: 'Lima'}, ['P02', 'P05']],
      [{column: 'given_name', op: 'ne', value: 'Ada'}, ['P02', 'P03', 'P04', 'P05', 'P06', 'P07', 'P08']],
      [{column: 'DOB', op: 'lt', value: '1900-01-01'}, ['P01']],
      [{column: 'DOB', op: 'lte', value: '1906-12-09'}, ['P01', 'P03']],
      [{column: 'DOB', op: 'gt', value: '1920-01-01'}, ['P04', 'P05']],
      [{column: 'DOB', op: 'gte', value: '1921-04-09'}, ['P04', 'P05']],
      [{column: 'site', op: 'in', values: ['Oslo', 'Kampala']}, ['P01', 'P04', 'P06', 'P07']],
      [{column: 'DOB', op: 'between', values: ['1910-01-01', '1918-12-31']}, ['P02', 'P07', 'P08']],
      [{column: 'family_name', op: 'contains', value: 'son'}, ['P05', 'P07']],
    ]
    const s3 = ws.admin().s3
    // the extractor is what filters: drive it through the bucket (the API), as any client may, all at once
    await Promise.all(cases.map(([filter], i) => s3.send(new PutObjectCommand({Bucket: buckets.requests, Key: `op-${i}/request.json`, Body: JSON.stringify({dataset: 'participants', filters: [filter]})}))))
    for (const [i, [filter, expected]] of cases.entries()) {
      const status = await waitForRequest(s3, buckets.results, `op-${i}`, {intervalMs: 100, timeoutMs: 30_000})
      expect(status.state, status.reason).toBe('succeeded')
      const body = await (await s3.send(new GetObjectCommand({Bucket: buckets.results, Key: status.files[0].key}))).Body!.transformToString()
      expect(body.trim().split('\n').slice(1).map((l) => l.split(',')[0]), JSON.stringify(filter)).toEqual(expected)
    }
  })

  it('parquet output, into --out', async () => {
    const out = path.join(ws.cwd, 'pq')
    const r = await ws.cli(['request', 'submit', requestFile({dataset: 'participants', format: 'parquet', columns: ['participant_id', 'DOB'], limit: 3}), '--out', out, '--json'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(readdirSync(out)).toEqual(['part-00000.parquet'])
    const buf = readFileSync(path.join(out, 'part-00000.parquet'))
    const rows = await parquetReadObjects({file: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)})
    expect(rows.map((x) => [x.participant_id, (x.DOB as Date).toISOString().slice(0, 10)])).toEqual([['P01', '1815-12-10'], ['P02', '1912-06-23'], ['P03', '1906-12-09']])
  })

  it('rejects an invalid request locally: every error with its pointer, exit 6, nothing uploaded', async () => {
    const before = await requestKeys()
    const bad = requestFile({dataset: 'participants', columns: ['nope'], filters: [{column: 'DOB', op: 'between', values: ['2000-01-01']}, {column: 'site', op: 'eq', value: 3}], colour: 'red'})
    const j = await ws.cli(['request', 'submit', bad, '--json'])
    expect(j.code).toBe(6)
    expect(j.json().error).toMatchObject({code: 'REQUEST_INVALID'})
    expect(j.json().error.data.issues.map((i: any) => i.pointer)).toEqual(['/colour', '/columns/0', '/filters/0/values', '/filters/1/value'])
    const h = await ws.cli(['request', 'submit', bad])
    expect(h.code).toBe(6)
    expect(h.stderr).toContain('/filters/1/value: 3 is not a string (column "site" is a string)')
    expect(h.stderr).toContain('nothing was uploaded')
    const unknown = await ws.cli(['request', 'submit', requestFile({dataset: 'patients'}), '--json'])
    expect(unknown.code).toBe(6)
    expect(unknown.json().error.data.issues).toEqual([{pointer: '/dataset', message: expect.stringContaining('unknown dataset "patients"')}])
    expect(await requestKeys()).toEqual(before)
  })

  it('an invalid request written straight to the bucket ends failed with the reason (wait exits 5)', async () => {
    const id = 'direct-1'
    await ws.admin().s3.send(new PutObjectCommand({Bucket: buckets.requests, Key: `${id}/request.json`, Body: JSON.stringify({dataset: 'participants', filters: [{column: 'DOB', op: 'gt', value: 1900}]})}))
    const w = await ws.cli(['request', 'wait', id, '--interval', '100ms', '--timeout', '30s', '--json'])
    expect(w.code).toBe(5)
    expect(w.json().error).toMatchObject({code: 'REQUEST_FAILED', data: {reason: expect.stringContaining('/filters/0/value: 1900 is not a date'), issues: [{pointer: '/filters/0/value'}]}})
    const s = await ws.cli(['request', 'status', id, '--json'])
    expect(s.code).toBe(0)
    expect(s.json()).toMatchObject({id, state: 'failed', stale: false, files: [], errors: [{pointer: '/filters/0/value'}]})
    const human = await ws.cli(['request', 'status', id])
    expect(human.stdout).toMatch(/state\s+failed/)
    expect(human.stdout).toContain('/filters/0/value: 1900 is not a date')
  })

  it('POSTs the final status to a callback on loopback and records the outcome', async () => {
    const server = await callbackServer()
    try {
      const r = await ws.cli(['request', 'submit', requestFile({dataset: 'participants', limit: 2, callbackUrl: server.url}), '--json'])
      expect(r.code, r.stdout + r.stderr).toBe(0)
      const id = r.json().id
      await server.waitFor(1)
      expect(server.received[0].body).toMatchObject({id, state: 'succeeded', rows: 2, files: [{key: `${id}/part-00000.csv`}]})
      // the outcome lands in status.json right after the POST
      let status = await readStatus(ws.admin().s3, buckets.results, id)
      for (let i = 0; i < 100 && !status.callback; i++) {
        await new Promise((res) => setTimeout(res, 50))
        status = await readStatus(ws.admin().s3, buckets.results, id)
      }
      expect(status.callback).toMatchObject({url: server.url, ok: true, attempts: 1, httpStatus: 200})
    } finally {
      await server.close()
    }
  })

  it('--no-wait prints the id; wait then downloads; fetch downloads again', async () => {
    const r = await ws.cli(['request', 'submit', requestFile({dataset: 'participants', filters: [{column: 'site', op: 'eq', value: 'Nairobi'}]}), '--no-wait'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    const id = r.stdout.trim()
    expect(id).toMatch(/^[0-9A-Z]{26}$/)
    const w = await ws.cli(['request', 'wait', id, '--interval', '100ms', '--json'])
    expect(w.code, w.stdout + w.stderr).toBe(0)
    expect(ids(w.json().fetched.files[0].path)).toEqual(['P03', 'P08'])
    const f = await ws.cli(['request', 'fetch', id, '--out', 'again'])
    expect(f.code, f.stderr).toBe(0)
    expect(f.stdout).toContain('checksums verified')
    expect(ids(path.join(ws.cwd, 'again', 'part-00000.csv'))).toEqual(['P03', 'P08'])
  })

  it('stops at --timeout with exit 8 and the hint `cape request wait <id>`', async () => {
    const r = await ws.cli(['request', 'submit', requestFile({dataset: 'participants'}), '--timeout', '1ms', '--json'])
    expect(r.code).toBe(8)
    const error = r.json().error
    expect(error).toMatchObject({code: 'REQUEST_STILL_RUNNING', hints: [`Keep waiting: cape request wait ${error.data.id}`]})
    const never = await ws.cli(['request', 'wait', '01ZZZZZZZZZZZZZZZZZZZZZZZZ', '--timeout', '300ms', '--interval', '100ms'])
    expect(never.code).toBe(8)
    expect(never.stderr).toContain('cape request wait 01ZZZZZZZZZZZZZZZZZZZZZZZZ')
  })

  it('--ndjson: one parseable JSON line per event on stdout', async () => {
    const r = await ws.cli(['request', 'submit', requestFile({dataset: 'participants', limit: 1}), '--ndjson', '--interval', '50ms'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l))
    const events = lines.map((l) => (l.event === 'state' ? `state:${l.state}` : l.event))
    expect(events[0]).toBe('submitted')
    expect(events.at(-2)).toBe('state:succeeded')
    expect(events.at(-1)).toBe('downloaded')
    expect(new Set(events).size).toBe(events.length) // each change once
    for (const l of lines) expect(l).toMatchObject({id: lines[0].id, at: expect.any(String)})
    expect(lines.at(-2)).toMatchObject({rows: 1, files: [{rows: 1}]})
  })

  it('partner_user cannot submit: denied, with the access hint', async () => {
    const k = await ws.cli(['users', 'rotate-key', 'partner_user', '--save-profile', 'partner', '--yes', '--json'])
    expect(k.code, k.stderr).toBe(0)
    const before = await requestKeys()
    const r = await ws.cli(['request', 'submit', requestFile({dataset: 'participants'}), '--profile', 'partner', '--json'])
    expect(r.code).toBe(3)
    expect(r.json().error).toMatchObject({code: 'AWS_AccessDenied', hints: expect.arrayContaining([expect.stringContaining('cape access check')])})
    expect(await requestKeys()).toEqual(before)
  })
})
