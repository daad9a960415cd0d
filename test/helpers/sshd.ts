import {execFileSync, spawn, type ChildProcess} from 'node:child_process'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {createServer, connect} from 'node:net'
import {userInfo} from 'node:os'
import path from 'node:path'
import {tempDir} from './cli.js'

/**
 * A real OpenSSH server for SFTP tests: Debian's /usr/sbin/sshd on 127.0.0.1 and a free port, with its own host key,
 * config and authorized_keys in a temp folder; logs in the current user with a fresh ed25519 key.
 */
export interface Sshd {
  host: string
  port: number
  user: string
  /** A temp folder for the test's files (absolute; sftp paths are absolute). */
  files: string
  /** Private key the server accepts. */
  clientKey: string
  /** A known_hosts file with the server's host key. */
  knownHosts: string
  /** The host key's `SHA256:…` fingerprint (as ssh-keygen -l prints it). */
  fingerprint: string
  url(pathOnServer: string): string
  stop(): Promise<void>
}

export const SSHD = '/usr/sbin/sshd'

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const {port} = s.address() as {port: number}
      s.close(() => resolve(port))
    })
  })
}

const canConnect = (port: number) =>
  new Promise<boolean>((resolve) => {
    const c = connect(port, '127.0.0.1')
    c.once('data', () => {
      c.destroy()
      resolve(true)
    })
    c.once('error', () => resolve(false))
    setTimeout(() => {
      c.destroy()
      resolve(false)
    }, 500)
  })

export async function startSshd(): Promise<Sshd> {
  const dir = tempDir('cape-sshd-')
  const files = path.join(dir, 'files')
  mkdirSync(files)
  mkdirSync('/run/sshd', {recursive: true})
  const hostKey = path.join(dir, 'host_ed25519')
  const clientKey = path.join(dir, 'client_ed25519')
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey])
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', clientKey])
  const authorized = path.join(dir, 'authorized_keys')
  writeFileSync(authorized, readFileSync(`${clientKey}.pub`))
  const port = await freePort()
  const config = path.join(dir, 'sshd_config')
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorized}`,
      'UsePAM no',
      'StrictModes no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  )
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', config], {stdio: ['ignore', 'ignore', 'pipe']})
  let log = ''
  child.stderr!.setEncoding('utf8').on('data', (d) => (log += d))
  const deadline = Date.now() + 10_000
  while (!(await canConnect(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`sshd did not start (exit ${child.exitCode}):\n${log}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  const pub = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/)
  const knownHosts = path.join(dir, 'known_hosts')
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${pub[0]} ${pub[1]}\n`)
  const fingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${hostKey}.pub`], {encoding: 'utf8'}).split(/\s+/)[1]
  const user = userInfo().username
  return {
    host: '127.0.0.1',
    port,
    user,
    files,
    clientKey,
    knownHosts,
    fingerprint,
    url: (p) => `sftp://${user}@127.0.0.1:${port}${p}`,
    async stop() {
      if (child.exitCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await exited
    },
  }
}
