import {spawn} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {PutObjectCommand} from '@aws-sdk/client-s3'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {cleanEnv, cliBin, tempDir} from '../helpers/cli.js'
import {localWorkspace, type LocalWorkspace} from '../helpers/platform.js'
import {s3Stats} from '../lib/lakehouse/stats.js'

let ws: LocalWorkspace
let curated: string
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')
const BIG = randomBytes(96 * 1024 * 1024)
const DATA: Record<string, string> = {
  'a.csv': 'id,name\n1,Ada\n',
  'sub/b.csv': 'id\n2\n',
  'sub/deep/c.parquet': 'PAR1…PAR1',
  'tmp/skip.csv': 'scratch\n',
}

/** Every file under a folder, relative, sorted (temp files and the state file included). */
function tree(dir: string): string[] {
  if (!existsSync(dir)) return []
  return (readdirSync(dir, {recursive: true, withFileTypes: true}) as import('node:fs').Dirent[])
    .filter((d) => !d.isDirectory())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)))
    .sort()
}

beforeAll(async () => {
  ws = await localWorkspace({deploy: true})
  curated = ws.outputs().CuratedBucketName
  const s3 = ws.admin().s3
  const put = (Key: string, Body: string | Buffer, withSha = true) =>
    s3.send(new PutObjectCommand({Bucket: curated, Key, Body, ...(withSha ? {Metadata: {'cape-sha256': sha256(Body)}} : {})}))
  await Promise.all([
    ...Object.entries(DATA).map(([k, v]) => put(`data/${k}`, v, k !== 'sub/b.csv')),
    put('data-old/not-this.csv', 'no'),
    put('bad/ok.csv', 'fine'),
    put('bad/ctl\u0001name.csv', 'control'),
    put('bad/esc\u001B[2J.csv', 'escape sequence'),
    put('bad/escape/x.csv', 'through the symlink'),
    put('big/blob.bin', BIG),
    ws.cli(['users', 'rotate-key', 'partner_user', '--save-profile', 'partner', '--yes']),
  ])
}, 180_000)
afterAll(async () => ws?.stop())

