import {mkdtempSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {readJsonFile, readJsonFileSync, writeJsonFile, writeJsonFileSync} from '../../../src/lib/platform/state-file.js'

describe('state files', () => {
  const dirs: string[] = []
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'cape-state-'))
    dirs.push(d)
    return d
  }
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, {recursive: true, force: true})
  })

  it('writes atomically (no temp files left), creates folders and applies the mode', async () => {
    const dir = tmp()
    const file = join(dir, 'a', 'b', 'state.json')
    await writeJsonFile(file, {n: 1}, {mode: 0o600})
    expect(await readJsonFile(file)).toEqual({n: 1})
    expect(statSync(file).mode & 0o777).toBe(0o600)
    writeJsonFileSync(file, {n: 2}, {mode: 0o600})
    expect(readJsonFileSync(file)).toEqual({n: 2})
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(readdirSync(join(dir, 'a', 'b'))).toEqual(['state.json'])
    writeJsonFileSync(join(dir, 'plain.json'), [])
    expect(statSync(join(dir, 'plain.json')).mode & 0o777).toBe(0o644)
  })

  it('reads a missing file as undefined and refuses invalid JSON', async () => {
    const dir = tmp()
    expect(await readJsonFile(join(dir, 'none.json'))).toBeUndefined()
    expect(readJsonFileSync(join(dir, 'none.json'))).toBeUndefined()
    writeFileSync(join(dir, 'bad.json'), '{')
    await expect(readJsonFile(join(dir, 'bad.json'))).rejects.toThrow(SyntaxError)
  })
})
