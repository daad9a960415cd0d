import {writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {runCli, tempDir} from '../helpers/cli.js'
import {BROKEN_FIXTURES} from '../helpers/fixtures.js'

const fx = (name: string) => `fixtures/${name}`
const where = (file: any) => file.errors.map((e: any) => [e.line, e.rule, ...(e.column && !e.rule.startsWith('header') ? [e.column] : [])])

describe('cape validate', () => {
  it('valid files: both variants, BOM+CRLF, quoted newlines, header only — exit 0 and a summary', async () => {
    const r = await runCli(['validate', fx('participants.csv'), fx('participants_legacy.csv'), fx('participants_crlf_bom.csv'), fx('participants_quoted.csv'), fx('participants_header_only.csv')])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('✓ fixtures/participants_legacy.csv: valid — dataset participants (variant legacy, transforms: dob-rename), 20 rows')
    expect(r.stdout).toContain('5 files checked: all valid.')
  })

  it('--json: one report per file with dataset, variant, rows', async () => {
    const r = await runCli(['validate', fx('participants_legacy.csv'), fx('participants_quoted.csv'), '--json'])
    expect(r.code).toBe(0)
    expect(r.json()).toMatchObject({
      valid: true,
      counts: {files: 2, valid: 2, invalid: 0},
      files: [
        {file: fx('participants_legacy.csv'), dataset: 'participants', variant: 'legacy', rows: 20, valid: true, errors: []},
        {file: fx('participants_quoted.csv'), variant: 'canonical', rows: 4, valid: true},
      ],
    })
  })

  it('every broken fixture: exit 6, each problem with line, column and rule (never a crash)', async () => {
    const names = Object.keys(BROKEN_FIXTURES)
    const r = await runCli(['validate', ...names.map(fx), '--json'])
    expect(r.code, r.stderr).toBe(6)
    const out = r.json()
    expect(out).toMatchObject({valid: false, counts: {files: names.length, valid: 0, invalid: names.length}})
    for (const [i, name] of names.entries()) {
      expect(out.files[i].file).toBe(fx(name))
      expect(where(out.files[i]), name).toEqual(BROKEN_FIXTURES[name].map((w) => (w[2] === undefined ? [w[0], w[1]] : w)))
    }
    const date = out.files[0].errors[2]
    expect(date).toMatchObject({line: 6, column: 'DOB', value: '12/05/1988', rule: 'date', message: expect.stringContaining('YYYY-MM-DD')})
  })

  it('human output names file:line, column, value and rule; exit 6', async () => {
    const r = await runCli(['validate', fx('participants_bad_dates.csv'), fx('participants.csv')])
    expect(r.code).toBe(6)
    expect(r.stdout).toContain('fixtures/participants_bad_dates.csv:6: DOB: "12/05/1988" is not a date in the form YYYY-MM-DD (rule: date)')
    expect(r.stdout).toContain('2 files checked: 1 valid, 1 invalid.')
  })

  it('--max-errors lists fewer problems but counts them all; --dataset lists missing and unexpected columns', async () => {
    const r = await runCli(['validate', fx('participants_bad_dates.csv'), '--max-errors', '2', '--json'])
    expect(r.json().files[0]).toMatchObject({errorCount: 5, errors: [{line: 4}, {line: 5}]})
    const d = await runCli(['validate', fx('participants_unknown_header.csv'), '--dataset', 'participants', '--json'])
    expect(d.code).toBe(6)
    expect(d.json().files[0].errors.map((e: any) => [e.rule, e.column])).toEqual(
      expect.arrayContaining([['header-missing', 'site'], ['header-unexpected', 'first_name'], ['header-unexpected', 'Site']]),
    )
  })

  it('a folder, a quoted glob; a missing file is exit 4; an unknown dataset exit 2', async () => {
    const dir = tempDir()
    writeFileSync(path.join(dir, 'a.csv'), 'participant_id,site\nP1,Oslo\n')
    writeFileSync(path.join(dir, 'b.csv'), 'participant_id,site\nP1,\n')
    const r = await runCli(['validate', dir, '--json'])
    expect(r.json().counts).toEqual({files: 2, valid: 1, invalid: 1})
    const g = await runCli(['validate', `${dir}/a*.csv`, '--json'])
    expect(g.code).toBe(0)
    expect(g.json().files.map((f: any) => path.basename(f.file))).toEqual(['a.csv'])
    const missing = await runCli(['validate', 'nope.csv', '--json'])
    expect(missing.code).toBe(4)
    expect(missing.json().error.code).toBe('SOURCE_NOT_FOUND')
    const unknown = await runCli(['validate', fx('participants.csv'), '--dataset', 'nope'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('unknown dataset "nope"')
  })
})