describe('cape pull', () => {
  it('mirrors a prefix, keys relative to it; re-pull skips without any GET or HEAD; --checksum rebuilds the state', async () => {
    const dest = path.join(ws.cwd, 'mirror')
    const first = await ws.cli(['pull', 'curated/data', dest, '--json'])
    expect(first.code, first.stderr).toBe(0)
    expect(first.json()).toMatchObject({downloaded: 4, skipped: 0, failed: [], bytes: Buffer.byteLength(Object.values(DATA).join(''))})
    expect(tree(dest)).toEqual(['.cape-pull.json', 'a.csv', 'sub/b.csv', 'sub/deep/c.parquet', 'tmp/skip.csv'])
    for (const [k, v] of Object.entries(DATA)) expect(readFileSync(path.join(dest, k), 'utf8')).toBe(v)

    const before = await s3Stats(ws)
    const again = await ws.cli(['pull', 'curated/data/', dest, '--json'])
    const after = await s3Stats(ws)
    expect(again.code, again.stderr).toBe(0)
    expect(again.json()).toMatchObject({downloaded: 0, skipped: 4, bytes: 0})
    expect(after.GetObject ?? 0).toBe(before.GetObject ?? 0)
    expect(after.HeadObject ?? 0).toBe(before.HeadObject ?? 0)
    expect(after.ListObjectsV2).toBeGreaterThan(before.ListObjectsV2)

    // without the state file, --checksum proves the files identical by hashing them (still no GET)
    rmSync(path.join(dest, '.cape-pull.json'))
    const hashed = await ws.cli(['pull', 'curated/data/', dest, '--checksum', '--json'])
    expect(hashed.json()).toMatchObject({downloaded: 0, skipped: 4})
    expect((await s3Stats(ws)).GetObject ?? 0).toBe(before.GetObject ?? 0)

    // a changed object and a locally edited file (same size) are downloaded again
    await ws.admin().s3.send(new PutObjectCommand({Bucket: curated, Key: 'data/sub/b.csv', Body: 'id\n3\n'}))
    writeFileSync(path.join(dest, 'a.csv'), 'id,name\n1,Bob\n')
    const changed = await ws.cli(['pull', 'curated/data/', dest, '--json'])
    expect(changed.json()).toMatchObject({downloaded: 2, skipped: 2})
    expect(readFileSync(path.join(dest, 'sub/b.csv'), 'utf8')).toBe('id\n3\n')
    expect(readFileSync(path.join(dest, 'a.csv'), 'utf8')).toBe(DATA['a.csv'])
  })

  it('--include/--exclude select keys relative to the prefix; --dry-run writes nothing', async () => {
    const dest = path.join(ws.cwd, 'filtered')
    const dry = path.join(ws.cwd, 'dry', 'run')
    const [filtered, planned] = await Promise.all([
      ws.cli(['pull', 'curated/data/', dest, '--include', '*.csv', '--exclude', 'tmp/**', '--json']),
      ws.cli(['pull', 'curated/data/', dry, '--dry-run', '--json']),
    ])
    expect(filtered.code, filtered.stderr).toBe(0)
    expect(tree(dest)).toEqual(['.cape-pull.json', 'a.csv', 'sub/b.csv'])
    expect(planned.code, planned.stderr).toBe(0)
    expect(planned.json()).toMatchObject({dryRun: true, downloaded: 4, skipped: 0, failed: []})
    expect(existsSync(path.join(ws.cwd, 'dry'))).toBe(false)
  })

  it('never writes a hostile key: control characters and a symlink leading outside are refused, the rest continue (exit 9)', async () => {
    const dest = path.join(ws.cwd, 'hostile')
    const outside = tempDir('cape-outside-')
    mkdirSync(dest)
    symlinkSync(outside, path.join(dest, 'escape'))
    const r = await ws.cli(['pull', 'curated/bad/', dest, '--json'])
    expect(r.code, r.stderr).toBe(9)
    const result = r.json()
    expect(result.downloaded).toBe(1)
    expect(result.failed.map((f: any) => f.key).sort()).toEqual(['bad/ctl\u0001name.csv', 'bad/esc\u001B[2J.csv', 'bad/escape/x.csv'])
    expect(result.failed.find((f: any) => f.key === 'bad/escape/x.csv').reason).toMatch(/symlink .*outside/)
    expect(readdirSync(outside)).toEqual([])
    expect(tree(dest)).toEqual(['.cape-pull.json', 'escape', 'ok.csv'])

    const human = await ws.cli(['pull', 'curated/bad/', dest])
    expect(human.code).toBe(9)
    expect(human.stderr).toContain('"bad/esc\\u001b[2J.csv"')
    expect(human.stderr).not.toContain('\u001B')
  })

  it('a pull killed mid-download leaves no partial file under its name, and the re-run resumes and completes', async () => {
    const dest = path.join(ws.cwd, 'big')
    const child = spawn(process.execPath, [cliBin, 'pull', 'curated/big/', dest], {cwd: ws.cwd, env: cleanEnv(ws.env), stdio: 'ignore'})
    const exited = new Promise((resolve) => child.on('exit', resolve))
    let part: string | undefined
    for (let i = 0; i < 3000 && !part; i++) {
      await sleep(5)
      part = existsSync(dest) ? readdirSync(dest).find((f) => f.endsWith('.part') && statSync(path.join(dest, f)).size > 0) : undefined
    }
    child.kill('SIGKILL')
    await exited
    expect(part, 'the download never started').toBeDefined()
    expect(existsSync(path.join(dest, 'blob.bin'))).toBe(false)
    expect(statSync(path.join(dest, part!)).size).toBeLessThan(BIG.length)

    const rerun = await ws.cli(['pull', 'curated/big/', dest, '--json'])
    expect(rerun.code, rerun.stderr).toBe(0)
    expect(rerun.json()).toMatchObject({downloaded: 1, resumed: 1, failed: []})
    expect(rerun.json().bytes).toBeLessThan(BIG.length)
    expect(sha256(readFileSync(path.join(dest, 'blob.bin')))).toBe(sha256(BIG))
    expect(tree(dest)).toEqual(['.cape-pull.json', 'blob.bin'])
  })

  it('a partner user is denied, with the hint to check access', async () => {
    const r = await ws.cli(['pull', 'curated/', path.join(ws.cwd, 'partner'), '--profile', 'partner', '--json'])
    expect(r.code).toBe(3)
    const {error} = r.json()
    expect(error.code).toBe('AWS_AccessDenied')
    expect(error.message).toMatch(/listing curated\//)
    expect(error.hints.join('\n')).toMatch(/cape access check/)
  })
})
