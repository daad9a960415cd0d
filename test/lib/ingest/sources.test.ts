import {createHash} from 'node:crypto'
import {mkdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {loadDatasets} from '../../../src/lib/ingest/datasets.js'
import {sniffFile} from '../../../src/lib/ingest/sniff.js'
import {expandLocal} from '../../../src/lib/ingest/sources/local.js'
import {tempDir} from '../../helpers/cli.js'
import {fixture, fixturesDir} from './helpers.js'

describe('local sources', () => {
  const dir = tempDir()
  mkdirSync(path.join(dir, 'in', 'deep'), {recursive: true})
  for (const f of ['in/a.csv', 'in/b.CSV', 'in/c.txt', 'in/deep/d.csv']) writeFileSync(path.join(dir, f), 'x\n')

  it('a file, a folder (its *.csv, not deeper) and globs', async () => {
    expect(await expandLocal('in/a.csv', dir)).toEqual([{path: path.join(dir, 'in/a.csv'), display: 'in/a.csv', size: 2}])
    expect((await expandLocal('in', dir)).map((f) => f.display)).toEqual(['in/a.csv', 'in/b.CSV'])
    expect((await expandLocal('in/*.csv', dir)).map((f) => f.display)).toEqual(['in/a.csv'])
    expect((await expandLocal('in/**/*.csv', dir)).map((f) => f.display)).toEqual(['in/a.csv', 'in/deep/d.csv'])
    expect((await expandLocal(path.join(dir, 'in/?.txt'), '/')).map((f) => f.path)).toEqual([path.join(dir, 'in/c.txt')])
  })

  it('nothing there is SOURCE_NOT_FOUND (exit 4)', async () => {
    await expect(expandLocal('nope.csv', dir)).rejects.toMatchObject({code: 'SOURCE_NOT_FOUND', exit: 4})
    await expect(expandLocal('in/*.parquet', dir)).rejects.toMatchObject({code: 'SOURCE_NOT_FOUND'})
    mkdirSync(path.join(dir, 'empty'))
    await expect(expandLocal('empty', dir)).rejects.toMatchObject({code: 'SOURCE_EMPTY'})
  })
})

describe('sniffFile (the pre-pass: sha256 + header)', () => {
  const datasets = loadDatasets()
  it('hashes the whole file and names dataset and variant', async () => {
    const s = await sniffFile(path.join(fixturesDir, 'participants_legacy.csv'), {datasets})
    expect(s).toEqual({sha256: createHash('sha256').update(fixture('participants_legacy.csv')).digest('hex'), bytes: fixture('participants_legacy.csv').length, dataset: 'participants', variant: 'legacy'})
    expect(await sniffFile(path.join(fixturesDir, 'participants_crlf_bom.csv'), {datasets})).toMatchObject({dataset: 'participants', variant: 'canonical'})
  })
  it('unrecognised, empty and binary files have no dataset (and still a hash)', async () => {
    for (const f of ['participants_unknown_header.csv', 'empty.csv', 'binary.csv', 'participants_semicolon.csv']) {
      const s = await sniffFile(path.join(fixturesDir, f), {datasets})
      expect(s, f).toMatchObject({dataset: null, variant: null, sha256: expect.stringMatching(/^[0-9a-f]{64}$/)})
    }
  })
  it('reads the header from the first line only, however long the file', async () => {
    const big = path.join(tempDir(), 'big.csv')
    writeFileSync(big, `participant_id,site\n${'P1,Oslo\n'.repeat(300_000)}`)
    expect(await sniffFile(big, {datasets})).toMatchObject({dataset: 'participants', variant: 'canonical', bytes: 20 + 8 * 300_000})
  })
})
