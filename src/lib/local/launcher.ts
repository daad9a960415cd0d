import {spawn} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, openSync, closeSync, readFileSync, rmSync} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'
import path from 'node:path'
import {CapeError} from '../cli/errors.js'
import {ExitCode} from '../cli/exit-codes.js'
import type {Reporter} from '../reporter.js'

export const DEFAULT_PORT = 4599

/** Written by the platform process when it listens; removed when it stops. */
export interface RunInfo {
  pid: number
  port: number
  endpoint: string
  dataDir: string
  startedAt: string
}

export interface LocalIdentity {
  endpoint: string
  region: string
  accountId: string
  adminCredentials: {accessKeyId: string; secretAccessKey: string}
}

/** The data dir holds objects, keys and logs: only its owner may read it. */
export function privateDir(dir: string): void {
  mkdirSync(dir, {recursive: true, mode: 0o700})
  chmodSync(dir, 0o700)
}

export const runFile = (dataDir: string) => path.join(dataDir, 'run.json')
export const logFile = (dataDir: string) => path.join(dataDir, 'platform.log')

export function readRunInfo(dataDir: string): RunInfo | undefined {
  try {
    return JSON.parse(readFileSync(runFile(dataDir), 'utf8')) as RunInfo
  } catch {
    return undefined
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Alive = the recorded process exists and its port answers HTTP. */
export async function isAlive(info: RunInfo | undefined): Promise<boolean> {
  if (!info || !pidAlive(info.pid)) return false
  try {
    const res = await fetch(`${info.endpoint}/`, {method: 'GET', signal: AbortSignal.timeout(2000)})
    await res.arrayBuffer()
    return true
  } catch {
    return false
  }
}

export function readIdentity(dataDir: string, endpoint: string): LocalIdentity {
  const platform = JSON.parse(readFileSync(path.join(dataDir, 'platform.json'), 'utf8')) as {accountId: string; region: string}
  const admin = JSON.parse(readFileSync(path.join(dataDir, 'admin-credentials.json'), 'utf8')) as {
    accessKeyId: string
    secretAccessKey: string
  }
  return {
    endpoint,
    region: platform.region,
    accountId: platform.accountId,
    adminCredentials: {accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey},
  }
}

/** The platform process entry (daemon.js next to this file; daemon.ts when running from source). */
function daemonEntry(): {script: string; execArgv: string[]} {
  const here = fileURLToPath(import.meta.url)
  const ext = path.extname(here)
  const script = path.join(path.dirname(here), `daemon${ext}`)
  return {script, execArgv: ext === '.ts' ? ['--import', 'tsx'] : []}
}

/** Start the platform as a detached background process and wait until it answers. */
export async function startDetached(options: {dataDir: string; port?: number; timeoutMs?: number}): Promise<RunInfo> {
  const {dataDir} = options
  privateDir(dataDir)
  const stale = readRunInfo(dataDir)
  if (stale && !(await isAlive(stale))) rmSync(runFile(dataDir), {force: true})
  const {script, execArgv} = daemonEntry()
  const log = openSync(logFile(dataDir), 'a')
  const args = [...execArgv, script, '--data-dir', dataDir, ...(options.port === undefined ? [] : ['--port', String(options.port)])]
  const child = spawn(process.execPath, args, {detached: true, stdio: ['ignore', log, log], env: {...process.env}})
  closeSync(log)
  let exited: number | null = null
  child.once('exit', (code) => (exited = code ?? 1))
  child.unref()
  const deadline = Date.now() + (options.timeoutMs ?? 20_000)
  while (Date.now() < deadline) {
    const info = readRunInfo(dataDir)
    if (info && info.pid === child.pid && (await isAlive(info))) return info
    if (exited !== null) break
    await sleep(50)
  }
  if (exited === null) child.kill('SIGTERM')
  const tail = existsSync(logFile(dataDir)) ? readFileSync(logFile(dataDir), 'utf8').trim().split('\n').slice(-5).join('\n') : ''
  throw new CapeError('LOCAL_START_FAILED', `The local platform did not start${exited === null ? ' in time' : ` (exit ${exited})`}.`, {
    exit: ExitCode.unexpected,
    hints: [`See ${logFile(dataDir)}${tail ? `:\n${tail}` : ''}`],
  })
}

/**
 * Make sure the local platform for dataDir runs; start it in the background if not (one line on stderr).
 */
export async function ensureLocalPlatform(options: {dataDir: string; reporter: Reporter; port?: number}): Promise<LocalIdentity> {
  const {dataDir, reporter} = options
  let info = readRunInfo(dataDir)
  if (!(await isAlive(info))) {
    info = await startDetached({dataDir, port: options.port ?? DEFAULT_PORT})
    reporter.notify({
      code: 'local.started',
      level: 'notice',
      message: `Started the local platform at ${info.endpoint} (data: ${path.relative(process.cwd(), dataDir) || '.'}; stop it with \`cape local stop\`).`,
      data: {...info},
    })
  }
  return readIdentity(dataDir, info!.endpoint)
}

/** Stop a running platform (SIGTERM, then wait for it to remove its run file). Returns false when none ran. */
export async function stopPlatform(dataDir: string, timeoutMs = 10_000): Promise<RunInfo | undefined> {
  const info = readRunInfo(dataDir)
  if (!info || !pidAlive(info.pid)) {
    rmSync(runFile(dataDir), {force: true})
    return undefined
  }
  process.kill(info.pid, 'SIGTERM')
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (!pidAlive(info.pid)) break
    await sleep(50)
  }
  if (pidAlive(info.pid)) process.kill(info.pid, 'SIGKILL')
  rmSync(runFile(dataDir), {force: true})
  return info
}
