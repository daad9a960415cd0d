import {spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {closeSync, copyFileSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync} from 'node:fs'
import path from 'node:path'
import {GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command} from '@aws-sdk/client-s3'
import {parquetMetadata, parquetReadObjects} from 'hyparquet'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {cleanEnv, cliBin, repoRoot} from '../helpers/cli.js'
import {BROKEN_FIXTURES, brokenLinesAndRules} from '../helpers/fixtures.js'
import {localWorkspace, type LocalWorkspace} from '../helpers/platform.js'
import {startSshd, type Sshd} from '../helpers/sshd.js'

let ws: LocalWorkspace
let sshd: Sshd
let raw: string
let curated: string
const today = new Date().toISOString().slice(0, 10)
const fixture = (name: string) => readFileSync(path.join(repoRoot, 'fixtures', name))
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

/** Copy a fixture into the workspace under another name (names are the last part of the keys). */
function place(fixtureName: string, as: string): string {
  const dir = path.join(ws.cwd, 'in')
  mkdirSync(dir, {recursive: true})
  copyFileSync(path.join(repoRoot, 'fixtures', fixtureName), path.join(dir, as))
  return `in/${as}`
}

async function get(bucket: string, key: string): Promise<{body: Buffer; meta: Record<string, string>}> {
  const o = await ws.admin().s3.send(new GetObjectCommand({Bucket: bucket, Key: key}))
  return {body: Buffer.from(await o.Body!.transformToByteArray()), meta: o.Metadata ?? {}}
}

async function keys(bucket: string, prefix = ''): Promise<string[]> {
  const out: string[] = []
  let token: string | undefined
  do {
    const page = await ws.admin().s3.send(new ListObjectsV2Command({Bucket: bucket, Prefix: prefix, ContinuationToken: token}))
    out.push(...(page.Contents ?? []).map((c) => c.Key!))
    token = page.NextContinuationToken
  } while (token)
  return out
}

const exists = (bucket: string, key: string) =>
  ws.admin().s3.send(new HeadObjectCommand({Bucket: bucket, Key: key})).then(() => true, () => false)

const uploads = async (bucket: string, prefix: string) =>
  (await ws.admin().s3.send(new ListMultipartUploadsCommand({Bucket: bucket, Prefix: prefix}))).Uploads ?? []

const day = (name: string, dataset = 'participants') => `${dataset}/ingest_date=${today}/${name}`
/** Curated parquet has a folder of its own per dataset (a table's partitions hold one format). */
const parquetDay = (name: string, dataset = 'participants') => `${dataset}/parquet/ingest_date=${today}/${name}`

beforeAll(async () => {
  ;[ws, sshd] = await Promise.all([localWorkspace({deploy: true}), startSshd()])
  raw = ws.outputs().RawBucketName
  curated = ws.outputs().CuratedBucketName
}, 120_000)
afterAll(async () => {
  await Promise.all([ws?.stop(), sshd?.stop()])
})

describe('cape ingest on the local platform', () => {
  it('both variants in both modes: raw as-is with metadata; curated canonical (DOB), byte-identical local vs remote', async () => {
    const remote = await ws.cli(['ingest', place('participants_legacy.csv', 'legacy_r.csv'), place('participants.csv', 'canonical_r.csv'), '--json'])
    expect(remote.code, remote.stderr).toBe(0)
    expect(remote.json()).toMatchObject({transform: 'remote', output: 'csv', counts: {ingested: 2}})
    expect(remote.json().files[0]).toEqual({
      source: 'in/legacy_r.csv',
      dataset: 'participants',
      variant: 'legacy',
      rawKey: day('legacy_r.csv'),
      curatedKey: day('legacy_r.csv'),
      reportKey: `_reports/${day('legacy_r.csv')}.json`,
      rows: 20,
      columns: ['participant_id', 'given_name', 'family_name', 'DOB', 'site'],
      bytes: fixture('participants_legacy.csv').length,
      sha256: sha(fixture('participants_legacy.csv')),
      status: 'ingested',
      transform: 'remote',
      errors: [],
      errorCount: 0,
    })
    // same content again, curated by the CLI this time (--force: it was just ingested)
    const local = await ws.cli(['ingest', place('participants_legacy.csv', 'legacy_l.csv'), place('participants.csv', 'canonical_l.csv'), '--transform', 'local', '--force', '--json'])
    expect(local.code, local.stderr).toBe(0)
    expect(local.json()).toMatchObject({transform: 'local', counts: {ingested: 2}, files: [{variant: 'legacy', rows: 20, transform: 'local'}, {variant: 'canonical'}]})

    const canonical = fixture('participants.csv')
    for (const name of ['legacy_r.csv', 'canonical_r.csv', 'legacy_l.csv', 'canonical_l.csv']) {
      const c = await get(curated, day(name))
      expect(c.body.equals(canonical), name).toBe(true) // canonical header (DOB) and rows, whichever mode and variant
      expect(c.body.toString().split('\n')[0]).toBe('participant_id,given_name,family_name,DOB,site')
    }
    const [lr, ll] = [await get(curated, day('legacy_r.csv')), await get(curated, day('legacy_l.csv'))]
    const strip = (m: Record<string, string>) => Object.fromEntries(Object.entries(m).filter(([k]) => !['cape-ingest-id', 'cape-source', 'cape-raw-key'].includes(k)))
    expect(strip(ll.meta)).toEqual(strip(lr.meta))
    expect(ll.meta['cape-sha256']).toBeUndefined() // the curated bytes are not the raw bytes
    expect(ll.meta).toMatchObject({'cape-raw-sha256': sha(fixture('participants_legacy.csv')), 'cape-variant': 'legacy', 'cape-dataset': 'participants', 'cape-output': 'csv'})

    const r = await get(raw, day('legacy_l.csv'))
    expect(r.body.equals(fixture('participants_legacy.csv'))).toBe(true)
    expect(r.meta).toMatchObject({
      'cape-sha256': sha(fixture('participants_legacy.csv')),
      'cape-source': 'in/legacy_l.csv',
      'cape-variant': 'legacy',
      'cape-dataset': 'participants',
      'cape-version': expect.stringMatching(/^\d+\.\d+\.\d+/),
      'cape-transform': 'local',
    })
    expect((await get(raw, day('legacy_r.csv'))).meta['cape-transform']).toBeUndefined()

    // exactly one curated object per raw object: the function left the CLI's objects alone
    const logFile = path.join(ws.home, 'lambda', 'logs', `${ws.outputs().TransformFunctionName}.log`)
    const skipped = `{"key":"${day('legacy_l.csv')}","skipped"`
    for (let i = 0; i < 100 && !readFileSync(logFile, 'utf8').includes(skipped); i++) await new Promise((r) => setTimeout(r, 100)) // invoked asynchronously
    const log = readFileSync(logFile, 'utf8')
    expect(log).toContain(`{"key":"${day('legacy_l.csv')}","skipped":"curated by the CLI (transform local)"}`)
    expect(log).not.toContain(`{"key":"${day('legacy_l.csv')}","valid"`)
    expect(await keys(curated, `participants/ingest_date=${today}/`)).toEqual(
      expect.arrayContaining(['legacy_r.csv', 'canonical_r.csv', 'legacy_l.csv', 'canonical_l.csv'].map((n) => day(n))),
    )
    expect((await keys(curated, `participants/ingest_date=${today}/`)).filter((k) => /_(l|r)\./.test(k))).toHaveLength(4)
  })

  it('--transform local, CSV: the curated bytes are the ingest core output, whether the body is copied as is or rows are rebuilt', async () => {
    // the CLI uploads "canonical header + file body" while a worker validates, when the output is the body (LF,
    // canonical quoting), and curates row by row otherwise (CRLF, BOM, quotes to drop, no final LF is added…)
    const legacy = fixture('participants_legacy.csv').toString()
    const body = legacy.slice(legacy.indexOf('\n') + 1)
    // ~27 MB: a first part sent from the file, the rest copied from raw in S3 (UploadPartCopy)
    const big = Array.from({length: 600_000}, (_, i) => `P${String(i).padStart(9, '0')},${i % 40 === 0 ? '"Ada, Jr."' : 'Ada'},Lovelace,19${String(10 + (i % 90))}-0${1 + (i % 9)}-1${i % 10},Oslo\n`).join('')
    const cases: Record<string, string> = {
      'lf.csv': legacy,
      'no_final_lf.csv': legacy.replace(/\n$/, ''),
      'crlf.csv': legacy.replaceAll('\n', '\r\n'),
      'bom_quotes.csv': `\ufeff${legacy.split('\n')[0]}\n"P900","Ada",Lovelace,1990-01-02,"Oslo"\n${body}`,
      'multiline.csv': `${legacy.split('\n')[0]}\nP901,"Ada\nLine",Lovelace,1990-01-02,Oslo\n${body}`,
      'long.csv': `participant_id,given_name,family_name,Date of Birth,site\n${big}`,
    }
    const dir = path.join(ws.cwd, 'shapes')
    mkdirSync(dir, {recursive: true})
    for (const [name, text] of Object.entries(cases)) writeFileSync(path.join(dir, name), text)
    const r = await ws.cli(['ingest', 'shapes', '--transform', 'local', '--force', '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json().counts.ingested).toBe(6)
    const {createIngestPipeline, loadDatasets} = await import('../../src/lib/ingest/index.js')
    for (const [name, text] of Object.entries(cases)) {
      const p = createIngestPipeline({datasets: loadDatasets(), output: 'csv'})
      const chunks: Buffer[] = []
      p.output.on('data', (c: Buffer) => chunks.push(Buffer.from(c)))
      p.input.end(Buffer.from(text))
      expect((await p.result).valid, name).toBe(true)
      const c = await get(curated, day(name))
      expect(c.body.equals(Buffer.concat(chunks)), name).toBe(true)
      expect((await get(raw, day(name))).body.equals(Buffer.from(text)), name).toBe(true)
    }
    const head = await ws.admin().s3.send(new HeadObjectCommand({Bucket: curated, Key: day('long.csv')}))
    // 8 MiB parts: the first sent from the file, the others copied from raw
    expect(head.ETag).toBe(`"${head.ETag!.slice(1, 33)}-${Math.ceil(head.ContentLength! / (8 * 1024 * 1024))}"`)
    expect(head.ContentLength).toBeGreaterThan(16 * 1024 * 1024)
  })

  it('what ingest wrote pulls back verified (the raw hash is provenance on curated, not its checksum)', async () => {
    const out = path.join(ws.cwd, 'pulled')
    const r = await ws.cli(['pull', 'curated/participants/', out, '--json'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(r.json()).toMatchObject({failed: []})
    expect(readFileSync(path.join(out, `ingest_date=${today}`, 'legacy_r.csv'), 'utf8').split('\n')[0]).toBe('participant_id,given_name,family_name,DOB,site')
  })

  it('the same content for the same dataset is skipped (exit 0) unless --force', async () => {
    const again = await ws.cli(['ingest', place('participants_legacy.csv', 'legacy_other_name.csv'), '--json'])
    expect(again.code, again.stderr).toBe(0)
    expect(again.json().files[0]).toMatchObject({status: 'skipped', message: expect.stringContaining('already ingested')})
    expect(await exists(raw, day('legacy_other_name.csv'))).toBe(false)
    const human = await ws.cli(['ingest', 'in/legacy_other_name.csv'])
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/skipped\s+in\/legacy_other_name\.csv/)
    expect(human.stderr).toContain('already ingested')
  })

  it('--output parquet: typed columns, DOB as DATE; local and remote write identical bytes', async () => {
    const remote = await ws.cli(['ingest', place('participants_legacy.csv', 'pq_r.csv'), '--output', 'parquet', '--force', '--json'])
    const local = await ws.cli(['ingest', place('participants_legacy.csv', 'pq_l.csv'), '--output', 'parquet', '--transform', 'local', '--force', '--json'])
    expect(remote.code, remote.stderr).toBe(0)
    expect(local.code, local.stderr).toBe(0)
    expect(local.json().files[0].curatedKey).toBe(parquetDay('pq_l.parquet'))
    const [r, l] = [await get(curated, parquetDay('pq_r.parquet')), await get(curated, parquetDay('pq_l.parquet'))]
    expect(l.body.equals(r.body)).toBe(true)
    const file = l.body.buffer.slice(l.body.byteOffset, l.body.byteOffset + l.body.byteLength) as ArrayBuffer
    const cols = Object.fromEntries(parquetMetadata(file).schema.slice(1).map((s) => [s.name, s]))
    expect(cols.DOB).toMatchObject({type: 'INT32', logical_type: {type: 'DATE'}})
    expect(cols.participant_id).toMatchObject({type: 'BYTE_ARRAY', logical_type: {type: 'STRING'}, repetition_type: 'REQUIRED'})
    const rows = await parquetReadObjects({file})
    expect(rows).toHaveLength(20)
    expect(rows[0]).toEqual({participant_id: 'P001', given_name: 'Ada', family_name: 'Lovelace', DOB: new Date('1815-12-10T00:00:00Z'), site: 'Oslo'})
    expect(await exists(curated, day('pq_l.csv'))).toBe(false)
  })

  it('every broken fixture is rejected with its lines; its report is stored next to raw; nothing in curated; exit 6', async () => {
    const names = Object.keys(BROKEN_FIXTURES)
    const r = await ws.cli(['ingest', ...names.map((n) => place(n, n)), '--transform', 'local', '--concurrency', '4', '--json'])
    expect(r.code, r.stderr).toBe(6)
    const out = r.json()
    expect(out.counts).toMatchObject({rejected: names.length, ingested: 0})
    for (const [i, name] of names.entries()) {
      const f = out.files[i]
      expect(f.source).toBe(`in/${name}`)
      expect(f.errors.map((e: any) => [e.line, e.rule]), name).toEqual(brokenLinesAndRules(name))
      expect(f).toMatchObject({status: 'rejected', curatedKey: null})
      const dataset = f.dataset ?? 'unrecognised'
      expect(f.rawKey).toBe(day(name, dataset))
      const report = JSON.parse((await get(raw, `_reports/${f.rawKey}.json`)).body.toString())
      expect(report.errors.map((e: any) => [e.line, e.rule])).toEqual(brokenLinesAndRules(name))
      expect(report).toMatchObject({valid: false, rawKey: f.rawKey, curatedKey: null})
      expect((await get(raw, f.rawKey)).body.equals(fixture(name))).toBe(true) // raw as-is
      expect(await exists(curated, f.rawKey)).toBe(false)
    }
    // human output prints the report
    const human = await ws.cli(['ingest', 'in/participants_bad_dates.csv', '--transform', 'local'])
    expect(human.code).toBe(6)
    expect(human.stdout).toContain('in/participants_bad_dates.csv:6: DOB: "12/05/1988" is not a date in the form YYYY-MM-DD (rule: date)')
  })

  it('remote: the function rejects the same way, writes the report, nothing in curated', async () => {
    const r = await ws.cli(['ingest', place('participants_bad_dates.csv', 'bad_r.csv'), place('participants_semicolon.csv', 'semi_r.csv'), '--transform', 'remote', '--json'])
    expect(r.code, r.stderr).toBe(6)
    const [dates, semi] = r.json().files
    expect(dates).toMatchObject({status: 'rejected', transform: 'remote', rows: 8, curatedKey: null, errorCount: 5})
    expect(dates.errors.map((e: any) => e.line)).toEqual([4, 5, 6, 8, 11])
    expect(semi).toMatchObject({status: 'rejected', rawKey: day('semi_r.csv', 'unrecognised'), errors: [{line: 1, rule: 'delimiter'}]})
    expect(await exists(curated, day('bad_r.csv'))).toBe(false)
    expect(JSON.parse((await get(raw, `_reports/${day('bad_r.csv')}.json`)).body.toString()).text).toContain('bad_r.csv:6: DOB')

    // --max-errors travels with the raw object: the function lists that many (and counts all)
    const few = await ws.cli(['ingest', place('participants_bad_dates.csv', 'bad_r2.csv'), '--transform', 'remote', '--max-errors', '2', '--json'])
    expect(few.code, few.stderr).toBe(6)
    expect(few.json().files[0]).toMatchObject({status: 'rejected', errorCount: 5, errors: [{line: 4}, {line: 5}]})
    expect(few.json().files[0].errors).toHaveLength(2)
  })

  it('a cape.yaml dataset is curated by the function too: its definition travels under raw _datasets/', async () => {
    const dir = path.join(ws.cwd, 'visits-project')
    mkdirSync(dir, {recursive: true})
    writeFileSync(
      path.join(dir, 'cape.yaml'),
      [
        'datasets:',
        '  visits:',
        '    columns:',
        '      - {name: visit_id, type: string, required: true, unique: true}',
        '      - {name: visit_date, type: date, required: true}',
        '      - {name: weight_kg, type: number}',
        '    variants:',
        '      - {name: old, header: [visit_id, Visit Date, weight_kg], rename: {Visit Date: visit_date}}',
        '',
      ].join('\n'),
    )
    writeFileSync(path.join(dir, 'visits_old.csv'), 'visit_id,Visit Date,weight_kg\nV1,2024-01-31,70.5\nV2,2024-02-29,\n')
    writeFileSync(path.join(dir, 'visits_bad.csv'), 'visit_id,Visit Date,weight_kg\nV1,2024-02-30,x\n')
    const r = await ws.cli(['ingest', 'visits-project/visits_old.csv', 'visits-project/visits_bad.csv', '--transform', 'remote', '--config', 'visits-project/cape.yaml', '--json'])
    expect(r.code, r.stderr).toBe(6)
    const [ok, bad] = r.json().files
    expect(ok).toMatchObject({status: 'ingested', dataset: 'visits', variant: 'old', rows: 2, transform: 'remote', curatedKey: day('visits_old.csv', 'visits')})
    expect((await get(curated, day('visits_old.csv', 'visits'))).body.toString()).toBe('visit_id,visit_date,weight_kg\nV1,2024-01-31,70.5\nV2,2024-02-29,\n')
    expect(bad).toMatchObject({status: 'rejected', dataset: 'visits', errorCount: 2})
    expect(bad.errors.map((e: any) => [e.line, e.rule, e.column])).toEqual([[2, 'date', 'visit_date'], [2, 'number', 'weight_kg']])
    expect(JSON.parse((await get(raw, '_datasets/visits.json')).body.toString())).toMatchObject({columns: [{name: 'visit_id'}, {name: 'visit_date'}, {name: 'weight_kg'}]})
  })

  it('--dry-run hashes, detects and validates but writes nothing', async () => {
    const before = await keys(raw)
    const r = await ws.cli(['ingest', place('participants.csv', 'dry.csv'), place('participants_ragged.csv', 'dry_bad.csv'), '--dry-run', '--force', '--json'])
    expect(r.code).toBe(6)
    expect(r.json()).toMatchObject({dryRun: true, files: [{status: 'planned', curatedKey: day('dry.csv'), rows: 20}, {status: 'planned', curatedKey: null, errorCount: 2}]})
    expect(await keys(raw)).toEqual(before)
  })

  it('SFTP: ingests from a real sshd with --identity and --known-hosts; the source is the sftp URL', async () => {
    mkdirSync(path.join(sshd.files, 'exports'))
    writeFileSync(path.join(sshd.files, 'exports', 'sftp_legacy.csv'), fixture('participants_legacy.csv'))
    const url = sshd.url(`${sshd.files}/exports/*.csv`)
    const r = await ws.cli(['ingest', url, '--identity', sshd.clientKey, '--known-hosts', sshd.knownHosts, '--transform', 'local', '--force', '--json'], {env: {SSH_AUTH_SOCK: undefined}})
    expect(r.code, r.stderr).toBe(0)
    const source = sshd.url(`${sshd.files}/exports/sftp_legacy.csv`)
    expect(r.json().files).toMatchObject([{source, status: 'ingested', variant: 'legacy', rawKey: day('sftp_legacy.csv'), rows: 20}])
    expect((await get(raw, day('sftp_legacy.csv'))).meta['cape-source']).toBe(source)
    expect((await get(curated, day('sftp_legacy.csv'))).body.equals(fixture('participants.csv'))).toBe(true)
  })

  it('SFTP: an unknown host key is refused with its fingerprint and the ssh-keyscan line; nothing uploaded', async () => {
    const empty = path.join(ws.cwd, 'known_hosts_empty')
    writeFileSync(empty, '')
    writeFileSync(path.join(sshd.files, 'exports', 'never.csv'), fixture('participants.csv'))
    const r = await ws.cli(['ingest', sshd.url(`${sshd.files}/exports/never.csv`), '--identity', sshd.clientKey, '--known-hosts', empty], {env: {SSH_AUTH_SOCK: undefined}})
    expect(r.code).toBe(3)
    expect(r.stderr).toContain('HOST_KEY_UNKNOWN')
    expect(r.stderr).toContain(sshd.fingerprint)
    expect(r.stderr).toContain(`ssh-keyscan -p ${sshd.port} -t ed25519 127.0.0.1 >> ${empty}`)
    expect(await exists(raw, day('never.csv'))).toBe(false)
  })

  it('kill -9 during a large upload: the next ingest aborts the stale multipart uploads and lands the file once', async () => {
    mkdirSync(path.join(ws.cwd, 'in'), {recursive: true})
    const file = path.join(ws.cwd, 'in', 'big.csv')
    const fd = openSync(file, 'w')
    writeSync(fd, 'participant_id,given_name,family_name,Date of Birth,site\n')
    // ~50 MB: large enough that the kill lands while parts are still being uploaded
    for (let b = 0; b < 4; b++) {
      const block: string[] = []
      for (let i = b * 250_000; i < (b + 1) * 250_000; i++) block.push(`K${String(i).padStart(8, '0')},Given${i % 97},Family${i % 89},19${50 + (i % 50)}-0${1 + (i % 9)}-1${i % 9},Site${i % 7}`)
      writeSync(fd, `${block.join('\n')}\n`)
    }
    closeSync(fd)
    const rawKey = day('big.csv')
    const child = spawn(process.execPath, [cliBin, 'ingest', 'in/big.csv', '--transform', 'local'], {cwd: ws.cwd, env: cleanEnv(ws.env), stdio: 'ignore'})
    const exited = new Promise((r) => child.once('exit', r))
    const deadline = Date.now() + 30_000
    while ((await uploads(raw, rawKey)).length === 0) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error('the upload never started')
      await new Promise((r) => setTimeout(r, 25))
    }
    child.kill('SIGKILL')
    await exited
    expect(await exists(raw, rawKey)).toBe(false)
    expect((await uploads(raw, rawKey)).length).toBeGreaterThan(0) // S3 keeps the parts until aborted

    const again = await ws.cli(['ingest', 'in/big.csv', '--transform', 'local', '--json'])
    expect(again.code, again.stderr).toBe(0)
    expect(again.json().files[0]).toMatchObject({status: 'ingested', rows: 1_000_000})
    expect(await uploads(raw, rawKey)).toEqual([])
    expect(await uploads(curated, rawKey)).toEqual([])
    expect(await keys(raw, rawKey)).toEqual([rawKey])
    expect(await keys(curated, rawKey)).toEqual([rawKey])
  })
})
