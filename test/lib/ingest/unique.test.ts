import {readdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {describe, expect, it} from 'vitest'
import {loadDatasets} from '../../../src/lib/ingest/index.js'
import {UniqueTracker} from '../../../src/lib/ingest/unique.js'
import {fixture, run} from './helpers.js'

const datasets = loadDatasets()
const spillDirs = () => readdirSync(tmpdir()).filter((n) => n.startsWith('cape-unique-')).length

describe('unique check with bounded memory (spilling to temp files)', () => {
  it('the tracker finds the same duplicates in memory and spilled, and removes its files', () => {
    const values = ['a', 'b', 'a', 'c', 'd', 'b', 'e', 'a', 'é', 'é']
    const inMemory: Array<[number, number]> = []
    const m = new UniqueTracker(100)
    values.forEach((v, i) => {
      const first = m.add(v, i + 1)
      if (first !== undefined) inMemory.push([i + 1, first])
      m.commit(true)
    })
    m.finish(() => {
      throw new Error('nothing spilled')
    })
    const spilled: Array<[number, number]> = []
    const s = new UniqueTracker(2)
    const before = spillDirs()
    values.forEach((v, i) => {
      const first = s.add(v, i + 1)
      if (first !== undefined) spilled.push([i + 1, first])
      s.commit(true)
    })
    expect(s.spilled).toBe(true)
    expect(spillDirs()).toBe(before + 1)
    s.finish((d) => spilled.push([d.line, d.firstLine]))
    expect(spilled.sort((x, y) => x[0] - y[0])).toEqual(inMemory)
    expect(inMemory).toEqual([[3, 1], [6, 2], [8, 1], [10, 9]])
    expect(spillDirs()).toBe(before)
  })

  it('the pipeline reports the same whether the ids fit in memory or not', async () => {
    const a = await run(fixture('participants_duplicate_id.csv'), {datasets})
    const b = await run(fixture('participants_duplicate_id.csv'), {datasets, uniqueMemoryEntries: 2})
    expect(b.report).toEqual(a.report)
  })

  it('large file: same errors (first maxErrors in line order, merged with other rules), counts and rows', async () => {
    let text = 'participant_id,given_name,family_name,DOB,site\n'
    for (let i = 0; i < 20_000; i++) {
      const id = i % 997 === 5 ? `P${i - 3}` : `P${i}` // a duplicate now and then
      const dob = i % 1500 === 7 ? '1990-02-30' : '1990-01-01' // and bad dates
      text += `${id},A,B,${dob},${i % 4000 === 11 ? '' : 'Oslo'}\n`
    }
    for (const maxErrors of [3, 25, 1000]) {
      const a = await run(text, {datasets, maxErrors, output: 'csv'})
      const b = await run(text, {datasets, maxErrors, output: 'csv', uniqueMemoryEntries: 100})
      expect(a.report.errorCount).toBeGreaterThan(30)
      expect(b.report).toEqual(a.report)
    }
  })
})
