import {createHash} from 'node:crypto'
import {CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client} from '@aws-sdk/client-s3'
import {parquetMetadata, parquetReadObjects} from 'hyparquet'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {loadDatasets} from '../../../src/lib/ingest/datasets.js'
import {civilFromDays} from '../../../src/lib/requests/extract.js'
import {idFromKey, processRequest, type ExtractorDeps} from '../../../src/lib/requests/extractor.js'
import type {RequestStatus} from '../../../src/lib/requests/status.js'
import type {Platform} from '../../../src/lib/platform/server.js'
import {removeDir, s3Client, startTestPlatform} from '../platform/iam/fixture.js'
import {PARTICIPANTS_CSV_ROWS, PARTICIPANTS_HEADER, PARTICIPANTS_PARQUET_ROWS, callbackServer, csvOf, parquetOf} from './helpers.js'

const datasets = loadDatasets({
  visits: {columns: [{name: 'id', type: 'string', required: true}, {name: 'age', type: 'integer'}, {name: 'score', type: 'number'}, {name: 'active', type: 'boolean'}, {name: 'day', type: 'date'}]},
})
const B = {curated: 'curated', requests: 'requests', results: 'results'}

let platform: Platform
let s3: S3Client
let seq = 0

beforeAll(async () => {
  platform = await startTestPlatform()
  s3 = s3Client(platform)
  for (const b of Object.values(B)) await s3.send(new CreateBucketCommand({Bucket: b}))
  const put = (Key: string, Body: string | Buffer) => s3.send(new PutObjectCommand({Bucket: B.curated, Key, Body}))
  await put('participants/ingest_date=2024-01-01/a.csv', csvOf(PARTICIPANTS_HEADER, PARTICIPANTS_CSV_ROWS))
  await put('participants/ingest_date=2024-02-01/b.parquet', parquetOf(datasets.get('participants')!, PARTICIPANTS_PARQUET_ROWS))
  await put('participants/_reports/ignored.csv', 'participant_id,site\nX99,Nowhere\n')
  await put('visits/ingest_date=2024-01-01/v.csv', csvOf(['id', 'age', 'score', 'active', 'day'], [
    ['v1', '30', '1.5', 'true', '2024-01-01'],
    ['v2', '70', '-0.25', 'false', '2024-03-01'],
    ['v3', '', '', '', ''],
    ['v4', '18', '2e3', 'true', '1999-12-31'],
  ]))
}, 60_000)
afterAll(async () => {
  s3?.destroy()
  await platform?.close()
  if (platform) removeDir(platform.dataDir)
})

const text = async (Bucket: string, Key: string) => (await s3.send(new GetObjectCommand({Bucket, Key}))).Body!.transformToString()
const bytes = async (Bucket: string, Key: string) => Buffer.from(await (await s3.send(new GetObjectCommand({Bucket, Key}))).Body!.transformToByteArray())

/** Put a request the way anyone with s3:PutObject can, and run the extractor on it. */
async function run(doc: unknown, options: Partial<ExtractorDeps> & {metadata?: Record<string, string>} = {}): Promise<RequestStatus> {
  const id = `T${++seq}`
  const key = `${id}/request.json`
  await s3.send(new PutObjectCommand({Bucket: B.requests, Key: key, Body: typeof doc === 'string' ? doc : JSON.stringify(doc), Metadata: options.metadata}))
  const status = await processRequest(
    {s3, curatedBucket: B.curated, resultsBucket: B.results, rowsPerFile: 1000, datasets, remainingMs: () => 60_000, callback: {backoffMs: 20, policy: {local: true}}, ...options},
    {bucket: B.requests, key, uploader: 'AWS:AKIATEST'},
  )
  // what is in the bucket is what the function returned
  expect(JSON.parse(await text(B.results, `${id}/status.json`))).toEqual(status)
  return status!
}

const csvIds = async (status: RequestStatus) => {
  const all: string[] = []
  for (const f of status.files) all.push(...(await text(B.results, f.key)).trim().split('\n').slice(1).map((l) => l.split(',')[0]))
  return all
}

