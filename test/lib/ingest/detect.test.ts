import {describe, expect, it} from 'vitest'
import {closestName, detectDataset, editDistance} from '../../../src/lib/ingest/detect.js'
import {loadDatasets} from '../../../src/lib/ingest/index.js'

const datasets = loadDatasets()

describe('detectDataset', () => {
  it('recognises a variant whatever the column order, with optional columns left out', () => {
    const r = detectDataset(['site', 'Date of Birth', 'participant_id'], datasets)
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect([r.match.dataset.name, r.match.variant.name]).toEqual(['participants', 'legacy'])
    expect(r.match.chain.header).toEqual(['site', 'DOB', 'participant_id'])
    expect(r.match.positions).toEqual([2, -1, -1, 1, 0]) // canonical column → index in the transformed row
  })

  it('prefers the variant sharing the most columns', () => {
    const r = detectDataset(['participant_id', 'site'], datasets)
    expect(r.ok && r.match.variant.name).toBe('canonical')
  })

  it('a missing required column is a mismatch', () => {
    const r = detectDataset(['participant_id', 'DOB'], datasets)
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.issues).toMatchObject([{rule: 'header-unknown', message: 'the header matches no known dataset; closest is participants: missing "site"'}])
  })

  it('says which delimiter a one-column header looks like', () => {
    const msg = (h: string) => {
      const r = detectDataset([h], datasets)
      return r.ok ? '' : r.issues[0].message
    }
    expect(msg('participant_id\tgiven_name\tsite')).toContain('looks tab-separated ("\\t")')
    expect(msg('participant_id|given_name|site')).toContain('looks pipe-separated ("|")')
    expect(msg('a;b;c|d')).toContain('semicolon')
  })

  it('reports each duplicated header name once, with all its positions', () => {
    const r = detectDataset(['site', 'a', 'site', 'b', 'site', 'a'], datasets)
    expect(r.ok ? [] : r.issues.map((i) => i.message)).toEqual([
      'column "site" appears more than once in the header (columns 1, 3, 5)',
      'column "a" appears more than once in the header (columns 2, 6)',
    ])
  })

  it('closestName: case, separators and small typos', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3)
    expect(closestName('Site', ['site', 'DOB'])).toBe('site')
    expect(closestName('Participant ID', ['participant_id'])).toBe('participant_id')
    expect(closestName('partcipant_id', ['participant_id', 'site'])).toBe('participant_id')
    expect(closestName('weight', ['site', 'DOB'])).toBeUndefined()
  })
})
