import {parquetMetadata, parquetReadObjects} from 'hyparquet'
import {describe, expect, it} from 'vitest'
import type {Column} from '../../../src/lib/ingest/datasets.js'
import {checkType, parseTimestamp, timestampText, type TypedValue} from '../../../src/lib/ingest/values.js'
import {ParquetRowWriter} from '../../../src/lib/ingest/writers.js'

describe('timestamp column type', () => {
  it('parses ISO 8601 with an offset to UTC microseconds; refuses a time without an offset', () => {
    expect(parseTimestamp('2026-12-06T10:15:30.123456+01:00')).toEqual({micros: BigInt(Date.parse('2026-12-06T09:15:30.123Z')) * 1000n + 456n})
    expect(parseTimestamp('2026-12-06 09:15:30Z')).toEqual({micros: BigInt(Date.parse('2026-12-06T09:15:30Z')) * 1000n})
    expect(parseTimestamp('2026-12-06T04:15-0500')).toEqual({micros: BigInt(Date.parse('2026-12-06T09:15:00Z')) * 1000n})
    expect(parseTimestamp('1969-12-31T23:59:59.999999Z')).toEqual({micros: -1n})
    expect(parseTimestamp('2026-12-06T10:15:30')).toEqual({reason: 'has no UTC offset (add Z or ±hh:mm)'})
    for (const bad of ['2026-02-30T00:00Z', '2026-12-06T24:00Z', '2026-12-06', 'yesterday', '2026-12-06T10:15:30+25:00']) expect(parseTimestamp(bad), bad).toHaveProperty('reason')
    expect(checkType('timestamp', '2026-12-06T10:15:30.5+01:00')).toEqual({ok: true, value: BigInt(Date.parse('2026-12-06T09:15:30.5Z')) * 1000n, text: '2026-12-06T09:15:30.500000Z'})
    expect(checkType('timestamp', 'x')).toMatchObject({ok: false, rule: 'timestamp'})
    expect(timestampText(-1n)).toBe('1969-12-31T23:59:59.999999Z')
  })

  it('is written to parquet as TIMESTAMP(MICROS, adjusted to UTC) and reads back as the same instant', async () => {
    const columns: Column[] = [{name: 'id', type: 'integer', required: true}, {name: 'at', type: 'timestamp'}] as Column[]
    const chunks: Buffer[] = []
    const w = new ParquetRowWriter(columns, (b) => chunks.push(b))
    const rows: TypedValue[][] = [[1n, (parseTimestamp('2026-12-06T10:15:30.123+01:00') as {micros: bigint}).micros], [2n, null]]
    for (const r of rows) w.write([], r)
    w.end()
    const buf = Buffer.concat(chunks)
    const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer
    const at = parquetMetadata(file).schema.find((s) => s.name === 'at')
    expect(at).toMatchObject({type: 'INT64', converted_type: 'TIMESTAMP_MICROS', logical_type: {type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS'}})
    const read = await parquetReadObjects({file})
    expect(read).toEqual([{id: 1n, at: new Date('2026-12-06T09:15:30.123Z')}, {id: 2n, at: null}])
  })
})
