import {readdirSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {loadDatasets, renderReport, reportToError} from '../../../src/lib/ingest/index.js'
import {fixture, fixturesDir, run, where} from './helpers.js'

const datasets = loadDatasets()

/** Every fixture, with the exact outcome expected: detection, rows, and each problem's line, rule and column. */
const expected: Record<string, {dataset: string | null; variant?: string | null; rows: number; valid?: number; issues: unknown[]; complete?: boolean}> = {
  'participants.csv': {dataset: 'participants', variant: 'canonical', rows: 20, issues: []},
  'participants_legacy.csv': {dataset: 'participants', variant: 'legacy', rows: 20, issues: []},
  'participants_crlf_bom.csv': {dataset: 'participants', variant: 'canonical', rows: 20, issues: []},
  'participants_quoted.csv': {dataset: 'participants', variant: 'canonical', rows: 4, issues: []},
  'participants_header_only.csv': {dataset: 'participants', variant: 'canonical', rows: 0, issues: []},
  'participants_bad_dates.csv': {
    dataset: 'participants', rows: 8, valid: 3,
    issues: [[4, 'date', 'DOB'], [5, 'date', 'DOB'], [6, 'date', 'DOB'], [8, 'date', 'DOB'], [11, 'date', 'DOB']],
  },
  'participants_duplicate_id.csv': {dataset: 'participants', rows: 7, valid: 5, issues: [[7, 'unique', 'participant_id'], [8, 'unique', 'participant_id']]},
  'participants_missing_site.csv': {
    dataset: 'participants', rows: 5, valid: 2,
    issues: [[3, 'required', 'site'], [5, 'required', 'site'], [6, 'required', 'participant_id'], [6, 'required', 'site']],
  },
  'participants_ragged.csv': {dataset: 'participants', rows: 5, valid: 3, issues: [[3, 'ragged'], [5, 'ragged']]},
  'participants_semicolon.csv': {dataset: null, rows: 0, issues: [[1, 'delimiter']], complete: false},
  'participants_duplicate_header.csv': {dataset: null, rows: 0, issues: [[1, 'header-duplicate', 'DOB']], complete: false},
  'participants_unknown_header.csv': {dataset: null, rows: 0, issues: [[1, 'header-unknown']], complete: false},
  'participants_latin1.csv': {dataset: 'participants', rows: 3, valid: 3, issues: [[5, 'encoding']], complete: false},
  'empty.csv': {dataset: null, rows: 0, issues: [[undefined, 'empty-file']], complete: false},
  'binary.csv': {dataset: null, rows: 0, issues: [[1, 'encoding']], complete: false},
  // a dataset of its own (what `cape infer` reads): unknown to the built-in definitions
  'visits.csv': {dataset: null, rows: 0, issues: [[1, 'header-unknown']], complete: false},
}

describe('fixtures', () => {
  it('every file in fixtures/ has an expectation here and in fixtures/README.md', () => {
    const files = readdirSync(fixturesDir, {withFileTypes: true}).filter((f) => f.isFile() && f.name !== 'README.md').map((f) => f.name).sort()
    expect(files).toEqual(Object.keys(expected).sort())
    const readme = fixture('README.md').toString()
    for (const f of files) expect(readme).toContain(`\`${f}\``)
  })

  for (const [name, want] of Object.entries(expected)) {
    for (const chunkSize of [1, 7, 65_536]) {
      it(`${name} (chunks of ${chunkSize} bytes)`, async () => {
        const {report} = await run(fixture(name), {datasets, output: 'csv'}, chunkSize)
        expect(report.dataset).toBe(want.dataset)
        if (want.variant !== undefined) expect(report.variant).toBe(want.variant)
        expect(where(report)).toEqual(want.issues)
        expect(report.rows).toBe(want.rows)
        expect(report.summary.validRows).toBe(want.valid ?? want.rows)
        expect(report.valid).toBe(want.issues.length === 0)
        expect(report.complete).toBe(want.complete ?? true)
        expect(report.errorCount).toBe(want.issues.length)
      })
    }
  }

  it('the legacy variant becomes the canonical file, byte for byte (CSV and parquet)', async () => {
    for (const output of ['csv', 'parquet'] as const) {
      const canonical = await run(fixture('participants.csv'), {datasets, output})
      const legacy = await run(fixture('participants_legacy.csv'), {datasets, output})
      expect(legacy.report.transforms).toEqual(['dob-rename'])
      expect(legacy.output.length).toBeGreaterThan(100)
      expect(legacy.output.equals(canonical.output)).toBe(true)
    }
  })

  it('canonical CSV output is the canonical fixture itself (LF, no BOM, quotes only where needed)', async () => {
    const {output} = await run(fixture('participants.csv'), {datasets, output: 'csv'})
    expect(output.toString('utf8')).toBe(fixture('participants.csv').toString('utf8'))
  })

  it('a CRLF + BOM file gives the same curated bytes as the LF one', async () => {
    const lf = await run(fixture('participants.csv'), {datasets, output: 'csv'})
    const crlf = await run(fixture('participants_crlf_bom.csv'), {datasets, output: 'csv'}, 5)
    expect(crlf.output.equals(lf.output)).toBe(true)
    expect(crlf.output.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf]))).toBe(false)
  })

  it('quoted fields with commas, quotes and newlines survive, re-quoted only where needed', async () => {
    const {output} = await run(fixture('participants_quoted.csv'), {datasets, output: 'csv'})
    expect(output.toString()).toBe([
      'participant_id,given_name,family_name,DOB,site',
      'P001,Ada,"Lovelace, Countess of",1815-12-10,Oslo',
      'P002,"Mary\nAnn","O""Brien",1990-01-15,"Lima, Peru"',
      'P003,"Grace, ""Amazing""","Hopper\nMurray\n(née)",1906-12-09,Nairobi',
      'P004,José,García,1988-05-12,Kampala',
      '',
    ].join('\n'))
  })

  it('line numbers count the physical lines of multi-line quoted fields, with CRLF too', async () => {
    const crlf = Buffer.from('\ufeff' + fixture('participants_bad_dates.csv').toString().replaceAll('\n', '\r\n'))
    const {report} = await run(crlf, {datasets}, 3)
    expect(where(report)).toEqual(expected['participants_bad_dates.csv'].issues)
  })

  it('invalid rows are left out of the curated output', async () => {
    const {output} = await run(fixture('participants_duplicate_id.csv'), {datasets, output: 'csv'})
    const lines = output.toString().trimEnd().split('\n')
    expect(lines.map((l) => l.split(',')[0])).toEqual(['participant_id', 'P001', 'P002', 'P003', 'P004', 'P005'])
  })

  it('renders the bad-dates report as text', async () => {
    const {report} = await run(fixture('participants_bad_dates.csv'), {datasets})
    expect(renderReport(report, {file: 'participants_bad_dates.csv'})).toBe([
      'participants_bad_dates.csv: invalid — dataset participants (variant canonical), 8 rows (3 valid, 5 invalid), 5 problems',
      'participants_bad_dates.csv:4: DOB: "1990-02-30" is not a real calendar date (rule: date)',
      'participants_bad_dates.csv:5: DOB: "2001-13-01" is not a real calendar date (rule: date)',
      'participants_bad_dates.csv:6: DOB: "12/05/1988" is not a date in the form YYYY-MM-DD (rule: date)',
      'participants_bad_dates.csv:8: DOB: "1900-02-29" is not a real calendar date (rule: date)',
      'participants_bad_dates.csv:11: DOB: "1985-06-31" is not a real calendar date (rule: date)',
      'problems by rule: date 5',
    ].join('\n'))
  })

  it('names the column as it is in the file when a variant renames it', async () => {
    const legacyBad = fixture('participants_bad_dates.csv').toString().replace(',DOB,', ',Date of Birth,')
    const {report} = await run(legacyBad, {datasets})
    expect(report.variant).toBe('legacy')
    expect(report.errors[0]).toMatchObject({line: 4, column: 'DOB', sourceColumn: 'Date of Birth', value: '1990-02-30', rule: 'date'})
    expect(renderReport(report, {file: 'f.csv'}).split('\n')[1]).toBe('f.csv:4: DOB ("Date of Birth" in the file): "1990-02-30" is not a real calendar date (rule: date)')
  })

  it('file-level problems say what is wrong and how to fix it', async () => {
    const messages = async (name: string) => (await run(fixture(name), {datasets})).report.errors[0]
    expect(await messages('participants_semicolon.csv')).toMatchObject({message: expect.stringContaining('semicolon-separated (";")'), fatal: true})
    expect(await messages('participants_duplicate_header.csv')).toMatchObject({message: 'column "DOB" appears more than once in the header (columns 4, 6)'})
    expect(await messages('binary.csv')).toMatchObject({message: expect.stringContaining('binary data')})
    expect(await messages('participants_latin1.csv')).toMatchObject({message: 'the file is not valid UTF-8: byte 0xE9 at byte offset 159 (Latin-1/Windows-1252 text?)'})
    expect(await messages('empty.csv')).toMatchObject({message: 'the file is empty'})
    const unknown = await messages('participants_unknown_header.csv')
    expect(unknown.message).toBe('the header matches no known dataset; closest is participants: missing "site"; unexpected "first_name", "Site"')
    expect(unknown.hints).toEqual(expect.arrayContaining([
      '"Site": did you mean "site"?',
      '  participants: participant_id,given_name,family_name,DOB,site',
      '  participants (variant legacy): participant_id,given_name,family_name,Date of Birth,site',
    ]))
  })

  it('--dataset lists each missing and unexpected column', async () => {
    const {report} = await run(fixture('participants_unknown_header.csv'), {datasets, dataset: 'participants'})
    expect(where(report)).toEqual([[1, 'header-missing', 'site'], [1, 'header-unexpected', 'first_name'], [1, 'header-unexpected', 'Site']])
    expect(report.errors[2].message).toBe('column "Site" is not part of dataset participants (did you mean "site"?)')
  })

  it('turns rejected reports into coded CapeErrors with exit inputRejected', async () => {
    const codes: Record<string, string> = {
      'participants_semicolon.csv': 'CSV_DELIMITER',
      'participants_duplicate_header.csv': 'CSV_HEADER_DUPLICATE',
      'participants_unknown_header.csv': 'CSV_HEADER_UNKNOWN',
      'empty.csv': 'CSV_EMPTY',
      'binary.csv': 'CSV_ENCODING',
      'participants_bad_dates.csv': 'CSV_INVALID',
    }
    for (const [name, code] of Object.entries(codes)) {
      const {report} = await run(fixture(name), {datasets})
      const err = reportToError(report, {file: name})
      expect(err, name).toMatchObject({code, exit: 6})
      expect(err?.message.startsWith(`${name}:`)).toBe(true)
    }
    const ok = await run(fixture('participants.csv'), {datasets})
    expect(reportToError(ok.report)).toBeUndefined()
  })
})