describe('processRequest (extractor core, on a real local S3)', () => {
  it('extracts every row of CSV and parquet curated objects, in key order, skipping internal keys', async () => {
    const status = await run({dataset: 'participants'}, {metadata: {'cape-submitted-by': 'arn:aws:iam::1:user/x', 'cape-submitted-at': '2024-05-01T00:00:00.000Z'}})
    expect(status).toMatchObject({state: 'succeeded', rows: 8, dataset: 'participants', format: 'csv', submittedBy: 'arn:aws:iam::1:user/x', submittedAt: '2024-05-01T00:00:00.000Z', uploader: 'AWS:AKIATEST'})
    expect(status.deadline).toBeUndefined()
    expect(Date.parse(status.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(status.startedAt!))
    expect(status.files).toHaveLength(1)
    const body = await bytes(B.results, status.files[0].key)
    expect(status.files[0]).toEqual({key: `${status.id}/part-00000.csv`, size: body.length, sha256: createHash('sha256').update(body).digest('hex'), rows: 8})
    // byte for byte the canonical CSV of all rows (the parquet rows come back as the same text)
    expect(body.toString()).toBe(csvOf(PARTICIPANTS_HEADER, [...PARTICIPANTS_CSV_ROWS, ...PARTICIPANTS_PARQUET_ROWS]))
  })

  it.each([
    ['eq', {column: 'site', op: 'eq', value: 'Lima'}, ['P02', 'P05']],
    ['ne (an empty value matches)', {column: 'given_name', op: 'ne', value: 'Ada'}, ['P02', 'P03', 'P04', 'P05', 'P06', 'P07', 'P08']],
    ['lt', {column: 'DOB', op: 'lt', value: '1900-01-01'}, ['P01']],
    ['lte', {column: 'DOB', op: 'lte', value: '1906-12-09'}, ['P01', 'P03']],
    ['gt', {column: 'DOB', op: 'gt', value: '1920-01-01'}, ['P04', 'P05']],
    ['gte', {column: 'DOB', op: 'gte', value: '1921-04-09'}, ['P04', 'P05']],
    ['in', {column: 'site', op: 'in', values: ['Oslo', 'Kampala']}, ['P01', 'P04', 'P06', 'P07']],
    ['between', {column: 'DOB', op: 'between', values: ['1910-01-01', '1918-12-31']}, ['P02', 'P07', 'P08']],
    ['contains', {column: 'family_name', op: 'contains', value: 'son'}, ['P05', 'P07']],
  ])('filter %s (CSV and parquet sources)', async (_name, filter, expected) => {
    const status = await run({dataset: 'participants', filters: [filter]})
    expect(status.state, status.reason).toBe('succeeded')
    expect(await csvIds(status)).toEqual(expected)
    expect(status.rows).toBe(expected.length)
  })

  it('filters integer, number, boolean and date columns by value, not by text', async () => {
    const ids = async (filters: unknown[]) => csvIds(await run({dataset: 'visits', filters}))
    expect(await ids([{column: 'age', op: 'gt', value: 20}])).toEqual(['v1', 'v2']) // "18" > "20" as text would differ
    expect(await ids([{column: 'score', op: 'gte', value: 100}])).toEqual(['v4']) // 2e3
    expect(await ids([{column: 'active', op: 'eq', value: false}])).toEqual(['v2'])
    expect(await ids([{column: 'day', op: 'between', values: ['2000-01-01', '2024-12-31']}])).toEqual(['v1', 'v2'])
    expect(await ids([{column: 'age', op: 'in', values: [18, 70]}, {column: 'active', op: 'ne', value: true}])).toEqual(['v2'])
  })

  it('projects columns in the requested order, applies the limit and splits every ROWS_PER_FILE rows', async () => {
    const status = await run({dataset: 'participants', columns: ['site', 'participant_id'], limit: 7}, {rowsPerFile: 3})
    expect(status).toMatchObject({state: 'succeeded', rows: 7})
    expect(status.files.map((f) => [f.key.split('/')[1], f.rows])).toEqual([['part-00000.csv', 3], ['part-00001.csv', 3], ['part-00002.csv', 1]])
    expect(await text(B.results, status.files[0].key)).toBe('site,participant_id\nOslo,P01\nLima,P02\nNairobi,P03\n')
    expect(await text(B.results, status.files[2].key)).toBe('site,participant_id\nOslo,P07\n')
    for (const f of status.files) expect(createHash('sha256').update(await bytes(B.results, f.key)).digest('hex')).toBe(f.sha256)
  })

  it('writes one header-only file when nothing matches', async () => {
    const status = await run({dataset: 'participants', filters: [{column: 'site', op: 'eq', value: 'Atlantis'}]})
    expect(status).toMatchObject({state: 'succeeded', rows: 0, files: [{rows: 0}]})
    expect(await text(B.results, status.files[0].key)).toBe(`${PARTICIPANTS_HEADER.join(',')}\n`)
  })

  it('writes typed parquet (DATE, INT64, DOUBLE, BOOLEAN; empty → null)', async () => {
    const status = await run({dataset: 'visits', format: 'parquet', columns: ['id', 'age', 'score', 'active', 'day']})
    expect(status).toMatchObject({state: 'succeeded', format: 'parquet', rows: 4, files: [{key: `${status.id}/part-00000.parquet`}]})
    const buf = await bytes(B.results, status.files[0].key)
    const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)
    const schema = parquetMetadata(file).schema.slice(1).map((s) => [s.name, s.type, s.converted_type ?? null])
    expect(schema).toEqual([['id', 'BYTE_ARRAY', 'UTF8'], ['age', 'INT64', 'INT_64'], ['score', 'DOUBLE', null], ['active', 'BOOLEAN', null], ['day', 'INT32', 'DATE']])
    const rows = await parquetReadObjects({file, parsers: {dateFromDays: (d: number) => civilFromDays(d)}})
    expect(rows).toEqual([
      {id: 'v1', age: 30n, score: 1.5, active: true, day: '2024-01-01'},
      {id: 'v2', age: 70n, score: -0.25, active: false, day: '2024-03-01'},
      {id: 'v3', age: null, score: null, active: null, day: null},
      {id: 'v4', age: 18n, score: 2000, active: true, day: '1999-12-31'},
    ])
  })

  it('a request that fails validation ends failed with every problem, and no result files', async () => {
    const status = await run({dataset: 'participants', columns: ['nope'], filters: [{column: 'DOB', op: 'gt', value: 1900}], extra: 1})
    expect(status.state).toBe('failed')
    expect(status.reason).toBe('invalid request: /columns/0: unknown column "nope" of dataset "participants" (columns: participant_id, given_name, family_name, DOB, site) (and 2 more)')
    expect(status.errors!.map((e) => e.pointer)).toEqual(['/columns/0', '/extra', '/filters/0/value'])
    expect(status.files).toEqual([])
    const left = await s3.send(new ListObjectsV2Command({Bucket: B.results, Prefix: `${status.id}/`}))
    expect(left.Contents!.map((o) => o.Key)).toEqual([`${status.id}/status.json`])
  })

  it('a request that is not JSON ends failed', async () => {
    const status = await run('{"dataset": "participants",')
    expect(status).toMatchObject({state: 'failed', reason: expect.stringMatching(/^invalid request: \(document\): not valid JSON/)})
  })

  it('never stays running: the timer before the function timeout writes failed: timed out', async () => {
    const status = await run({dataset: 'participants'}, {remainingMs: () => 500})
    expect(status).toMatchObject({state: 'failed', reason: expect.stringMatching(/^timed out/), files: []})
  })

  it('POSTs the final status to the callback URL and records the outcome', async () => {
    const server = await callbackServer()
    try {
      const status = await run({dataset: 'participants', limit: 1, callbackUrl: server.url})
      expect(server.received).toHaveLength(1)
      const {callback, ...final} = status
      expect(server.received[0].body).toEqual(final)
      expect(server.received[0].headers['content-type']).toBe('application/json')
      expect(callback).toMatchObject({url: server.url, ok: true, attempts: 1, httpStatus: 200})

      server.answers.push(503, 500)
      const retried = await run({dataset: 'participants', limit: 1, callbackUrl: server.url})
      expect(retried.callback).toMatchObject({ok: true, attempts: 3, httpStatus: 200})

      server.answers.push(400)
      const refused = await run({dataset: 'participants', limit: 1, callbackUrl: server.url})
      expect(refused.callback).toMatchObject({ok: false, attempts: 1, httpStatus: 400, error: 'HTTP 400'})

      server.answers.push(500, 500, 500, 500)
      const gaveUp = await run({dataset: 'participants', limit: 1, callbackUrl: server.url})
      expect(gaveUp.callback).toMatchObject({ok: false, attempts: 4, httpStatus: 500})
      expect(server.received).toHaveLength(1 + 3 + 1 + 4)
    } finally {
      await server.close()
    }
  })

  it('calls back for a failed request too, and records an unreachable endpoint', async () => {
    const server = await callbackServer()
    await server.close() // nothing listens there any more
    const status = await run({dataset: 'nope', callbackUrl: server.url})
    expect(status).toMatchObject({state: 'failed', callback: {ok: false, attempts: 4, error: 'ECONNREFUSED'}})
  })

  it('refuses a callback to loopback when it does not run on the local platform, with the reason in status.json', async () => {
    const server = await callbackServer()
    try {
      const status = await run({dataset: 'participants', limit: 1, callbackUrl: server.url.replace('http:', 'https:')}, {callback: {backoffMs: 20, policy: {local: false}}})
      expect(status.state).toBe('succeeded')
      expect(status.callback).toMatchObject({ok: false, refused: true, attempts: 0})
      expect(status.callback?.error).toMatch(/^refused: 127\.0\.0\.1 resolves to 127\.0\.0\.1, a loopback address/)
      const plain = await run({dataset: 'participants', limit: 1, callbackUrl: server.url}, {callback: {backoffMs: 20, policy: {local: false}}})
      expect(plain.callback).toMatchObject({ok: false, refused: true, error: 'refused: http: is not allowed: use https'})
    } finally {
      await server.close()
    }
  })

  it('ignores keys that are not <id>/request.json', async () => {
    expect(idFromKey('01ABC/request.json')).toBe('01ABC')
    expect(idFromKey('request.json')).toBeUndefined()
    expect(idFromKey('x/myrequest.json')).toBeUndefined()
    expect(idFromKey('a/b/request.json')).toBeUndefined()
    const status = await processRequest({s3, curatedBucket: B.curated, resultsBucket: B.results, rowsPerFile: 10, datasets, remainingMs: () => 60_000}, {bucket: B.requests, key: 'myrequest.json'})
    expect(status).toBeUndefined()
  })
})
