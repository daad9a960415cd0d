import {describe, expect, it} from 'vitest'
import {bindTransforms, transforms} from '../../../src/lib/ingest/index.js'

describe('transforms', () => {
  it('dob-rename renames the header only', () => {
    const b = transforms['dob-rename'].bind(['participant_id', 'Date of Birth', 'site'])
    expect(b).toEqual({header: ['participant_id', 'DOB', 'site']})
  })

  it('chains compose in order, keep where each column came from, and stay pure', () => {
    const chain = bindTransforms(['ID', ' Date of Birth'.trim(), 'x'], ['dob-rename', 'trim-values'], {ID: 'participant_id'})
    expect(chain.header).toEqual(['participant_id', 'DOB', 'x'])
    expect(chain.origin).toEqual([0, 1, 2])
    const input = Object.freeze([' P1 ', '1990-01-01 ', 'y'])
    expect(chain.row?.(input)).toEqual(['P1', '1990-01-01', 'y'])
    expect(input).toEqual([' P1 ', '1990-01-01 ', 'y'])
  })

  it('pure renames have no row function (values pass through untouched)', () => {
    expect(bindTransforms(['Date of Birth'], ['dob-rename']).row).toBeUndefined()
  })

  it('an unknown name is a programming error', () => {
    expect(() => bindTransforms(['a'], ['nope'])).toThrow('unknown transform "nope"')
  })
})
