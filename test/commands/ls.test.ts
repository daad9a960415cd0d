import {PutObjectCommand} from '@aws-sdk/client-s3'
import pLimit from 'p-limit'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {localWorkspace, type LocalWorkspace} from '../helpers/platform.js'

let ws: LocalWorkspace
let curated: string
const MANY = 1_100

beforeAll(async () => {
  ws = await localWorkspace({deploy: true})
  curated = ws.outputs().CuratedBucketName
  const s3 = ws.admin().s3
  const put = (Key: string, Body: string) => s3.send(new PutObjectCommand({Bucket: curated, Key, Body}))
  await Promise.all([put('participants/2024-01.csv', 'a,b\n1,2\n'), put('participants/2024/02.csv', 'x'), put('participants-old/x.csv', 'old'), put('top.csv', 'top')])
  const limit = pLimit(32)
  await Promise.all(Array.from({length: MANY}, (_, i) => limit(() => put(`many/k${String(i).padStart(5, '0')}.txt`, String(i)))))
}, 180_000)
afterAll(async () => ws?.stop())

describe('cape ls', () => {
  it('without an argument lists the zones and their buckets', async () => {
    const r = await ws.cli(['ls', '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json()).toEqual([
      {zone: 'raw', bucket: ws.outputs().RawBucketName},
      {zone: 'curated', bucket: curated},
      {zone: 'requests', bucket: ws.outputs().RequestsBucketName},
      {zone: 'results', bucket: ws.outputs().ResultsBucketName},
    ])
    const human = await ws.cli(['ls'])
    expect(human.stdout).toMatch(/^ZONE\s+BUCKET\nraw\/\s+\S+raw/)
  })

  it('lists one level: folders end with /, names relative to the prefix', async () => {
    const r = await ws.cli(['ls', 'curated'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.split('\n').filter(Boolean)).toEqual(['many/', 'participants-old/', 'participants/', 'top.csv'])
    const sub = await ws.cli(['ls', 'curated/participants/', '--long'])
    expect(sub.code, sub.stderr).toBe(0)
    const lines = sub.stdout.split('\n').filter(Boolean)
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(/^\s+DIR\s+2024\/$/)
    expect(lines[1]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+8 B\s+2024-01\.csv$/)
  })

  it('--recursive --json is an array of {key, size, etag, lastModified}', async () => {
    const r = await ws.cli(['ls', 'curated/participants', '--recursive', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const items = r.json()
    expect(items.map((i: any) => i.key)).toEqual(['participants-old/x.csv', 'participants/2024-01.csv', 'participants/2024/02.csv'])
    expect(items[1]).toEqual({key: 'participants/2024-01.csv', size: 8, etag: expect.stringMatching(/^"[0-9a-f]{32}"$/), lastModified: expect.stringMatching(/^\d{4}-\d\d-\d\dT/)})
  })

  it('lists more than 1,000 keys (continuation), as JSON and as text, in key order', async () => {
    const [json, text] = await Promise.all([ws.cli(['ls', 'curated/many/', '--json']), ws.cli(['ls', 'curated/many/', '-r'])])
    expect(json.code, json.stderr).toBe(0)
    const keys = json.json().map((i: any) => i.key)
    expect(keys).toHaveLength(MANY)
    expect(new Set(keys).size).toBe(MANY)
    expect(keys).toEqual([...keys].sort())
    const lines = text.stdout.split('\n').filter(Boolean)
    expect(lines).toHaveLength(MANY)
    expect(lines[1000]).toBe('k01000.txt')
  })

  it('an empty prefix is an empty JSON array; a bad zone is a usage error', async () => {
    const empty = await ws.cli(['ls', 'results/nothing/', '--json'])
    expect(empty.code, empty.stderr).toBe(0)
    expect(empty.json()).toEqual([])
    const bad = await ws.cli(['ls', 'lake/x', '--json'])
    expect(bad.code).toBe(2)
    expect(bad.json().error).toMatchObject({code: 'USAGE', message: expect.stringMatching(/"lake" is not a zone/)})
  })
})
