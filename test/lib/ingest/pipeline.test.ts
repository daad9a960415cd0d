import {Readable} from 'node:stream'
import {describe, expect, it} from 'vitest'
import {createIngestPipeline, loadDatasets, renderReport, validateStream} from '../../../src/lib/ingest/index.js'
import {fixture, run, where} from './helpers.js'

const datasets = loadDatasets()
const HEADER = 'participant_id,given_name,family_name,DOB,site\n'

/** Small deterministic PRNG (mulberry32) so the fuzz cases are the same on every run. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = seed
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('createIngestPipeline / validateStream', () => {
  it('lists maxErrors problems, counts the rest, and says so', async () => {
    const rows = Array.from({length: 250}, (_, i) => `P${i},A,B,1990-02-30,Oslo`).join('\n')
    const {report} = await run(HEADER + rows, {datasets, maxErrors: 10})
    expect(report.errors).toHaveLength(10)
    expect(report.errors[9].line).toBe(11)
    expect(report.errorCount).toBe(250)
    expect(report.summary).toEqual({rows: 250, validRows: 0, invalidRows: 250, errorsByRule: {date: 250}})
    const text = renderReport(report, {file: 'f.csv'}).split('\n')
    expect(text.at(-2)).toBe('… and 240 more problems not listed')
    expect(text.at(-1)).toBe('problems by rule: date 250')
    expect((await run(HEADER + rows, {datasets})).report.errors).toHaveLength(100) // the default
  })

  it('rows copied as they are (file layout = canonical) give the same curated CSV as rows rebuilt field by field', async () => {
    // same data twice: in canonical column order (clean rows pass through as slices of the text) and reordered
    // (every row rebuilt by csvLine); both outputs are in canonical order and must be byte-identical
    const ds = loadDatasets([{name: 't', columns: [{name: 'a', type: 'string', required: true, unique: true}, {name: 'b', type: 'string'}, {name: 'c', type: 'date'}, {name: 'd', type: 'integer'}], variants: [{name: 'rev', header: ['d', 'c', 'b', 'a']}]}])
    const rand = rng(5)
    const pick = <T,>(xs: T[]) => xs[Math.floor(rand() * xs.length)]
    for (let n = 0; n < 40; n++) {
      const eol = pick(['\n', '\r\n'])
      const rows: string[][] = []
      for (let i = 0; i < 200; i++) rows.push(rand() < 0.05 ? [] : [pick([`k${i}`, `k${i}`, 'dup', ' ', '']), pick(['x', '', '  ', 'x"y', 'a\rb', '"q,1"', '"m\nl"', 'é']), pick(['2024-01-31', '2024-02-30', '']), pick(['7', '007', '', 'z'])])
      const body = (cols: number[]) => rows.map((r) => (r.length === 0 ? '' : cols.map((c) => r[c]).join(','))).join(eol)
      const seed = rand()
      const forward = await run(`a,b,c,d${eol}${body([0, 1, 2, 3])}${eol}`, {datasets: ds, output: 'csv', uniqueMemoryEntries: seed < 0.5 ? 10 : 1000}, 1 + Math.floor(seed * 300))
      const reversed = await run(`d,c,b,a${eol}${body([3, 2, 1, 0])}${eol}`, {datasets: ds, output: 'csv', uniqueMemoryEntries: seed < 0.5 ? 10 : 1000}, 1 + Math.floor(seed * 300))
      expect(forward.output.toString()).toBe(reversed.output.toString())
      expect(forward.report.summary).toEqual(reversed.report.summary)
      expect(forward.report.summary.validRows).toBeGreaterThan(0)
    }
  })

  it('the byte lane takes only lines the CSV reader would accept, and writes the same bytes and report', async () => {
    // fuzzed files through the pipeline twice: with the byte lane (clean lines checked on their bytes) and without
    // (every line through the CSV reader); curated bytes and reports must be identical, chunked at random sizes
    const ds = loadDatasets([
      {
        name: 'lane',
        columns: [
          {name: 'id', type: 'string', required: true, unique: true},
          {name: 'name', type: 'string'},
          {name: 'born', type: 'date'},
          {name: 'n', type: 'integer'},
          {name: 'code', type: 'string', pattern: '[A-Z]{2}\\d'},
          {name: 'site', type: 'string', required: true},
        ],
        variants: [{name: 'old', header: ['id', 'name', 'Born On', 'n', 'code', 'site'], rename: {'Born On': 'born'}}],
      },
    ])
    const rand = rng(11)
    const pick = <T,>(xs: T[]) => xs[Math.floor(rand() * xs.length)]
    const names = ['Ada', 'Zoë', 'Ó Briain', ' Ada', 'Ada ', '\u00a0', ' ', '', '"Smith, J"', '"two\nlines"', 'a"b', '"x""y"', 'tab\t', '\u3000Wei', 'dé,jà']
    const dates = ['1990-02-28', '1990-02-30', '2000-02-29', '1900-02-29', '', ' 1990-01-01', '1990-1-01', '19900101', '١٩٩٠-01-01']
    const ints = ['7', '-3', '007', '+5', '', 'x', '99999999999999999999']
    const codes = ['AB1', 'ab1', '', 'ABC', 'ZZ9']
    const sites = ['Oslo', '', ' ', 'Lima', 'São Paulo', '"Oslo"']
    for (let n = 0; n < 60; n++) {
      const eol = rand() < 0.85 ? '\n' : '\r\n'
      const lines: string[] = []
      for (let i = 0; i < 300; i++) {
        const r = rand()
        if (r < 0.02) lines.push('')
        else if (r < 0.04) lines.push(`k${i},x`) // too few fields
        else if (r < 0.06) lines.push(`k${i},a,1990-01-01,1,AB1,Oslo,extra`) // too many
        else lines.push([pick([`k${i}`, `k${i}`, `k${i}`, `k${Math.floor(i / 3)}`, 'dup', '', ' ']), pick(names), pick(dates), pick(ints), pick(codes), pick(sites)].join(','))
      }
      const header = rand() < 0.5 ? 'id,name,born,n,code,site' : 'id,name,Born On,n,code,site'
      const bom = rand() < 0.2 ? '\ufeff' : ''
      const text = `${bom}${header}${eol}${lines.join(eol)}${rand() < 0.8 ? eol : ''}`
      const chunk = pick([1, 3, 7, 64, 500, 4096, 1 << 16])
      for (const output of ['csv', 'none'] as const) {
        const opts = {datasets: ds, output, maxErrors: 1000, uniqueMemoryEntries: pick([5, 100_000])}
        const lane = await run(text, {...opts, byteLane: true}, chunk)
        const reader = await run(text, {...opts, byteLane: false}, chunk)
        expect(lane.output.toString('hex')).toBe(reader.output.toString('hex'))
        expect(lane.report).toEqual(reader.report)
      }
    }
  })

  it('a fatal problem is listed even beyond maxErrors', async () => {
    const rows = Array.from({length: 5}, (_, i) => `P${i},A,B,x,Oslo`).join('\n')
    const {report} = await run(Buffer.concat([Buffer.from(`${HEADER}${rows}\nP9,`), Buffer.from([0xff]), Buffer.from(',B,,Oslo\n')]), {datasets, maxErrors: 2})
    expect(where(report)).toEqual([[2, 'date', 'DOB'], [3, 'date', 'DOB'], [7, 'encoding']])
    expect(report.errorCount).toBe(6)
    expect(report.complete).toBe(false)
  })

  it('skips blank lines but still counts them as lines; trims header names', async () => {
    const {report} = await run(' participant_id , site\n\nP1,Oslo\n   \nP2,\r\n\n', {datasets})
    expect(report).toMatchObject({dataset: 'participants', rows: 2})
    expect(where(report)).toEqual([[5, 'required', 'site']])
  })

  it('an unclosed quote is a csv-syntax problem at the line where its record starts', async () => {
    const {report} = await run(`${HEADER}P1,A,B,,Oslo\nP2,"Mary\nAnn,B,,Lima\nP3,C,D,,Oslo\n`, {datasets})
    expect(report.errors).toMatchObject([{rule: 'csv-syntax', line: 3, fatal: true, message: 'a quoted field in the record starting at line 3 is never closed'}])
    expect(report.summary.validRows).toBe(1)
  })

  it('an oversized record (an open quote swallowing the file) stops with record-too-large, memory bounded', async () => {
    const {report} = await run(`${HEADER}P1,"${'x'.repeat(5000)}\n`.repeat(3), {datasets, maxRecordBytes: 1000})
    expect(report.errors).toMatchObject([{rule: 'record-too-large', line: 2, fatal: true}])
  })

  it('CR-only line endings are a clear problem, not one giant header', async () => {
    const {report} = await run(HEADER.replace('\n', '\r') + 'P1,A,B,,Oslo\r', {datasets})
    expect(where(report)).toEqual([[1, 'line-endings']])
    expect(report.errors[0].message).toBe('the file uses CR-only (old Mac) line endings; cape reads LF or CRLF')
  })

  it('header only: valid with 0 rows; a file of blank lines is empty', async () => {
    expect((await run(HEADER, {datasets})).report).toMatchObject({valid: true, rows: 0, complete: true})
    expect((await run(HEADER.trimEnd(), {datasets, output: 'csv'})).output.toString()).toBe(HEADER)
    expect((await run('\n\r\n  \n', {datasets})).report.errors).toMatchObject([{rule: 'empty-file', line: 1, message: 'the file has no header (only blank lines)'}])
    expect((await run('\ufeff', {datasets})).report.errors).toMatchObject([{rule: 'empty-file'}])
  })

  it('ragged rows say the counts; a row with another delimiter gets a hint', async () => {
    const {report} = await run(`${HEADER}P1;A;B;;Oslo\n`, {datasets})
    expect(report.errors).toEqual([{rule: 'ragged', line: 2, message: 'the row has 1 field, the header has 5', hints: ['This row looks separated by a different delimiter than ",".']}])
  })

  it('validateStream reads any Readable or iterable; strings are fine', async () => {
    expect(await validateStream(Readable.from([HEADER, 'P1,A,B,1990-01-01,Oslo\n']), {datasets})).toMatchObject({valid: true, rows: 1})
    expect(await validateStream([fixture('participants.csv')], {datasets, dataset: 'participants'})).toMatchObject({valid: true, rows: 20})
  })

  it('an unknown forced dataset throws a CapeError at once', () => {
    expect(() => createIngestPipeline({datasets, dataset: 'nope'})).toThrow(expect.objectContaining({code: 'DATASET_UNKNOWN'}))
  })

  it('a stream error (not bad content) rejects the result', async () => {
    const source = new Readable({read() {
      this.push(HEADER)
      this.destroy(new Error('connection reset'))
    }})
    await expect(validateStream(source, {datasets})).rejects.toThrow('connection reset')
  })

  it('output applies backpressure: nothing is lost when the reader is slow', async () => {
    const rows = Array.from({length: 20_000}, (_, i) => `P${i},Given${i},Family${i},1990-01-01,Oslo\n`).join('')
    const p = createIngestPipeline({datasets, output: 'csv'})
    const chunks: Buffer[] = []
    const reading = (async () => {
      for await (const c of p.output) {
        chunks.push(c as Buffer)
        await new Promise((r) => setImmediate(r))
      }
    })()
    const src = Buffer.from(HEADER + rows)
    for (let i = 0; i < src.length; i += 4096) {
      if (!p.input.write(src.subarray(i, i + 4096))) await new Promise((r) => p.input.once('drain', r))
    }
    p.input.end()
    const [report] = await Promise.all([p.result, reading])
    expect(report.summary.validRows).toBe(20_000)
    expect(Buffer.concat(chunks).equals(src)).toBe(true)
  })

  it('never crashes: random bytes and mutated fixtures always give a report', async () => {
    const rand = rng(42)
    const bases = ['participants.csv', 'participants_quoted.csv', 'participants_legacy.csv', 'participants_crlf_bom.csv'].map(fixture)
    const alphabet = Buffer.from(',"\r\n;\t \u00e9x0-\ufeff')
    for (let i = 0; i < 150; i++) {
      let input: Buffer
      if (i % 3 === 0) {
        input = Buffer.from(Array.from({length: Math.floor(rand() * 400)}, () => Math.floor(rand() * 256)))
      } else {
        input = Buffer.from(bases[i % bases.length])
        for (let k = 0; k < 1 + Math.floor(rand() * 8); k++) {
          const at = Math.floor(rand() * input.length)
          const op = rand()
          if (op < 0.4) input[at] = alphabet[Math.floor(rand() * alphabet.length)]
          else if (op < 0.7) input = Buffer.concat([input.subarray(0, at), input.subarray(at + 1 + Math.floor(rand() * 20))])
          else input = Buffer.concat([input.subarray(0, at), alphabet.subarray(Math.floor(rand() * alphabet.length)), input.subarray(at)])
        }
      }
      for (const output of ['csv', 'parquet'] as const) {
        const {report} = await run(input, {datasets, output, maxErrors: 5}, 1 + Math.floor(rand() * 64))
        expect(report.errorCount).toBeGreaterThanOrEqual(report.errors.filter((e) => !e.fatal).length)
        expect(report.valid).toBe(report.errorCount === 0)
        expect(typeof renderReport(report)).toBe('string')
      }
    }
  })
})
