import {GetObjectCommand, HeadObjectCommand, ListObjectsV2Command} from '@aws-sdk/client-s3'
import {CreateSecretCommand, PutSecretValueCommand} from '@aws-sdk/client-secrets-manager'
import {GetParameterCommand} from '@aws-sdk/client-ssm'
import {writeFileSync} from 'node:fs'
import path from 'node:path'
import {parquetReadObjects} from 'hyparquet'
import type pg from 'pg'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {localWorkspace, type LocalWorkspace} from '../helpers/platform.js'
import {postgresAvailable, startPostgres, type TestPostgres} from '../helpers/postgres.js'

/**
 * `cape ingest db:<source>` against a real PostgreSQL 15 (started by the test) and a real local platform with
 * phase1 deployed: watermark windows with the key as tie-breaker, crash safety (a real SIGKILL of the built CLI
 * between stages), credentials from Secrets Manager.
 */
describe.skipIf(!postgresAvailable)('cape ingest db: (real PostgreSQL)', () => {
  let ws: LocalWorkspace
  let db: TestPostgres
  let sql: pg.Client

  const yaml = (watermark = 'updated_at') => `datasets:
  customers:
    columns:
      - {name: id, type: integer, required: true, unique: true}
      - {name: name, type: string}
      - {name: updated_at, type: timestamp}
sources:
  shop:
    type: postgres
    host: 127.0.0.1
    port: ${db.port}
    database: shop
    user: cape
    passwordSecret: cape/shop
    tables:
      customers: {dataset: customers, key: [id], watermark: ${watermark}}
`
  const feed = (args: string[] = [], env: Record<string, string> = {}) => ws.cli(['ingest', 'db:shop', '--json', ...args], {env})

  /** Every row of every curated batch of the dataset: `id@updated_at` → how many times it is stored. */
  async function curatedVersions(): Promise<{versions: Map<string, number>; objects: string[]; latest: Map<number, string>}> {
    const bucket = ws.outputs().CuratedBucketName
    const s3 = ws.admin().s3
    const list = await s3.send(new ListObjectsV2Command({Bucket: bucket, Prefix: 'customers/'}))
    const versions = new Map<string, number>()
    const latest = new Map<number, {at: number; name: string}>()
    const objects = (list.Contents ?? []).map((o) => o.Key!).filter((k) => k.endsWith('.parquet'))
    for (const key of objects) {
      const body = await (await s3.send(new GetObjectCommand({Bucket: bucket, Key: key}))).Body!.transformToByteArray()
      const rows = await parquetReadObjects({file: body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer})
      for (const r of rows) {
        const id = Number(r.id)
        const at = (r.updated_at as Date).getTime()
        const v = `${id}@${(r.updated_at as Date).toISOString()}`
        versions.set(v, (versions.get(v) ?? 0) + 1)
        if ((latest.get(id)?.at ?? -1) < at) latest.set(id, {at, name: r.name as string})
      }
    }
    return {versions, objects, latest: new Map([...latest].map(([id, l]) => [id, l.name]))}
  }

  beforeAll(async () => {
    ;[ws, db] = await Promise.all([localWorkspace({deploy: true}), startPostgres()])
    sql = await db.client()
    await sql.query('CREATE TABLE customers (id int PRIMARY KEY, name text, updated_at timestamptz NOT NULL, note text)')
    await ws.admin().secretsManager.send(new CreateSecretCommand({Name: 'cape/shop', SecretString: JSON.stringify({username: 'cape', password: db.password})}))
    writeFileSync(path.join(ws.cwd, 'cape.yaml'), yaml())
  }, 180_000)

  afterAll(async () => {
    await sql?.end()
    await db?.stop()
    await ws?.stop()
  })

  it('picks up inserts and updates exactly once, rows sharing a timestamp across a batch edge included', async () => {
    const t1 = '2026-12-01T10:00:00.123456Z'
    // five rows, three sharing t1: with batches of 2 the edge falls inside the shared timestamp
    await sql.query(`INSERT INTO customers VALUES (1, 'a', '2026-12-01T09:00:00Z', 'x'), (2, 'b', $1, NULL), (3, 'c', $1, NULL), (4, 'd', $1, NULL), (5, 'e', '2026-12-01T11:00:00+01:00', NULL)`, [t1])
    const dry = await feed(['--dry-run'])
    expect(dry.code, dry.stdout + dry.stderr).toBe(0)
    expect(dry.json().tables[0]).toMatchObject({rows: 5, watermarkBefore: null})

    const first = await feed(['--batch-rows', '2'])
    expect(first.code, first.stdout + first.stderr).toBe(0)
    const s1 = first.json().tables[0]
    expect(s1).toMatchObject({table: 'customers', dataset: 'customers', rows: 5, batches: 3, watermarkBefore: null, parameter: '/cape/local/feeds/shop/customers'})
    // 11:00+01:00 is 10:00Z, before t1's microseconds: order is 1, 5 | 2, 3 | 4
    expect(s1.watermarkAfter).toEqual({value: '2026-12-01 10:00:00.123456+00', key: [4]})
    expect(s1.keys.raw).toHaveLength(3)
    expect(s1.keys.raw[0]).toMatch(/^customers\/ingest_date=\d{4}-\d{2}-\d{2}\/customers-start-20261201T100000Z\.5\.jsonl$/)
    expect(typeof s1.seconds).toBe('number')

    // raw: the source rows as JSON lines, with the file-ingest metadata
    const raw = ws.outputs().RawBucketName
    const head = await ws.admin().s3.send(new HeadObjectCommand({Bucket: raw, Key: s1.keys.raw[0]}))
    expect(head.Metadata).toMatchObject({'cape-source': 'db:shop/customers', 'cape-dataset': 'customers', 'cape-rows': '2'})
    expect(head.Metadata?.['cape-sha256']).toMatch(/^[0-9a-f]{64}$/)
    const lines = (await (await ws.admin().s3.send(new GetObjectCommand({Bucket: raw, Key: s1.keys.raw[0]}))).Body!.transformToString()).trimEnd().split('\n').map((l) => JSON.parse(l))
    expect(lines).toEqual([
      {id: 1, name: 'a', updated_at: '2026-12-01 09:00:00+00', note: 'x'},
      {id: 5, name: 'e', updated_at: '2026-12-01 10:00:00+00', note: null},
    ])

    // the watermark parameter, and nothing new on a second run
    const param = await ws.admin().ssm.send(new GetParameterCommand({Name: '/cape/local/feeds/shop/customers'}))
    expect(JSON.parse(param.Parameter!.Value!)).toMatchObject({watermark: {value: '2026-12-01 10:00:00.123456+00', key: [4]}})
    const idle = await feed(['--batch-rows', '2'])
    expect(idle.json().tables[0]).toMatchObject({rows: 0, batches: 0})

    // updates and inserts, some at the watermark's own timestamp with a higher key
    await sql.query(`UPDATE customers SET name = 'b2', updated_at = '2026-12-02T08:00:00Z' WHERE id = 2`)
    await sql.query(`UPDATE customers SET name = 'e2', updated_at = '2026-12-02T08:00:00Z' WHERE id = 5`)
    await sql.query(`INSERT INTO customers VALUES (6, 'f', $1, NULL), (7, 'g', '2026-12-02T09:00:00Z', NULL)`, [t1])
    const second = await feed(['--batch-rows', '2'])
    expect(second.code, second.stdout + second.stderr).toBe(0)
    expect(second.json().tables[0]).toMatchObject({rows: 4, batches: 2, watermarkBefore: {key: [4]}, watermarkAfter: {value: '2026-12-02 09:00:00+00', key: [7]}})

    const {versions, latest} = await curatedVersions()
    expect([...versions.values()].every((n) => n === 1), JSON.stringify([...versions])).toBe(true)
    expect(versions.size).toBe(9)
    // latest by key over the batches
    expect(Object.fromEntries(latest)).toEqual({1: 'a', 2: 'b2', 3: 'c', 4: 'd', 5: 'e2', 6: 'f', 7: 'g'})
  }, 180_000)

  it('a kill -9 between the raw write and the watermark write loses and duplicates nothing', async () => {
    const before = await curatedVersions()
    await sql.query(`INSERT INTO customers VALUES (8, 'h', '2026-12-03T00:00:00Z', NULL), (9, 'i', '2026-12-03T00:00:01Z', NULL), (10, 'j', '2026-12-03T00:00:02Z', NULL)`)
    for (const stage of ['raw', 'curated']) {
      const crashed = await feed(['--batch-rows', '2'], {CAPE_TEST_CRASH_AFTER: stage})
      expect(crashed.code, `${stage}: ${crashed.stdout}${crashed.stderr}`).toBe(-1) // killed by SIGKILL: no exit code
      const param = await ws.admin().ssm.send(new GetParameterCommand({Name: '/cape/local/feeds/shop/customers'}))
      expect(JSON.parse(param.Parameter!.Value!).watermark).toEqual({value: '2026-12-02 09:00:00+00', key: [7]})
    }
    // one more row arrives before the re-run: the unfinished window is re-read (same start → same curated object)
    await sql.query(`INSERT INTO customers VALUES (11, 'k', '2026-12-03T00:00:00.5Z', NULL)`)
    const rerun = await feed(['--batch-rows', '2'])
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0)
    expect(rerun.json().tables[0]).toMatchObject({rows: 4, batches: 2})
    const after = await curatedVersions()
    expect([...after.versions.values()].every((n) => n === 1), JSON.stringify([...after.versions])).toBe(true)
    expect(after.versions.size).toBe(before.versions.size + 4)
    expect(after.objects.length).toBe(before.objects.length + 2)
  }, 180_000)

  it('wrong credentials: a clear error naming the source and the secret, exit 3, the password never printed', async () => {
    await ws.admin().secretsManager.send(new PutSecretValueCommand({SecretId: 'cape/shop', SecretString: 'Wrong-Pass-9876'}))
    try {
      for (const args of [['--json'], []]) {
        const r = await ws.cli(['ingest', 'db:shop', ...args])
        expect(r.code, r.stdout + r.stderr).toBe(3)
        const out = r.stdout + r.stderr
        expect(out).toMatch(/Source \\?"shop\\?"/)
        expect(out).toMatch(/secret \\?"cape\/shop\\?"/)
        expect(out).not.toContain('Wrong-Pass-9876')
        expect(out).not.toContain(db.password)
      }
      // PGPASSWORD wins over the secret
      const adhoc = await feed([], {PGPASSWORD: db.password})
      expect(adhoc.code, adhoc.stdout + adhoc.stderr).toBe(0)
    } finally {
      await ws.admin().secretsManager.send(new PutSecretValueCommand({SecretId: 'cape/shop', SecretString: db.password}))
    }
  }, 120_000)

  it('a table without the watermark column: a clear configuration error', async () => {
    writeFileSync(path.join(ws.cwd, 'cape.yaml'), yaml('modified_at'))
    try {
      const r = await feed()
      expect(r.code).toBe(3)
      expect(r.json()).toMatchObject({error: {code: 'FEED_CONFIG'}})
      expect(r.stdout).toContain('has no watermark column \\"modified_at\\"')
    } finally {
      writeFileSync(path.join(ws.cwd, 'cape.yaml'), yaml())
    }
  }, 60_000)
})
