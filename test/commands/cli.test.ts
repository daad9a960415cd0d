import {readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {execFileSync} from 'node:child_process'
import {pathToFileURL} from 'node:url'
import {cleanEnv, cliBin, repoRoot, runCli, tempDir} from '../helpers/cli.js'

describe('the built CLI', () => {
  it('--help lists topics and the exit-code table', async () => {
    const r = await runCli(['--help'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/EXIT CODES/)
    expect(r.stdout).toMatch(/^\s+7\s+confirmation required/m)
    expect(r.stdout).toMatch(/^\s+130\s+interrupted/m)
    expect(r.stdout).toMatch(/Precedence: flag > environment variable > cape\.yaml > default/)
  })

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(path.join(__dirname, '../../package.json'), 'utf8'))
    const r = await runCli(['--version'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain(`cape/${pkg.version}`)
  })

  it('--version answers from its fast path exactly what oclif prints', async () => {
    const fast = await runCli(['--version'])
    // the same argv through oclif itself (bin/run.js's fast path skipped)
    const viaOclif = execFileSync(process.execPath, ['--input-type=module', '-e',
      `const {main} = await import(${JSON.stringify(pathToFileURL(path.join(repoRoot, 'dist/lib/cli/run.js')).href)}); await main(['--version'], ${JSON.stringify(pathToFileURL(cliBin).href)})`,
    ], {encoding: 'utf8', env: cleanEnv()})
    expect(viaOclif).toMatch(/^cape\/\S+ \S+ node-v\S+\n$/)
    expect(fast.stdout).toBe(viaOclif)
  })

  it('the live AWS suite skips cleanly without CAPE_LIVE_AWS', () => {
    const out = execFileSync('npm', ['run', '--silent', 'test:live'], {cwd: repoRoot, encoding: 'utf8', env: cleanEnv()})
    expect(out).toMatch(/live AWS suite skipped: set CAPE_LIVE_AWS=1/)
    expect(out).toMatch(/1 skipped/)
  })

  it('an unknown command exits with the usage code and suggests the closest one', async () => {
    const r = await runCli(['confg', 'show'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('Did you mean `cape config show`?')
  })

  it('an unknown command under --json prints the error envelope', async () => {
    const r = await runCli(['confg', 'show', '--json'])
    expect(r.code).toBe(2)
    expect(r.json().error).toMatchObject({code: 'COMMAND_NOT_FOUND', hints: expect.arrayContaining([expect.stringContaining('config show')])})
  })

  it('a bad flag is a usage error (exit 2), as JSON too', async () => {
    const r = await runCli(['config', 'show', '--bogus', '--json'])
    expect(r.code).toBe(2)
    expect(r.json()).toEqual({error: {code: 'USAGE', message: expect.stringContaining('--bogus'), hints: expect.any(Array)}})
  })

  it('a failing command under --json prints {"error": {code, message, hints}} and exits with its code', async () => {
    const r = await runCli(['config', 'show', '--env', 'prod', '--json'], {cwd: tempDir()})
    expect(r.code).toBe(3)
    expect(r.stderr).toBe('')
    expect(r.json()).toEqual({
      error: {code: 'ENV_NOT_FOUND', message: expect.stringContaining('"prod"'), hints: expect.arrayContaining([expect.stringContaining('local')])},
    })
  })

  it('the same failure without --json is pretty on stderr, nothing on stdout', async () => {
    const r = await runCli(['config', 'show', '--env', 'prod'], {cwd: tempDir()})
    expect(r.code).toBe(3)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/✗ Environment "prod"/)
    expect(r.stderr).toMatch(/code: ENV_NOT_FOUND/)
    expect(r.stderr).not.toContain('\u001B[') // NO_COLOR
  })

  it('config show reports each value and where it came from (flag > env > cape.yaml > default)', async () => {
    const cwd = tempDir()
    writeFileSync(path.join(cwd, 'cape.yaml'), 'environments:\n  dev:\n    target: aws\n    region: eu-west-2\n    profile: from-file\n')
    const r = await runCli(['config', 'show', '--json', '--env', 'dev', '--profile', 'from-flag'], {cwd, env: {AWS_REGION: 'eu-central-1'}})
    expect(r.code, r.stderr).toBe(0)
    const values = Object.fromEntries(r.json().values.map((v: any) => [v.key, v]))
    expect(values.environment).toMatchObject({value: 'dev', source: 'flag'})
    expect(values.region).toMatchObject({value: 'eu-central-1', source: 'env', from: 'AWS_REGION'})
    expect(values.profile).toMatchObject({value: 'from-flag', source: 'flag'})
    expect(values.stackPrefix).toMatchObject({value: 'cape', source: 'default'})
    expect(r.json().stackNames.phase1).toBe('cape-dev-phase1')
  })

  it('init writes a cape.yaml that config show reads, and refuses to overwrite it', async () => {
    const cwd = tempDir()
    const init = await runCli(['init', '--target', 'aws', '--name', 'dev', '--region', 'eu-west-2', '--json'], {cwd})
    expect(init.code).toBe(0)
    expect(init.json()).toMatchObject({environments: ['local', 'dev'], defaultEnv: 'local'})
    const show = await runCli(['config', 'show', '--env', 'dev', '--json'], {cwd})
    expect(show.json().values.find((v: any) => v.key === 'region')).toMatchObject({value: 'eu-west-2', source: 'cape.yaml'})
    const again = await runCli(['init', '--json'], {cwd})
    expect(again.code).toBe(2)
    expect(again.json().error.code).toBe('CONFIG_EXISTS')
  })
})

describe('README', () => {
  it('documents exactly the exit-code table of src/lib/cli/exit-codes.ts', async () => {
    const {exitCodeTable} = await import('../../src/lib/cli/exit-codes.js')
    const readme = readFileSync(path.join(__dirname, '../../README.md'), 'utf8')
    for (const e of exitCodeTable) expect(readme).toContain(`| ${String(e.code).padEnd(4)} | ${e.meaning} |`)
  })
})
