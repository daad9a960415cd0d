import {randomBytes} from 'node:crypto'
import {writeFileSync} from 'node:fs'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {repoRoot, runCli, tempDir, type CliResult} from '../helpers/cli.js'

/**
 * Phase 1 on a real AWS account, under a unique prefix: deploy, access check, one ingest, one request, destroy.
 * Runs only with CAPE_LIVE_AWS=1 and the standard AWS credential chain (AWS_PROFILE or AWS_* variables; AWS_REGION).
 */
const live = process.env.CAPE_LIVE_AWS === '1'
if (!live) console.log('live AWS suite skipped: set CAPE_LIVE_AWS=1 (and AWS credentials + AWS_REGION) to run it')

describe.runIf(live)('phase 1 on real AWS (CAPE_LIVE_AWS=1)', () => {
  const id = `live${randomBytes(3).toString('hex')}`
  const cwd = tempDir('cape-live-')
  // the CLI gets the caller's AWS settings, not the test process's CAPE_* ones
  const aws = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('AWS_')))
  const cli = (args: string[]): Promise<CliResult> => runCli([...args, '--env', 'live'], {cwd, env: {...aws, CAPE_HOME: path.join(cwd, '.cape')}, timeoutMs: 25 * 60_000})
  let deployed = false

  beforeAll(() => {
    const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'eu-west-2'
    writeFileSync(path.join(cwd, 'cape.yaml'), [
      'environments:',
      '  live:',
      '    target: aws',
      `    region: ${region}`,
      `    stackPrefix: cape-${id}`,
      '    parameters:',
      `      phase1: {UserPrefix: ${id}-}`,
      '',
    ].join('\n'))
  })

  afterAll(async () => {
    if (deployed) await cli(['destroy', 'phase1', '--yes', '--json'])
  })

  it('deploys, proves access, ingests, answers a request', async () => {
    const d = await cli(['deploy', 'phase1', '--yes', '--json'])
    deployed = true
    expect(d.code, d.stderr).toBe(0)
    const access = await cli(['access', 'check', '--json'])
    expect(access.code, access.stdout).toBe(0)
    const ingest = await cli(['ingest', path.join(repoRoot, 'fixtures/participants_legacy.csv'), '--json'])
    expect(ingest.code, ingest.stderr).toBe(0)
    const request = path.join(cwd, 'request.json')
    writeFileSync(request, JSON.stringify({dataset: 'participants', columns: ['participant_id', 'DOB'], limit: 5}))
    const r = await cli(['request', 'submit', request, '--out', path.join(cwd, 'results'), '--timeout', '10m', '--json'])
    expect(r.code, r.stderr).toBe(0)
  })
})
