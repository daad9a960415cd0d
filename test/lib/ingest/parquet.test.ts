import {parquetMetadata, parquetReadObjects} from 'hyparquet'
import {describe, expect, it} from 'vitest'
import {loadDatasets} from '../../../src/lib/ingest/index.js'
import {fixture, run} from './helpers.js'

const toArrayBuffer = (b: Buffer): ArrayBuffer => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer

describe('parquet output', () => {
  const datasets = loadDatasets()

  it('has typed columns (STRING, DATE) and reads back with the same values', async () => {
    const {report, output} = await run(fixture('participants.csv'), {datasets, output: 'parquet'})
    expect(report.valid).toBe(true)
    expect(output.subarray(0, 4).toString()).toBe('PAR1')
    expect(output.subarray(-4).toString()).toBe('PAR1')
    const file = toArrayBuffer(output)
    const meta = parquetMetadata(file)
    expect(meta.num_rows).toBe(20n)
    expect(meta.created_by).toBe('cape')
    expect(meta.key_value_metadata).toEqual([{key: 'cape.dataset', value: 'participants'}])
    const cols = Object.fromEntries(meta.schema.slice(1).map((s) => [s.name, s]))
    expect(Object.keys(cols)).toEqual(['participant_id', 'given_name', 'family_name', 'DOB', 'site'])
    expect(cols.participant_id).toMatchObject({type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: {type: 'STRING'}, repetition_type: 'REQUIRED'})
    expect(cols.given_name).toMatchObject({type: 'BYTE_ARRAY', logical_type: {type: 'STRING'}, repetition_type: 'OPTIONAL'})
    expect(cols.DOB).toMatchObject({type: 'INT32', converted_type: 'DATE', logical_type: {type: 'DATE'}, repetition_type: 'OPTIONAL'})
    expect(cols.site).toMatchObject({repetition_type: 'REQUIRED'})

    const rows = await parquetReadObjects({file})
    expect(rows).toHaveLength(20)
    expect(rows[0]).toEqual({participant_id: 'P001', given_name: 'Ada', family_name: 'Lovelace', DOB: new Date('1815-12-10T00:00:00Z'), site: 'Oslo'})
    expect(rows[4]).toEqual({participant_id: 'P005', given_name: 'Zoë', family_name: 'Ng', DOB: new Date('2000-02-29T00:00:00Z'), site: 'Lima'})
    expect(rows[12].DOB).toBeNull() // empty optional date → null
    expect(rows[15].given_name).toBeNull() // empty optional string → null
    // Every value equals the CSV's.
    const csv = fixture('participants.csv').toString().trimEnd().split('\n').slice(1).map((l) => l.split(','))
    rows.forEach((r, i) => {
      expect([r.participant_id, r.given_name ?? '', r.family_name ?? '', r.DOB === null ? '' : (r.DOB as Date).toISOString().slice(0, 10), r.site]).toEqual(csv[i])
    })
  })

  it('writes integer, number and boolean columns as INT64, DOUBLE and BOOLEAN', async () => {
    const ds = loadDatasets([{
      name: 'measures',
      columns: [
        {name: 'id', type: 'integer', required: true, unique: true},
        {name: 'weight', type: 'number'},
        {name: 'smoker', type: 'boolean'},
        {name: 'seen', type: 'date'},
        {name: 'note', type: 'string'},
      ],
    }])
    const csv = 'id,weight,smoker,seen,note\n1,70.5,true,2024-01-31,"a, b"\n-9007199254740993,1e3,No,,\n+007,-0.25,1,1969-12-31,x\n'
    const {report, output} = await run(csv, {datasets: ds, output: 'parquet'})
    expect(report.errors).toEqual([])
    const file = toArrayBuffer(output)
    const types = parquetMetadata(file).schema.slice(1).map((s) => [s.name, s.type, s.logical_type?.type])
    expect(types).toEqual([['id', 'INT64', 'INTEGER'], ['weight', 'DOUBLE', undefined], ['smoker', 'BOOLEAN', undefined], ['seen', 'INT32', 'DATE'], ['note', 'BYTE_ARRAY', 'STRING']])
    expect(await parquetReadObjects({file})).toEqual([
      {id: 1n, weight: 70.5, smoker: true, seen: new Date('2024-01-31T00:00:00Z'), note: 'a, b'},
      {id: -9007199254740993n, weight: 1000, smoker: false, seen: null, note: null},
      {id: 7n, weight: -0.25, smoker: true, seen: new Date('1969-12-31T00:00:00Z'), note: 'x'},
    ])
    // The curated CSV carries the same normalised values.
    const asCsv = await run(csv, {datasets: ds, output: 'csv'})
    expect(asCsv.output.toString()).toBe('id,weight,smoker,seen,note\n1,70.5,true,2024-01-31,"a, b"\n-9007199254740993,1000,false,,\n7,-0.25,true,1969-12-31,x\n')
  })

  it('writes one row group per rowGroupSize rows, streamed out group by group', async () => {
    const {output} = await run(fixture('participants.csv'), {datasets, output: 'parquet', rowGroupSize: 7})
    const file = toArrayBuffer(output)
    expect(parquetMetadata(file).row_groups.map((g) => g.num_rows)).toEqual([7n, 7n, 6n])
    const rows = await parquetReadObjects({file})
    expect(rows.map((r) => r.participant_id)).toEqual(Array.from({length: 20}, (_, i) => `P${String(i + 1).padStart(3, '0')}`))
  })

  it('is deterministic: the same input gives the same bytes, whatever the chunking', async () => {
    const a = await run(fixture('participants_crlf_bom.csv'), {datasets, output: 'parquet'}, 3)
    const b = await run(fixture('participants.csv'), {datasets, output: 'parquet'})
    expect(a.output.equals(b.output)).toBe(true)
  })

  it('a header-only file gives a valid parquet file with 0 rows and the schema', async () => {
    const {report, output} = await run(fixture('participants_header_only.csv'), {datasets, output: 'parquet'})
    expect(report).toMatchObject({valid: true, rows: 0})
    const file = toArrayBuffer(output)
    expect(parquetMetadata(file).num_rows).toBe(0n)
    expect(parquetMetadata(file).schema).toHaveLength(6)
    expect(await parquetReadObjects({file})).toEqual([])
  })

  it('multi-line values are stored with LF inside, whatever the file used', async () => {
    const crlf = Buffer.from(fixture('participants_quoted.csv').toString().replaceAll('\n', '\r\n'))
    const {output} = await run(crlf, {datasets, output: 'parquet'})
    const rows = await parquetReadObjects({file: toArrayBuffer(output)})
    expect(rows[1].given_name).toBe('Mary\nAnn')
    expect(rows[2].family_name).toBe('Hopper\nMurray\n(née)')
  })
})
