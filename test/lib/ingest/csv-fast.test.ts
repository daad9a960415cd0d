import {parse} from 'csv-parse/sync'
import {stringify} from 'csv-stringify/sync'
import {describe, expect, it} from 'vitest'
import {CsvRecordReader, csvLine} from '../../../src/lib/ingest/csv-fast.js'

const OPTIONS = {bom: true, delimiter: ',', record_delimiter: ['\r\n', '\n'], relax_column_count: true, relax_quotes: true}

/** csv-parse's answer: the records, or the error code. */
function reference(text: string, max: number): {records: string[][]; error?: string} {
  try {
    return {records: parse(Buffer.from(text), {...OPTIONS, max_record_size: max}) as string[][]}
  } catch (e) {
    return {records: [], error: (e as {code?: string}).code}
  }
}

/** Ours, fed in pieces of `chunk` characters. */
function ours(text: string, max: number, chunk: number): {records: string[][]; error?: string} {
  const records: string[][] = []
  const r = new CsvRecordReader((f) => records.push(f), max)
  for (let i = 0; i < text.length; i += chunk) {
    const e = r.push(text.slice(i, i + chunk))
    if (e) return {records: [], error: e.code}
  }
  const e = r.end()
  return e ? {records: [], error: e.code} : {records}
}

function rng(seed: number) {
  return () => {
    seed |= 0
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('CsvRecordReader = csv-parse with the ingest options', () => {
  const cases = [
    '', '\n', 'a', 'a,b\n', 'a,b', 'a,b,\n', 'a,b,', ',\n,', '\ufeffa,b\r\nc,d\r\n', 'a,"b,c",d\n', '"a""b",c\n', '"a\nb",c\r\n',
    '"abc"def,g\n', '"a"b"c",d\n', 'ab"c,d\n', '"",x\n', '""', '"a"\r', 'a\rb,c\n', '\r\n\r\n', '"unclosed\n', 'x,"open', '"a""', '"a"""',
    ' "a",b\n', 'a,b\r', '"a"\r\nb', '\ufeff', '\ufeff\ufeffa', 'é,"ü\n",ß\n',
  ]
  it('fixed cases, whole and in 1-character pieces', () => {
    for (const text of cases) {
      const want = reference(text, 1 << 20)
      expect(ours(text, 1 << 20, text.length || 1), JSON.stringify(text)).toEqual(want)
      expect(ours(text, 1 << 20, 1), JSON.stringify(text)).toEqual(want)
    }
  })

  it('fuzzed text, random piece sizes, small record limits', () => {
    const rand = rng(7)
    const alphabet = ['a', 'b', ',', '"', '""', '\n', '\r\n', '\r', ' ', 'é', '\ufeff']
    for (let n = 0; n < 3000; n++) {
      const text = Array.from({length: Math.floor(rand() * 40)}, () => alphabet[Math.floor(rand() * alphabet.length)]).join('')
      const max = rand() < 0.3 ? 1 + Math.floor(rand() * 10) : 1 << 20
      const want = reference(text, max)
      const got = ours(text, max, 1 + Math.floor(rand() * 8))
      if (want.error === 'CSV_MAX_RECORD_SIZE' || got.error === 'CSV_MAX_RECORD_SIZE') continue // the limit is counted slightly differently
      expect(got, JSON.stringify(text)).toEqual(want)
    }
  })

  it('reports each record\'s span; a clean record (no quote, no CR) is exactly its fields joined by ","', () => {
    const rand = rng(11)
    const alphabet = ['a', 'b', ',', '"', '\n', '\r\n', '\r', ' ', 'é']
    let clean = 0
    for (let n = 0; n < 2000; n++) {
      const text = Array.from({length: Math.floor(rand() * 40)}, () => alphabet[Math.floor(rand() * alphabet.length)]).join('')
      const r: CsvRecordReader = new CsvRecordReader((fields) => {
        const span = r.recordText.slice(r.recordStart, r.recordEnd)
        if (r.recordClean) {
          clean++
          expect(span, JSON.stringify(text)).toBe(fields.join(','))
          expect(/["\r]/.test(span)).toBe(false)
          expect(r.recordText.slice(r.recordEnd, r.recordEnd + (r.recordCrLf ? 2 : 1))).toBe(r.recordCrLf ? '\r\n' : '\n')
        } else {
          expect(fields.join(',') === span && !/["\r]/.test(span) && r.recordText.length > r.recordEnd).toBe(false)
        }
      })
      for (let i = 0; i < text.length; i += 5) r.push(text.slice(i, i + 5))
      r.end()
    }
    expect(clean).toBeGreaterThan(500)
  })

  it('a record over the limit is CSV_MAX_RECORD_SIZE, also while it is still open', () => {
    expect(ours(`a,"${'x'.repeat(50)}`, 20, 7).error).toBe('CSV_MAX_RECORD_SIZE')
    expect(ours(`a,${'x'.repeat(50)}\n`, 20, 100).error).toBe('CSV_MAX_RECORD_SIZE')
  })
})

describe('csvLine = csv-stringify with the curated-CSV options', () => {
  it('quotes only what needs it', () => {
    const rand = rng(3)
    const alphabet = ['a', ',', '"', '\n', '\r', ' ', 'é', '=', '']
    for (let n = 0; n < 2000; n++) {
      const row = Array.from({length: 1 + Math.floor(rand() * 5)}, () => Array.from({length: Math.floor(rand() * 6)}, () => alphabet[Math.floor(rand() * alphabet.length)]).join(''))
      const want = stringify([row], {delimiter: ',', record_delimiter: 'unix', quote: '"', escape: '"', quote_record_delimiter: true, bom: false})
      expect(`${csvLine(row)}\n`, JSON.stringify(row)).toBe(want)
    }
  })
})
