import {describe, expect, it} from 'vitest'
import {compareDataset, compareDatasets, versionBump} from '../../../src/lib/datasets/compare.js'
import {getDataset, loadDatasets} from '../../../src/lib/ingest/datasets.js'

const base = {
  version: '1.2.3',
  owners: ['admin'],
  description: 'visits',
  columns: [
    {name: 'visit_id', type: 'string', required: true, unique: true},
    {name: 'visit_date', type: 'date'},
    {name: 'weight_kg', type: 'integer'},
    {name: 'note', type: 'string', pattern: '[a-z]+'},
  ],
  variants: [{name: 'old', header: ['visit_id', 'Visit Date', 'weight_kg', 'note'], rename: {'Visit Date': 'visit_date'}}],
}
type Def = typeof base
const visits = (def: object) => getDataset(loadDatasets({visits: def}), 'visits')
const edit = (f: (d: any) => void): Def => {
  const d = structuredClone(base)
  f(d)
  return d
}
const col = (d: any, name: string) => d.columns.find((c: any) => c.name === name)

// [case, change, expected class of the change, its message (part)]
const cases: Array<[string, (d: any) => void, 'breaking' | 'minor' | 'patch', string]> = [
  ['remove a column', (d) => d.columns.splice(2, 1) && (d.variants = []), 'breaking', 'column "weight_kg" removed'],
  ['rename a column', (d) => { col(d, 'note').name = 'remark'; d.variants = [] }, 'breaking', 'column "note" renamed to "remark"'],
  ['narrow a type (string → integer)', (d) => { col(d, 'note').type = 'integer'; delete col(d, 'note').pattern }, 'breaking', 'narrowed from string to integer'],
  ['narrow a type (integer → boolean is a change)', (d) => (col(d, 'weight_kg').type = 'boolean'), 'breaking', 'changed from integer to boolean'],
  ['make a column required', (d) => (col(d, 'visit_date').required = true), 'breaking', 'made required'],
  ['make a column unique', (d) => (col(d, 'weight_kg').unique = true), 'breaking', 'made unique'],
  ['change a pattern', (d) => (col(d, 'note').pattern = '[a-z]{2,}'), 'breaking', 'pattern changed'],
  ['add a required column', (d) => d.columns.push({name: 'site', type: 'string', required: true}) && (d.variants = []), 'breaking', 'required column "site" added'],
  ['drop a variant', (d) => (d.variants = []), 'breaking', 'variant "old" dropped'],
  ['change a variant', (d) => { d.variants[0].header[1] = 'VisitDate'; d.variants[0].rename = {VisitDate: 'visit_date'} }, 'breaking', 'variant "old" changed'],
  ['milestone the history', (d) => Object.assign(d, {history: 'milestoned', key: ['visit_id']}), 'breaking', 'history changed from none to milestoned'],
  ['add an optional column', (d) => d.columns.push({name: 'site', type: 'string'}), 'minor', 'optional column "site" added'],
  ['add a variant', (d) => d.variants.push({name: 'trimmed', header: ['visit_id', 'visit_date', 'weight_kg', 'note'], transforms: ['trim-values']}), 'minor', 'variant "trimmed" added'],
  ['widen a type (integer → number)', (d) => (col(d, 'weight_kg').type = 'number'), 'minor', 'widened from integer to number'],
  ['widen a type (date → string)', (d) => (col(d, 'visit_date').type = 'string'), 'minor', 'widened from date to string'],
  ['drop required', (d) => (col(d, 'visit_id').required = false), 'minor', 'no longer required'],
  ['drop unique', (d) => (col(d, 'visit_id').unique = false), 'minor', 'no longer unique'],
  ['drop a pattern', (d) => delete col(d, 'note').pattern, 'minor', 'pattern dropped'],
  ['reorder columns', (d) => d.columns.reverse(), 'minor', 'column order changed'],
  ['change the description', (d) => (d.description = 'hospital visits'), 'patch', 'description changed'],
  ['change the owners', (d) => (d.owners = ['admin', 'alice']), 'patch', 'owners changed'],
]

const bumps = {major: '2.0.0', minor: '1.3.0', patch: '1.2.4', none: '1.2.3'} as const
// verdict per class of change and bump: ok?
const allowed = {
  breaking: {major: true, minor: false, patch: false, none: false},
  minor: {major: true, minor: true, patch: false, none: false},
  patch: {major: true, minor: true, patch: true, none: true},
}

describe('dataset compatibility', () => {
  describe.each(cases)('%s', (_, change, klass, message) => {
    it(`is ${klass}`, () => {
      const c = compareDataset('visits', visits(base), visits(edit(change)))
      expect(c.changes.map((x) => x.class)).toContain(klass)
      expect(c.changes.find((x) => x.message.includes(message)), JSON.stringify(c.changes)).toMatchObject({class: klass})
      // the worst class decides: the case's own class is the worst of its changes
      expect(c.needs).toBe(klass === 'breaking' ? 'major' : klass === 'minor' ? 'minor' : 'none')
    })
    it.each(Object.entries(bumps))(`with a %s bump: ${JSON.stringify(allowed[klass])}`, (bump, version) => {
      const c = compareDataset('visits', visits(base), visits(edit((d) => {
        change(d)
        d.version = version
      })))
      expect(c.ok, c.problem).toBe(allowed[klass][bump as keyof typeof bumps])
      expect(c.bump).toBe(bump)
      if (!c.ok) expect(c.problem).toMatch(klass === 'breaking' ? /without a major version bump/ : /without a minor version bump/)
    })
  })

  it('no change: ok at any version; a lower version is refused', () => {
    expect(compareDataset('visits', visits(base), visits(base))).toMatchObject({status: 'unchanged', changes: [], ok: true, needs: 'none'})
    expect(compareDataset('visits', visits(base), visits(edit((d) => (d.version = '1.2.2'))))).toMatchObject({ok: false, bump: 'downgrade', problem: expect.stringContaining('version went down')})
  })

  it('a new dataset is ok; a removed one is breaking and refused', () => {
    const prev = loadDatasets({visits: base})
    const next = loadDatasets({labs: {...base, version: '0.1.0'}})
    expect(compareDatasets(prev, next).map((c) => [c.dataset, c.status, c.ok])).toEqual([
      ['labs', 'new', true],
      ['participants', 'unchanged', true],
      ['visits', 'removed', false],
    ])
  })

  it('semantic version bumps', () => {
    expect([['1.2.3', '2.0.0'], ['1.2.3', '1.10.0'], ['1.2.3', '1.2.4'], ['1.2.3', '1.2.3'], ['1.2.3', '1.1.9'], [undefined, '0.0.1']].map(([a, b]) => versionBump(a, b)))
      .toEqual(['major', 'minor', 'patch', 'none', 'downgrade', 'patch'])
  })
})
