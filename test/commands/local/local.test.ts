import {existsSync, statSync} from 'node:fs'
import path from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {runCli, tempDir} from '../../helpers/cli.js'

const cwd = tempDir()
const env = {CAPE_HOME: path.join(cwd, 'state')}
const cli = (args: string[]) => runCli([...args, '--json'], {cwd, env})

afterAll(async () => {
  await runCli(['local', 'stop'], {cwd, env})
})

describe('cape local', () => {
  it('status says not running before anything started it', async () => {
    const r = await cli(['local', 'status'])
    expect(r.code).toBe(0)
    expect(r.json()).toMatchObject({running: false, dataDir: env.CAPE_HOME})
  })

  it('start --detach runs the platform on 127.0.0.1 and status reports it', async () => {
    const start = await cli(['local', 'start', '--detach', '--port', '0'])
    expect(start.code, start.stderr).toBe(0)
    expect(start.json().endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const status = await cli(['local', 'status'])
    expect(status.json()).toMatchObject({running: true, endpoint: start.json().endpoint, counts: {buckets: 0, stacks: 0}})
    expect(statSync(path.join(env.CAPE_HOME, 'admin-credentials.json')).mode & 0o777).toBe(0o600)
    expect(statSync(env.CAPE_HOME).mode & 0o777).toBe(0o700)
  })

  it('env prints exports for the admin identity, usable by the SDK', async () => {
    const r = await runCli(['local', 'env'], {cwd, env})
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^export AWS_ENDPOINT_URL=http:\/\/127\.0\.0\.1:\d+$/m)
    expect(r.stdout).toMatch(/^export AWS_ACCESS_KEY_ID=AKIA[A-Z0-9]{16}$/m)
    // a secret may hold shell metacharacters (`+`, `/`): the exports must survive eval as they are
    const {execFileSync} = await import('node:child_process')
    const {readFileSync} = await import('node:fs')
    const evaluated = execFileSync('bash', ['-c', 'eval "$EXPORTS"; printf %s "$AWS_SECRET_ACCESS_KEY"'], {env: {PATH: process.env.PATH, EXPORTS: r.stdout}}).toString()
    expect(evaluated).toBe(JSON.parse(readFileSync(path.join(env.CAPE_HOME, 'admin-credentials.json'), 'utf8')).secretAccessKey)
    expect(r.stdout).toMatch(/^export AWS_REGION=us-east-1$/m)
  })

  it('reset without --yes and without a TTY is refused with the confirmation code, naming --yes', async () => {
    const r = await runCli(['local', 'reset'], {cwd, env})
    expect(r.code).toBe(7)
    expect(r.stderr).toMatch(/--yes/)
    const j = await cli(['local', 'reset'])
    expect(j.code).toBe(7)
    expect(j.json().error).toMatchObject({code: 'CONFIRMATION_REQUIRED', hints: [expect.stringContaining('--yes')]})
    expect(existsSync(path.join(env.CAPE_HOME, 'platform.json'))).toBe(true)
  })

  it('reset --yes stops the platform and removes its state', async () => {
    const r = await cli(['local', 'reset', '--yes'])
    expect(r.code, r.stderr).toBe(0)
    expect(existsSync(path.join(env.CAPE_HOME, 'platform.json'))).toBe(false)
    expect((await cli(['local', 'status'])).json().running).toBe(false)
  })

  it('a local command starts the platform in the background, saying so on stderr, then reuses it', async () => {
    const first = await runCli(['local', 'env'], {cwd, env})
    expect(first.stderr).toMatch(/Started the local platform at http:\/\/127\.0\.0\.1:\d+/)
    const second = await runCli(['local', 'env'], {cwd, env})
    expect(second.stderr).not.toMatch(/Started/)
    expect(second.stdout).toBe(first.stdout)
    const stop = await cli(['local', 'stop'])
    expect(stop.json()).toMatchObject({stopped: true})
  })
})

describe('cape local with a busy port', () => {
  it('picks a free port instead and records it in run.json', async () => {
    const {createServer} = await import('node:net')
    const blocker = createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r))
    const busy = (blocker.address() as {port: number}).port
    const dir = tempDir()
    const e = {CAPE_HOME: path.join(dir, 'state')}
    try {
      const r = await runCli(['local', 'start', '--detach', '--port', String(busy), '--json'], {cwd: dir, env: e})
      expect(r.code, r.stderr).toBe(0)
      expect(r.json().port).not.toBe(busy)
      const status = await runCli(['local', 'status', '--json'], {cwd: dir, env: e})
      expect(status.json()).toMatchObject({running: true, port: r.json().port})
    } finally {
      await runCli(['local', 'stop'], {cwd: dir, env: e})
      blocker.close()
    }
  })
})

describe('cape local start in the foreground', () => {
  it('serves until Ctrl-C, then stops cleanly and removes run.json', async () => {
    const {spawn} = await import('node:child_process')
    const {cliBin, cleanEnv} = await import('../../helpers/cli.js')
    const dir = tempDir()
    const home = path.join(dir, 'state')
    const child = spawn(process.execPath, [cliBin, 'local', 'start', '--port', '0'], {cwd: dir, env: cleanEnv({CAPE_HOME: home})})
    let err = ''
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d))
    const deadline = Date.now() + 30_000
    while (!/listening on http:\/\/127\.0\.0\.1:\d+/.test(err) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    expect(existsSync(path.join(home, 'run.json'))).toBe(true)
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
    child.kill('SIGINT')
    expect(await exited).toBe(0)
    expect(err).toMatch(/stopped/)
    expect(existsSync(path.join(home, 'run.json'))).toBe(false)
  })
})
