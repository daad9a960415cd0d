import {mkdirSync, readdirSync, symlinkSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {tempDir} from '../../helpers/cli.js'
import {DestGuard, STATE_FILE, UnsafeKeyError, unsafeKeyReason} from '../../../src/lib/lakehouse/paths.js'

const temp = () => tempDir('cape-paths-')

describe('unsafeKeyReason', () => {
  it.each([
    ['../x', /\.\./],
    ['a/../../x', /\.\./],
    ['a/..', /\.\./],
    ['/abs', /absolute/],
    ['/etc/passwd', /absolute/],
    ['a\u0000b', /NUL/],
    ['new\nline.csv', /control/],
    ['tab\there', /control/],
    ['esc\u001B[2J', /control/],
    ['del\u007F', /control/],
    ['a//b', /empty/],
    ['./a', /"\."/],
    ['', /empty/],
    [STATE_FILE, /reserved/],
  ])('refuses %j', (key, reason) => {
    expect(unsafeKeyReason(key)).toMatch(reason)
  })

  it.each(['a.csv', 'dir/sub/file.parquet', '..hidden', 'a..b', '...', 'ünïcödé/名前.csv', 'sp ace/x y.csv', `sub/${STATE_FILE}`])('accepts %j', (key) => {
    expect(unsafeKeyReason(key)).toBeUndefined()
  })

  it('refuses drive letters and reserved characters on Windows only', () => {
    expect(unsafeKeyReason('C:/x', 'win32')).toMatch(/absolute/)
    expect(unsafeKeyReason('a\\..\\x', 'win32')).toMatch(/Windows/)
    expect(unsafeKeyReason('a\\..\\x', 'linux')).toBeUndefined()
  })
})

describe('DestGuard', () => {
  it('maps keys under the destination and throws UnsafeKeyError for the rest', async () => {
    const dest = temp()
    const guard = await DestGuard.open(dest)
    expect(guard.pathFor('a/b.csv')).toBe(path.join(guard.root, 'a', 'b.csv'))
    for (const key of ['../x', 'a/../../x', '/abs', 'x\u0000y', 'x\ny']) expect(() => guard.pathFor(key)).toThrow(UnsafeKeyError)
  })

  it('refuses to create or write through a symlink leading outside, and allows one leading inside', async () => {
    const dest = temp()
    const outside = temp()
    symlinkSync(outside, path.join(dest, 'escape'))
    mkdirSync(path.join(dest, 'real'))
    symlinkSync(path.join(dest, 'real'), path.join(dest, 'alias'))
    const guard = await DestGuard.open(dest)

    await expect(guard.prepare(path.dirname(guard.pathFor('escape/x.csv')))).rejects.toThrow(/symlink .* outside/)
    await expect(guard.prepare(path.dirname(guard.pathFor('escape/deeper/x.csv')))).rejects.toThrow(/symlink .* outside/)
    expect(readdirSync(outside)).toEqual([])

    await guard.prepare(path.dirname(guard.pathFor('alias/sub/x.csv')))
    expect(readdirSync(path.join(dest, 'real'))).toEqual(['sub'])
  })

  it('reports a file in the way of a folder', async () => {
    const dest = temp()
    writeFileSync(path.join(dest, 'f'), 'x')
    const guard = await DestGuard.open(dest)
    await expect(guard.prepare(path.dirname(guard.pathFor('f/x.csv')))).rejects.toThrow(/is a file/)
  })

  it('checks without creating anything in a dry run, also when the destination does not exist', async () => {
    const dest = path.join(temp(), 'not-yet')
    const guard = await DestGuard.open(dest)
    await guard.prepare(path.dirname(guard.pathFor('a/b/c.csv')), {create: false})
    const other = temp()
    const g2 = await DestGuard.open(other)
    await g2.prepare(path.dirname(g2.pathFor('a/b/c.csv')), {create: false})
    expect(readdirSync(other)).toEqual([])
  })
})

describe('DestGuard.open', () => {
  it('refuses a destination that is a file, as rejected input', async () => {
    const file = path.join(temp(), 'f')
    writeFileSync(file, 'x')
    await expect(DestGuard.open(file, {create: true})).rejects.toMatchObject({code: 'DEST_UNUSABLE', exit: 6, message: expect.stringMatching(/not a folder/)})
    await expect(DestGuard.open(file)).rejects.toMatchObject({code: 'DEST_UNUSABLE'})
  })
})
