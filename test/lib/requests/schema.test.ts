import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {repoRoot} from '../../helpers/cli.js'
import {loadDatasets} from '../../../src/lib/ingest/datasets.js'
import {callbackUrlProblem, checkRequestText, requestSchema, validateRequest} from '../../../src/lib/requests/schema.js'

const datasets = loadDatasets({
  visits: {
    columns: [
      {name: 'id', type: 'string', required: true},
      {name: 'age', type: 'integer'},
      {name: 'score', type: 'number'},
      {name: 'active', type: 'boolean'},
      {name: 'day', type: 'date'},
    ],
  },
})
const issues = (doc: unknown) => validateRequest(doc, datasets).issues

describe('request schema', () => {
  it('is published as schemas/request.schema.json, identical to the one cape validates with', () => {
    const published = JSON.parse(readFileSync(path.join(repoRoot, 'schemas/request.schema.json'), 'utf8'))
    expect(published).toEqual(requestSchema)
  })

  it('accepts a minimal and a full request', () => {
    expect(validateRequest({dataset: 'participants'}, datasets)).toMatchObject({valid: true, dataset: {name: 'participants'}})
    const full = {
      $schema: '../schemas/request.schema.json',
      dataset: 'visits',
      columns: ['day', 'id'],
      filters: [
        {column: 'id', op: 'contains', value: 'A'},
        {column: 'age', op: 'between', values: [18, 65]},
        {column: 'score', op: 'gte', value: 0.5},
        {column: 'active', op: 'eq', value: true},
        {column: 'day', op: 'in', values: ['2024-01-01', '2024-02-29']},
      ],
      format: 'parquet',
      limit: 10,
      callbackUrl: 'https://example.org/hook',
      description: 'all of it',
    }
    expect(issues(full)).toEqual([])
  })

  it('rejects unknown keys, at their pointer, top level and in filters', () => {
    expect(issues({dataset: 'participants', colums: ['site'], filters: [{column: 'site', op: 'eq', value: 'x', negate: true}]})).toEqual([
      {pointer: '/colums', message: expect.stringContaining('unknown key "colums"')},
      {pointer: '/filters/0/negate', message: expect.stringContaining('unknown key "negate"')},
    ])
  })

  it('reports every problem at once, each with its JSON pointer, in document order', () => {
    const got = issues({
      dataset: 'participants',
      columns: ['site', 'nope', 'site'],
      format: 'xlsx',
      limit: 0,
      filters: [
        {column: 'site', op: 'in', value: 'Oslo'},
        {column: 'DOB', op: 'between', values: ['1900-01-01']},
        {column: 'DOB', op: 'eq', value: '1999-02-30'},
        {column: 'site', op: 'eq'},
        {column: 'site', op: 'like', value: 'O%'},
      ],
    })
    expect(got.map((i) => i.pointer)).toEqual([
      '/columns/1', '/columns/2', '/filters/0/value', '/filters/0/values', '/filters/1/values', '/filters/2/value', '/filters/3/value', '/filters/4/op', '/format', '/limit',
    ])
    expect(got.find((i) => i.pointer === '/filters/1/values')!.message).toBe('"between" needs exactly two values [low, high], got 1')
    expect(got.find((i) => i.pointer === '/filters/2/value')!.message).toBe('"1999-02-30" is not a real calendar date')
    expect(got.find((i) => i.pointer === '/columns/1')!.message).toMatch(/unknown column "nope" of dataset "participants"/)
  })

  it('checks values against the column type', () => {
    const f = (column: string, op: string, v: {value?: unknown; values?: unknown[]}) => issues({dataset: 'visits', filters: [{column, op, ...v}]})
    expect(f('age', 'eq', {value: '18'})).toEqual([{pointer: '/filters/0/value', message: '"18" is not an integer (column "age" is an integer)'}])
    expect(f('age', 'eq', {value: 18.5})[0].message).toMatch(/not an integer/)
    expect(f('age', 'eq', {value: 2 ** 60})[0].message).toMatch(/exact integer range/)
    expect(f('score', 'lt', {value: true})[0].message).toMatch(/not a number/)
    expect(f('active', 'eq', {value: 'yes'})[0].message).toMatch(/not true or false/)
    expect(f('day', 'in', {values: ['2024-01-01', 20240101]})).toEqual([{pointer: '/filters/0/values/1', message: expect.stringMatching(/not a date/)}])
    expect(f('id', 'eq', {value: 7})[0].message).toMatch(/not a string/)
    expect(f('day', 'contains', {value: '2024'})).toEqual([{pointer: '/filters/0/op', message: '"contains" works on string columns only; "day" is a date'}])
    expect(f('active', 'gt', {value: false})[0]).toMatchObject({pointer: '/filters/0/op', message: expect.stringMatching(/boolean/)})
    expect(f('age', 'between', {values: [65, 18]})).toEqual([{pointer: '/filters/0/values', message: 'the lower bound 65 is greater than the upper bound 18'}])
    expect(f('id', 'contains', {value: ''})[0]).toMatchObject({pointer: '/filters/0/value', message: 'must not be empty'})
  })

  it('rejects an unknown dataset, listing the known ones', () => {
    expect(issues({dataset: 'patients'})).toEqual([{pointer: '/dataset', message: 'unknown dataset "patients" (known: participants, visits)'}])
    expect(issues({})).toEqual([{pointer: '/dataset', message: 'is required'}])
    expect(issues([])).toEqual([{pointer: '', message: 'must be an object'}])
  })

  it('allows https callbacks, and http only to loopback', () => {
    expect(callbackUrlProblem('https://hooks.example.org/x?y=1')).toBeUndefined()
    expect(callbackUrlProblem('http://127.0.0.1:8080/x')).toBeUndefined()
    expect(callbackUrlProblem('http://localhost/x')).toBeUndefined()
    expect(callbackUrlProblem('http://[::1]:9/x')).toBeUndefined()
    expect(callbackUrlProblem('http://10.0.0.1/x')).toMatch(/private address/)
    expect(callbackUrlProblem('http://127.0.0.1.evil.example/x')).toMatch(/only to a loopback host/)
    expect(callbackUrlProblem('https://u:p@example.org/')).toMatch(/credentials/)
    expect(issues({dataset: 'participants', callbackUrl: 'ftp://example.org/'})).toEqual([{pointer: '/callbackUrl', message: '"ftp://example.org/" is not an http(s) URL'}])
    expect(issues({dataset: 'participants', callbackUrl: 'http://example.org/'})[0]).toMatchObject({pointer: '/callbackUrl'})
  })

  it('reports JSON syntax errors at the document', () => {
    expect(checkRequestText('{"dataset": ', datasets)).toEqual({valid: false, issues: [{pointer: '', message: expect.stringMatching(/^not valid JSON/)}]})
    expect(checkRequestText('\uFEFF{"dataset": "participants"}', datasets).valid).toBe(true)
  })
})
