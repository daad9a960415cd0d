import {describe, expect, it} from 'vitest'
import {CapeError} from '../../../src/lib/cli/errors.js'
import {ExitCode} from '../../../src/lib/cli/exit-codes.js'
import {getDataset, loadDatasets} from '../../../src/lib/ingest/index.js'
import {run, where} from './helpers.js'

const definitionError = (extra: unknown): CapeError => {
  let caught: unknown
  try {
    loadDatasets(extra)
  } catch (e) {
    caught = e
  }
  expect(caught).toBeInstanceOf(CapeError)
  expect(caught).toMatchObject({code: 'DATASET_DEFINITION_INVALID', exit: ExitCode.config})
  return caught as CapeError
}

const visits = {
  name: 'visits',
  columns: [
    {name: 'visit_id', type: 'string', required: true, unique: true, pattern: 'V[0-9]{4}'},
    {name: 'participant_id', type: 'string', required: true},
    {name: 'weight_kg', type: 'number'},
  ],
}

describe('loadDatasets', () => {
  it('ships participants: canonical columns and the legacy variant', () => {
    const p = getDataset(loadDatasets(), 'participants')
    expect(p.source).toBe('built-in')
    expect(p.columns.map((c) => [c.name, c.type, c.required, c.unique])).toEqual([
      ['participant_id', 'string', true, true],
      ['given_name', 'string', false, false],
      ['family_name', 'string', false, false],
      ['DOB', 'date', false, false],
      ['site', 'string', true, false],
    ])
    expect(p.variants.map((v) => [v.name, v.header.join(','), v.transforms])).toEqual([
      ['canonical', 'participant_id,given_name,family_name,DOB,site', []],
      ['legacy', 'participant_id,given_name,family_name,Date of Birth,site', ['dob-rename']],
    ])
  })

  it('adds user datasets given as a list or as a map, and checks their patterns (anchored)', async () => {
    for (const extra of [[visits], {visits: {columns: visits.columns}}]) {
      const datasets = loadDatasets(extra)
      expect([...datasets.keys()]).toEqual(['participants', 'visits'])
      const {report} = await run('visit_id,participant_id,weight_kg\nV0001,P1,70\nV12345,P2,x\nV0001,P3,\n', {datasets})
      expect(report.dataset).toBe('visits')
      expect(where(report)).toEqual([[3, 'pattern', 'visit_id'], [3, 'number', 'weight_kg'], [4, 'unique', 'visit_id']])
      expect(report.errors[0].message).toBe('"V12345" does not match the pattern /V[0-9]{4}/')
    }
  })

  it('extends a built-in with a variant from cape.yaml alone (declarative rename, no code)', async () => {
    const datasets = loadDatasets({participants: {variants: [{name: 'export-2019', header: ['ID', 'given_name', 'family_name', 'Birth date', 'Centre'], rename: {ID: 'participant_id', 'Birth date': 'DOB', Centre: 'site'}}]}})
    const p = getDataset(datasets, 'participants')
    expect(p.source).toBe('built-in+cape.yaml')
    expect(p.variants.map((v) => v.name)).toEqual(['canonical', 'legacy', 'export-2019'])
    const {report, output} = await run('Centre,ID,Birth date\nOslo,P1,1990-01-01\nLima,P2,1990-02-30\n', {datasets, output: 'csv'})
    expect(report).toMatchObject({dataset: 'participants', variant: 'export-2019', transforms: ['rename']})
    expect(report.errors).toMatchObject([{line: 3, rule: 'date', column: 'DOB', sourceColumn: 'Birth date'}])
    expect(output.toString()).toBe('participant_id,given_name,family_name,DOB,site\nP1,,,1990-01-01,Oslo\n')
  })

  it('replaces a built-in when the user definition has columns', () => {
    const p = getDataset(loadDatasets([{name: 'participants', columns: [{name: 'id', type: 'integer', required: true}]}]), 'participants')
    expect(p.source).toBe('cape.yaml')
    expect(p.columns.map((c) => c.name)).toEqual(['id'])
    expect(p.variants.map((v) => v.name)).toEqual(['canonical'])
  })

  it('names the dataset and the field in definition errors', () => {
    expect(definitionError([{...visits, columns: [visits.columns[0], {name: 'dob', type: 'datetime'}]}]).message)
      .toBe('invalid dataset definition datasets[0] ("visits"): columns[1] ("dob").type: Invalid option: expected one of "string"|"integer"|"number"|"boolean"|"date"|"timestamp"')
    expect(definitionError({visits: {columns: [{name: 'a', type: 'string', pattern: '(['}]}}).message)
      .toBe('invalid dataset definition datasets.visits: columns[0] ("a").pattern: is not a valid regular expression')
    expect(definitionError({visits: {...visits, name: 'other'}}).message).toContain('name: "other" differs from its key "visits"')
    expect(definitionError([{...visits, colour: 'red'}]).message).toContain('Unrecognized key: "colour"')
    expect(definitionError([{columns: visits.columns}]).message).toBe('invalid dataset definition datasets[0]: name: is required')
    expect(definitionError([{name: 'Visits!', columns: visits.columns}]).message).toContain('name: must be lower case letters')
    expect(definitionError({newone: {variants: []}}).message).toContain('columns: is required (only a built-in dataset — participants — can be extended with variants alone)')
    expect(definitionError('participants').message).toBe('invalid dataset definitions: expected a list or a map of datasets, got string')
    expect(definitionError([visits, visits]).message).toContain('dataset "visits" is defined twice')
  })

  it('rejects variants that do not reach the canonical columns', () => {
    const withVariant = (variant: object) => [{...visits, variants: [variant]}]
    expect(definitionError(withVariant({name: 'old', header: ['visit_id', 'pid'], transforms: ['no-such']})).message)
      .toContain('variants[0] ("old").transforms[0]: unknown transform "no-such" (known: dob-rename, trim-values)')
    expect(definitionError(withVariant({name: 'old', header: ['visit_id', 'pid']})).message)
      .toBe('invalid dataset definition datasets[0] ("visits"): variant "old": after no transforms the header has "pid", which is not a column of the dataset; variant "old": required column "participant_id" is not in its header')
    expect(definitionError(withVariant({name: 'canonical', header: ['visit_id', 'participant_id']})).message)
      .toContain('variant name "canonical" is reserved')
    expect(definitionError(withVariant({name: 'old', header: ['visit_id', 'participant_id', 'pid'], rename: {pid: 'participant_id'}})).message)
      .toContain('variant "old": after rename column "participant_id" appears twice')
    expect(definitionError([{...visits, columns: [...visits.columns, visits.columns[0]]}]).message).toContain('column "visit_id" is defined twice')
  })

  it('getDataset: an unknown name is a usage error listing the known ones', () => {
    expect(() => getDataset(loadDatasets(), 'visits')).toThrow(expect.objectContaining({code: 'DATASET_UNKNOWN', exit: ExitCode.usage, hints: ['Known datasets: participants']}))
  })
})
