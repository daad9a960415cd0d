import {createHash} from 'node:crypto'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {CreateBucketCommand, PutObjectCommand, type S3Client} from '@aws-sdk/client-s3'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {tempDir} from '../../helpers/cli.js'
import {downloadResults} from '../../../src/lib/requests/fetch.js'
import {listRequests} from '../../../src/lib/requests/list.js'
import {isStale, type RequestStatus} from '../../../src/lib/requests/status.js'
import {pollDelay, readStatus, waitForRequest} from '../../../src/lib/requests/wait.js'
import type {Platform} from '../../../src/lib/platform/server.js'
import {removeDir, s3Client, startTestPlatform} from '../platform/iam/fixture.js'

const bucket = 'results'
let platform: Platform
let s3: S3Client

beforeAll(async () => {
  platform = await startTestPlatform()
  s3 = s3Client(platform)
  await s3.send(new CreateBucketCommand({Bucket: bucket}))
}, 60_000)
afterAll(async () => {
  s3?.destroy()
  await platform?.close()
  if (platform) removeDir(platform.dataDir)
})

const putStatus = (s: Partial<RequestStatus> & {id: string; state: RequestStatus['state']}) =>
  s3.send(new PutObjectCommand({Bucket: bucket, Key: `${s.id}/status.json`, Body: JSON.stringify({rows: 0, files: [], ...s})}))

describe('waiting for a request', () => {
  it('backs off ×1.25 from the interval up to the cap', () => {
    expect([0, 1, 2, 3, 10].map((n) => pollDelay(n, 200, 1000))).toEqual([200, 250, 313, 391, 1000])
    expect(pollDelay(0, 3000, 1000)).toBe(3000) // an interval above the cap is the cap
  })

  it('reports pending while there is no status.json', async () => {
    expect(await readStatus(s3, bucket, 'nothing-here')).toEqual({id: 'nothing-here', state: 'pending', rows: 0, files: []})
  })

  it('stops at the timeout with exit 8 and the hint to keep waiting', async () => {
    const t0 = Date.now()
    await expect(waitForRequest(s3, bucket, 'never', {intervalMs: 50, timeoutMs: 300})).rejects.toMatchObject({
      code: 'REQUEST_STILL_RUNNING',
      exit: 8,
      hints: ['Keep waiting: cape request wait never'],
    })
    expect(Date.now() - t0).toBeLessThan(1500)
  })

  it('notices each state change, and a status that lands within the polling interval', async () => {
    const seen: string[] = []
    await putStatus({id: 'w1', state: 'running', startedAt: new Date().toISOString(), deadline: new Date(Date.now() + 60_000).toISOString()})
    let landed = 0
    setTimeout(() => {
      void putStatus({id: 'w1', state: 'succeeded', rows: 3}).then(() => (landed = Date.now()))
    }, 700)
    const status = await waitForRequest(s3, bucket, 'w1', {intervalMs: 100, maxIntervalMs: 400, timeoutMs: 10_000, onChange: (s) => seen.push(s.state)})
    const noticed = Date.now()
    expect(status).toMatchObject({state: 'succeeded', rows: 3})
    expect(seen).toEqual(['running', 'succeeded'])
    expect(landed).toBeGreaterThan(0)
    expect(noticed - landed).toBeLessThanOrEqual(400 + 100)
  })

  it('a running status past its deadline is stale', async () => {
    const old = {id: 's1', state: 'running' as const, rows: 0, files: [], startedAt: '2020-01-01T00:00:00.000Z', deadline: '2020-01-01T00:05:00.000Z'}
    expect(isStale(old)).toBe(true)
    expect(isStale({...old, deadline: new Date(Date.now() + 1000).toISOString()})).toBe(false)
    expect(isStale({...old, deadline: undefined})).toBe(true) // started long before any function timeout
    expect(isStale({...old, state: 'failed'})).toBe(false)
    await putStatus(old)
    await expect(waitForRequest(s3, bucket, 's1', {intervalMs: 50, timeoutMs: 5000})).rejects.toMatchObject({code: 'REQUEST_STALE', exit: 5})
  })
})

describe('downloading results', () => {
  const body = 'a,b\n1,2\n'
  const sha = createHash('sha256').update('something else').digest('hex')
  it('verifies size and sha256 against the manifest; a mismatch leaves no file', async () => {
    await s3.send(new PutObjectCommand({Bucket: bucket, Key: 'd1/part-00000.csv', Body: body}))
    const dir = tempDir()
    const status: RequestStatus = {id: 'd1', state: 'succeeded', rows: 1, files: [{key: 'd1/part-00000.csv', size: body.length, sha256: sha, rows: 1}]}
    await expect(downloadResults({s3}, bucket, status, dir)).rejects.toMatchObject({code: 'RESULT_CHECKSUM_MISMATCH', exit: 5})
    expect(readdirSync(dir)).toEqual([])
    const good = {...status, files: [{...status.files[0], sha256: createHash('sha256').update(body).digest('hex')}]}
    const r = await downloadResults({s3}, bucket, good, dir)
    expect(r).toMatchObject({id: 'd1', rows: 1, bytes: body.length, files: [{path: path.join(dir, 'part-00000.csv')}]})
    expect(readFileSync(path.join(dir, 'part-00000.csv'), 'utf8')).toBe(body)
  })

  it('refuses manifest keys outside the request or with unexpected names', async () => {
    const dir = tempDir()
    for (const key of ['other/part-00000.csv', 'd1/../../etc/passwd', 'd1/status.json']) {
      const status: RequestStatus = {id: 'd1', state: 'succeeded', rows: 0, files: [{key, size: 0, sha256: '', rows: 0}]}
      await expect(downloadResults({s3}, bucket, status, dir)).rejects.toMatchObject({code: 'RESULT_MANIFEST_INVALID'})
    }
    expect(existsSync(path.join(dir, 'passwd'))).toBe(false)
  })

  it('refuses to fetch a request that has not succeeded', async () => {
    await expect(downloadResults({s3}, bucket, {id: 'x', state: 'failed', rows: 0, files: []}, tempDir())).rejects.toMatchObject({code: 'REQUEST_NOT_SUCCEEDED', exit: 5})
    await expect(downloadResults({s3}, bucket, {id: 'x', state: 'running', rows: 0, files: []}, tempDir())).rejects.toMatchObject({code: 'REQUEST_NOT_SUCCEEDED', exit: 8})
  })
})

describe('listing requests', () => {
  it('lists newest first from the results zone, with the metadata copied into the status', async () => {
    const b = 'list-results'
    await s3.send(new CreateBucketCommand({Bucket: b}))
    for (const [id, state] of [['01A', 'succeeded'], ['01C', 'running'], ['01B', 'failed']] as const) {
      await s3.send(new PutObjectCommand({Bucket: b, Key: `${id}/status.json`, Body: JSON.stringify({id, state, rows: 0, files: [], dataset: 'participants', submittedBy: 'arn:x', submittedAt: '2024-01-01T00:00:00Z', startedAt: new Date().toISOString()})}))
    }
    const {requests, total} = await listRequests(s3, b, {limit: 2})
    expect(total).toBe(3)
    expect(requests).toEqual([
      expect.objectContaining({id: '01C', state: 'running', stale: false, dataset: 'participants', submittedBy: 'arn:x'}),
      expect.objectContaining({id: '01B', state: 'failed'}),
    ])
  })
})
