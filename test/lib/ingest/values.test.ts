import {describe, expect, it} from 'vitest'
import {checkType, dateDays, daysFromCivil, parseDate} from '../../../src/lib/ingest/values.js'

describe('values', () => {
  it('dates: real calendar dates only, YYYY-MM-DD only', () => {
    for (const ok of ['2000-02-29', '2024-02-29', '1815-12-10', '0001-01-01', '9999-12-31', '1970-01-01']) expect(parseDate(ok), ok).toHaveProperty('days')
    for (const bad of ['1900-02-29', '2023-02-29', '2021-04-31', '2021-13-01', '2021-00-10', '2021-01-00', '2021-1-01', '21-01-01', '2021/01/01', '12/05/1988', '2021-01-01T00:00', ' 2021-01-01']) {
      expect(parseDate(bad), bad).toHaveProperty('reason')
    }
    expect(checkType('date', '1990-02-30')).toEqual({ok: false, rule: 'date', message: '"1990-02-30" is not a real calendar date'})
  })

  it('dateDays (no allocation) agrees with parseDate, NaN where parseDate gives a reason', () => {
    for (const v of ['2000-02-29', '2023-02-29', '1999-12-31', '2024-13-01', '2024-00-10', '2024-01-00', '2024-1-01', '+024-01-01', '2024-01-0x', '２０２４-01-01', '2024/01/01', '2024-01-01 ', '0000-01-01', '']) {
      const p = parseDate(v)
      const d = dateDays(v)
      if ('days' in p) expect(d, v).toBe(p.days)
      else expect(d, v).toBeNaN()
    }
    expect(dateDays('1970-01-02')).toBe(1)
  })

  it('days since the epoch agree with Date.UTC on every day of 1600–2400 (sampled) and at the edges', () => {
    expect(daysFromCivil(1970, 1, 1)).toBe(0)
    expect(daysFromCivil(1969, 12, 31)).toBe(-1)
    expect(daysFromCivil(1, 1, 1)).toBe(-719162)
    for (let t = Date.UTC(1600, 0, 1); t < Date.UTC(2400, 0, 1); t += 86_400_000 * 37) {
      const d = new Date(t)
      expect(daysFromCivil(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate())).toBe(t / 86_400_000)
    }
  })

  it('integers: 64-bit, canonical text without sign or leading zeros', () => {
    expect(checkType('integer', '+007')).toEqual({ok: true, value: 7n, text: '7'})
    expect(checkType('integer', '-9223372036854775808')).toMatchObject({ok: true, value: -(2n ** 63n)})
    expect(checkType('integer', '9223372036854775808')).toMatchObject({ok: false, rule: 'integer', message: '"9223372036854775808" is out of the 64-bit integer range'})
    for (const bad of ['1.0', '1e3', '', ' 1', '0x10', '1_000']) expect(checkType('integer', bad), bad).toMatchObject({ok: false, rule: 'integer'})
  })

  it('numbers: finite decimals only', () => {
    expect(checkType('number', '1e3')).toEqual({ok: true, value: 1000, text: '1000'})
    expect(checkType('number', '-.5')).toEqual({ok: true, value: -0.5, text: '-0.5'})
    for (const bad of ['NaN', 'Infinity', '1e999', '1,5', '0x10', '.', '']) expect(checkType('number', bad), bad).toMatchObject({ok: false, rule: 'number'})
  })

  it('booleans: true/false, yes/no, 1/0 in any case → true/false', () => {
    for (const t of ['true', 'TRUE', 'Yes', '1']) expect(checkType('boolean', t)).toEqual({ok: true, value: true, text: 'true'})
    for (const f of ['false', 'False', 'no', '0']) expect(checkType('boolean', f)).toEqual({ok: true, value: false, text: 'false'})
    expect(checkType('boolean', 'y')).toMatchObject({ok: false, rule: 'boolean'})
  })

  it('strings: CRLF inside a value becomes LF', () => {
    expect(checkType('string', 'a\r\nb')).toEqual({ok: true, value: 'a\nb', text: 'a\nb'})
  })
})
