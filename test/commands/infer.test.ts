import {copyFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {repoRoot} from '../helpers/cli.js'
import {localWorkspace, type LocalWorkspace} from '../helpers/platform.js'

describe('cape infer (built CLI, real local platform)', () => {
  let ws: LocalWorkspace
  beforeAll(async () => {
    ws = await localWorkspace({deploy: true})
  }, 180_000)
  afterAll(async () => ws?.stop())

  it('infers types, required and the key; cape validate accepts the file and the dataset ingests', async () => {
    copyFileSync(path.join(repoRoot, 'fixtures/visits.csv'), path.join(ws.cwd, 'visits.csv'))
    const r = await ws.cli(['infer', 'visits.csv', '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json()).toMatchObject({name: 'visits', rows: 3, pass: 'full', uniqueCandidates: []})
    expect(r.json().definition.columns.map((c: any) => [c.name, c.type, c.required, c.unique])).toEqual([
      ['visit_id', 'string', true, true],
      ['participant_id', 'string', true, false],
      ['visit_date', 'date', true, false],
      ['weight_kg', 'number', false, false],
      ['visits', 'integer', true, false],
      ['fasting', 'boolean', true, false],
      ['note', 'string', false, false],
    ])
    const yaml = (await ws.cli(['infer', 'visits.csv'])).stdout
    writeFileSync(path.join(ws.cwd, 'cape.yaml'), yaml)
    const v = await ws.cli(['validate', 'visits.csv', '--json'])
    expect(v.code, v.stdout + v.stderr).toBe(0)
    expect(v.json()).toMatchObject({valid: true})
    const i = await ws.cli(['ingest', 'visits.csv', '--transform', 'local', '--json'])
    expect(i.code, i.stdout + i.stderr).toBe(0)
    expect(i.json().files[0]).toMatchObject({status: 'ingested', dataset: 'visits', rows: 3})
  }, 120_000)

  it('every fixture with a valid header infers a definition its file validates against', async () => {
    for (const name of ['participants.csv', 'participants_missing_site.csv', 'participants_quoted.csv', 'participants_crlf_bom.csv']) {
      copyFileSync(path.join(repoRoot, 'fixtures', name), path.join(ws.cwd, name))
      const yaml = (await ws.cli(['infer', name, '--name', 'people'])).stdout
      writeFileSync(path.join(ws.cwd, 'people.yaml'), yaml)
      const v = await ws.cli(['validate', name, '--dataset', 'people', '--config', 'people.yaml'])
      expect(v.code, `${name}: ${yaml}\n${v.stdout}${v.stderr}`).toBe(0)
    }
    const bad = await ws.cli(['infer', 'missing.csv'])
    expect(bad.code).toBe(4)
    expect(bad.stderr).toContain('missing.csv: no such file')
  }, 120_000)
})
