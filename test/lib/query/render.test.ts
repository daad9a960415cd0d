import {describe, expect, it} from 'vitest'
import {renderBarChart} from '../../../src/lib/query/chart.js'
import {reasonPosition} from '../../../src/lib/query/execute.js'
import {parseS3Url} from '../../../src/lib/query/query.js'
import {createFormatter, csvField, jsonValue} from '../../../src/lib/query/render.js'
import {defaultTarget} from '../../../src/lib/query/target.js'

const columns = [
  {name: 'site', type: 'varchar'},
  {name: 'n', type: 'bigint'},
  {name: 'ok', type: 'boolean'},
  {name: 'avg', type: 'double'},
]
const rows = [
  ['Oslo', '5', 'true', '1.5'],
  ['Lima, Peru', '12345678901234567890', 'false', null],
  ['', '', '', 'NaN'],
]
const render = (format: 'csv' | 'json' | 'ndjson' | 'table') => {
  const f = createFormatter(format)
  return f.head(columns) + f.rows(rows.slice(0, 2)) + f.rows(rows.slice(2)) + f.end()
}

describe('query renderers', () => {
  it('json: numbers as numbers (every digit kept), booleans, null for NULL and for an empty non-string', () => {
    expect(JSON.parse(render('json'))).toEqual([
      {site: 'Oslo', n: 5, ok: true, avg: 1.5},
      {site: 'Lima, Peru', n: 12_345_678_901_234_567_000, ok: false, avg: null},
      {site: '', n: null, ok: null, avg: 'NaN'},
    ])
    expect(render('json')).toContain('"n":12345678901234567890')
    expect(jsonValue('decimal(10,2)', '+3.50')).toBe('3.50')
    expect(jsonValue('varchar', null)).toBe('null')
    expect(createFormatter('json').end()).toBe('[]\n')
  })

  it('ndjson: one object a line; csv: RFC 4180 quoting, NULL empty, header first', () => {
    const lines = render('ndjson').trimEnd().split('\n')
    expect(lines).toHaveLength(3)
    expect(JSON.parse(lines[1])).toEqual({site: 'Lima, Peru', n: 12_345_678_901_234_567_000, ok: false, avg: null})
    expect(render('csv')).toBe('site,n,ok,avg\nOslo,5,true,1.5\n"Lima, Peru",12345678901234567890,false,\n,,,NaN\n')
    expect(csvField('say "hi"\nnow')).toBe('"say ""hi""\nnow"')
  })

  it('table: aligned on the first page, numbers right-aligned, NULL shown, long values cut', () => {
    const text = render('table')
    expect(text.split('\n').slice(0, 4)).toEqual([
      'site                           n  ok      avg',
      '──────────  ────────────────────  ─────  ────',
      'Oslo                           5  true    1.5',
      'Lima, Peru  12345678901234567890  false  NULL',
    ])
    const f = createFormatter('table', {maxWidth: 5})
    expect(f.head([{name: 'a', type: 'varchar'}]) + f.rows([['abcdefgh']])).toBe('a\n─────\nabcd…\n')
  })

  it('bar chart: scaled to the width, eighth blocks, value labels; refuses other shapes', () => {
    const lines = renderBarChart([{name: 'site', type: 'varchar'}, {name: 'n', type: 'bigint'}], [['Oslo', '10'], ['Lima', '5'], ['Nairobi', '1'], [null, '0']], 40)
    expect(lines[0]).toBe('site     n')
    const barLen = (l: string) => [...l].filter((c) => '█▏▎▍▌▋▊▉'.includes(c)).length
    expect(barLen(lines[1])).toBe(40 - 7 - 2 - 4)
    expect(lines[1]).toMatch(/^Oslo {5}█+ 10$/)
    expect(lines[2]).toMatch(/^Lima {5}█{13}▌ 5$/)
    expect(lines[4]).toBe('NULL      0')
    expect(() => renderBarChart([{name: 'a', type: 'varchar'}, {name: 'b', type: 'varchar'}], [])).toThrow(expect.objectContaining({code: 'CHART_SHAPE', exit: 6}))
    expect(() => renderBarChart([{name: 'a', type: 'varchar'}], [])).toThrow(/two columns/)
    expect(() => renderBarChart([{name: 'a', type: 'varchar'}, {name: 'b', type: 'integer'}], [['x', '-1']])).toThrow(expect.objectContaining({code: 'CHART_VALUE'}))
  })

  it('helpers: failure position, result location, default names', () => {
    expect(reasonPosition("line 2:8: Column 'x' cannot be resolved")).toEqual({line: 2, column: 8})
    expect(reasonPosition('no position')).toBeUndefined()
    expect(parseS3Url('s3://results-bucket/athena/abc.csv')).toEqual({bucket: 'results-bucket', key: 'athena/abc.csv'})
    expect(defaultTarget('my-env')).toEqual({database: 'cape_my_env', workgroup: 'cape-my-env', source: 'default'})
  })
})
