// Shared by the bench scripts: command-line options, a private workspace for the CLI runs, and running commands there.
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {performance} from 'node:perf_hooks'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** `--name value` from the command line (a string), or `def`. */
export function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? def : process.argv[i + 1]
}

/** A numeric `--name value`, or `def`. */
export const numArg = (name, def) => Number(arg(name, def))

/**
 * A temp folder for one bench and the environment its CLI runs get: the host's AWS_* and CAPE_* settings removed,
 * the local platform's data and AWS config files inside the folder.
 */
export function benchWorkspace(name) {
  const work = mkdtempSync(path.join(tmpdir(), `cape-bench-${name}-`))
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(AWS_|CAPE_)/.test(k))),
    CAPE_HOME: path.join(work, '.cape'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(work, 'aws-credentials'),
    AWS_CONFIG_FILE: path.join(work, 'aws-config'),
    NO_COLOR: '1',
  }
  return {work, env}
}

const vmHwmKb = (pid) => {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) : 0
  } catch {
    return 0
  }
}

/**
 * Commands run in a workspace: `run(cmd, args, extraEnv)` resolves {code, stdout, stderr, started (epoch ms), ms,
 * seconds, peakMB — the child's peak RSS, sampled from VmHWM (a high-water mark: the last sample is the peak)};
 * `cape(...args)` runs the built CLI; `must(result, what)` throws unless it exited 0; `stopPlatform()` stops the
 * workspace's local platform (synchronously: for a `finally`).
 */
export function benchCommands({work, env}) {
  const run = (cmd, args, extraEnv = {}) =>
    new Promise((resolve, reject) => {
      const started = Date.now()
      const t0 = performance.now()
      const child = spawn(cmd, args, {cwd: work, env: {...env, ...extraEnv}, stdio: ['ignore', 'pipe', 'pipe']})
      let stdout = ''
      let stderr = ''
      let peakKb = 0
      const timer = setInterval(() => (peakKb = Math.max(peakKb, vmHwmKb(child.pid))), 20)
      child.stdout.on('data', (d) => (stdout += d))
      child.stderr.on('data', (d) => (stderr += d))
      child.on('error', reject)
      child.on('exit', () => clearInterval(timer))
      child.on('close', (code) => {
        const ms = performance.now() - t0
        resolve({code, stdout, stderr, started, ms, seconds: ms / 1000, peakMB: peakKb / 1024})
      })
    })
  const cape = (...args) => run(process.execPath, [path.join(root, 'bin/run.js'), ...args])
  const must = (r, what) => {
    if (r.code !== 0) throw new Error(`${what} failed (${r.code}):\n${r.stdout.slice(0, 2000)}\n${r.stderr.slice(0, 2000)}`)
    return r
  }
  const stopPlatform = () => spawnSync(process.execPath, [path.join(root, 'bin/run.js'), 'local', 'stop'], {cwd: work, env})
  return {run, cape, must, stopPlatform}
}
