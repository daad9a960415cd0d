import {describe, expect, it} from 'vitest'
import {loadDatasets} from '../../../src/lib/ingest/datasets.js'
import {compileFilters, type RequestFilter, type Row} from '../../../src/lib/requests/filter.js'

const dataset = loadDatasets({
  m: {columns: [{name: 'id', type: 'string'}, {name: 'n', type: 'integer'}, {name: 'x', type: 'number'}, {name: 'b', type: 'boolean'}, {name: 'd', type: 'date'}]},
}).get('m')!

// typed rows as the extractor builds them: integer → bigint, date → days since 1970-01-01, empty → null
const rows: Record<string, Row> = {
  a: ['alpha', 1n, 1.5, true, 0], // 1970-01-01
  b: ['beta', 10n, -2, false, 19723], // 2024-01-01
  c: ['Gamma', -5n, 0, true, -1], // 1969-12-31
  e: [null, null, null, null, null],
}
const match = (...filters: RequestFilter[]) => {
  const p = compileFilters(filters, dataset)
  return Object.keys(rows).filter((k) => p(rows[k]))
}

describe('compileFilters', () => {
  it('eq / ne on every type; an empty value matches only ne', () => {
    expect(match({column: 'id', op: 'eq', value: 'beta'})).toEqual(['b'])
    expect(match({column: 'n', op: 'eq', value: 10})).toEqual(['b'])
    expect(match({column: 'x', op: 'eq', value: 0})).toEqual(['c'])
    expect(match({column: 'b', op: 'eq', value: true})).toEqual(['a', 'c'])
    expect(match({column: 'd', op: 'eq', value: '2024-01-01'})).toEqual(['b'])
    expect(match({column: 'b', op: 'ne', value: true})).toEqual(['b', 'e'])
    expect(match({column: 'n', op: 'ne', value: 1})).toEqual(['b', 'c', 'e'])
  })

  it('lt / lte / gt / gte compare integers as numbers, dates by day, strings by code unit', () => {
    expect(match({column: 'n', op: 'lt', value: 1})).toEqual(['c'])
    expect(match({column: 'n', op: 'lte', value: 1})).toEqual(['a', 'c'])
    expect(match({column: 'n', op: 'gt', value: 2})).toEqual(['b']) // 10 > 2, not "10" < "2"
    expect(match({column: 'x', op: 'gte', value: 0})).toEqual(['a', 'c'])
    expect(match({column: 'd', op: 'lt', value: '1970-01-01'})).toEqual(['c'])
    expect(match({column: 'd', op: 'gte', value: '1970-01-01'})).toEqual(['a', 'b'])
    expect(match({column: 'id', op: 'lt', value: 'b'})).toEqual(['a', 'c']) // "Gamma" < "b" (upper case first)
  })

  it('in / between / contains', () => {
    expect(match({column: 'n', op: 'in', values: [1, -5, 99]})).toEqual(['a', 'c'])
    expect(match({column: 'd', op: 'in', values: ['2024-01-01']})).toEqual(['b'])
    expect(match({column: 'b', op: 'in', values: [false]})).toEqual(['b'])
    expect(match({column: 'n', op: 'between', values: [1, 10]})).toEqual(['a', 'b'])
    expect(match({column: 'd', op: 'between', values: ['1969-12-31', '1970-01-01']})).toEqual(['a', 'c'])
    expect(match({column: 'id', op: 'contains', value: 'amm'})).toEqual(['c'])
    expect(match({column: 'id', op: 'contains', value: 'GAMMA'})).toEqual([]) // case-sensitive
  })

  it('all filters must match; none means every row', () => {
    expect(match({column: 'b', op: 'eq', value: true}, {column: 'n', op: 'gt', value: 0})).toEqual(['a'])
    expect(match()).toEqual(['a', 'b', 'c', 'e'])
  })
})
