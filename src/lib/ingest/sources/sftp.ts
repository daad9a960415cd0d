import {existsSync, readFileSync} from 'node:fs'
import {posix} from 'node:path'
import picomatch from 'picomatch'
import type {ConnectConfig, FileEntryWithStats, SFTPWrapper, Stats} from 'ssh2'
import {CapeError, notFoundError, usageError} from '../../cli/errors.js'
import {ExitCode} from '../../cli/exit-codes.js'
import {checkHostKey, hostKeyError, knownKeyTypes, parseKnownHosts, type HostKeyCheck} from '../known-hosts.js'

/** `sftp://user@host[:port]/path-or-glob` parsed. `/~/x` is relative to the login folder, any other path absolute. */
export interface SftpUrl {
  user: string
  host: string
  port: number
  path: string
  /** The URL as shown to people and stored as the object's source (never holds a password). */
  display: string
}

export const isSftpUrl = (s: string) => /^sftp:\/\//i.test(s)

export function parseSftpUrl(input: string, defaultUser?: string): SftpUrl {
  const m = /^sftp:\/\/(?:([^@/]+)@)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?(\/.*)?$/i.exec(input)
  if (!m) throw usageError(`"${input}" is not an SFTP URL.`, ['Write sftp://user@host[:port]/path, e.g. sftp://alice@files.example.org/exports/*.csv'])
  const [, userPart, hostPart, portPart, pathPart] = m
  if (userPart?.includes(':')) throw usageError(`${input}: passwords in SFTP URLs are not accepted.`, ['Authenticate with ssh-agent (SSH_AUTH_SOCK) or --identity FILE.'])
  const user = userPart ? decodeURIComponent(userPart) : defaultUser
  if (!user) throw usageError(`${input}: the URL names no user.`, ['Write sftp://user@host/path.'])
  const host = hostPart.replace(/^\[|\]$/g, '')
  const port = portPart ? Number(portPart) : 22
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw usageError(`${input}: bad port ${portPart}.`)
  let path = decodeURIComponent(pathPart ?? '/~/')
  if (path === '/~' || path.startsWith('/~/')) path = path.slice(3) || '.'
  const display = `sftp://${user}@${hostPart}${port === 22 ? '' : `:${port}`}${pathPart ?? '/'}`
  return {user, host, port, path, display}
}

export interface SftpAuth {
  /** Private key file (`--identity`). */
  identityFile?: string
  /** ssh-agent socket (the command passes SSH_AUTH_SOCK). */
  agentSocket?: string
  /** Tried when neither of the above is given, like ssh does (~/.ssh/id_ed25519, id_ecdsa, id_rsa). */
  defaultIdentityFiles?: string[]
  /** `--known-hosts`, default ~/.ssh/known_hosts. */
  knownHostsFile: string
  readyTimeoutMs?: number
}

export interface RemoteFile {
  /** The file's path on the server (as sftp sees it). */
  path: string
  name: string
  size: number
  /** sftp://user@host:port/<path> */
  source: string
}

/** One SFTP connection (one per user@host:port in a run). */
export interface SftpSession {
  list(url: SftpUrl): Promise<RemoteFile[]>
  download(file: RemoteFile, localPath: string, onBytes?: (n: number) => void): Promise<void>
  close(): void
}

const isCsv = (name: string) => name.toLowerCase().endsWith('.csv')

function readKnownHosts(file: string) {
  try {
    return parseKnownHosts(readFileSync(file, 'utf8'))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
}

/** The server host key algorithms to prefer: those known_hosts has a key of (else the server might offer another). */
function preferredHostKeyAlgorithms(types: string[]): string[] {
  const out: string[] = []
  for (const t of types) {
    if (t === 'ssh-rsa') out.push('rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa')
    else out.push(t)
  }
  return out
}

function authConfig(auth: SftpAuth, where: string): Pick<ConnectConfig, 'agent' | 'privateKey'> {
  if (auth.identityFile) {
    try {
      return {privateKey: readFileSync(auth.identityFile), ...(auth.agentSocket ? {agent: auth.agentSocket} : {})}
    } catch (error) {
      throw new CapeError('SFTP_IDENTITY', `Cannot read the identity file ${auth.identityFile}: ${(error as Error).message}`, {exit: ExitCode.config})
    }
  }
  if (auth.agentSocket) return {agent: auth.agentSocket}
  const fallback = (auth.defaultIdentityFiles ?? []).find((f) => existsSync(f))
  if (fallback) return {privateKey: readFileSync(fallback)}
  throw new CapeError('SFTP_NO_CREDENTIALS', `No SSH key to log in to ${where} with.`, {
    exit: ExitCode.config,
    hints: ['Start ssh-agent and add your key (ssh-add), or pass --identity FILE.'],
  })
}

function connectError(error: Error & {level?: string; code?: string}, url: SftpUrl, check: HostKeyCheck | undefined, auth: SftpAuth): CapeError {
  if (check && check.status !== 'known') return hostKeyError(check, url.host, url.port, auth.knownHostsFile)
  const where = `${url.user}@${url.host}:${url.port}`
  if (error.level === 'client-authentication') {
    return new CapeError('SFTP_AUTH_FAILED', `The SFTP server ${url.host}:${url.port} refused the key(s) offered for ${url.user}.`, {
      exit: ExitCode.config,
      hints: ['Check the user name and that your public key is in its ~/.ssh/authorized_keys on the server.', 'Pass the right key with --identity FILE, or add it to ssh-agent (ssh-add).'],
      cause: error,
    })
  }
  if (/encrypted/i.test(error.message) || /passphrase/i.test(error.message)) {
    return new CapeError('SFTP_IDENTITY', `The private key is encrypted: ${error.message}`, {exit: ExitCode.config, hints: ['Add it to ssh-agent (ssh-add FILE) and retry without --identity.']})
  }
  return new CapeError('SFTP_CONNECT_FAILED', `Cannot connect to ${where}: ${error.code ?? ''} ${error.message}`.replace(/\s+/g, ' ').trim(), {
    exit: ExitCode.remoteFailed,
    hints: ['Check the host name and port, and that the server runs SSH with the sftp subsystem.'],
    cause: error,
  })
}

/** Connect and open the sftp subsystem, checking the host key against known_hosts first. */
export async function openSftp(url: SftpUrl, auth: SftpAuth, signal?: AbortSignal): Promise<SftpSession> {
  const known = readKnownHosts(auth.knownHostsFile)
  const preferred = preferredHostKeyAlgorithms(knownKeyTypes(known, url.host, url.port))
  let check: HostKeyCheck | undefined
  const {Client} = await import('ssh2') // loaded only when there is an sftp:// source
  const client = new Client()
  const config: ConnectConfig = {
    host: url.host,
    port: url.port,
    username: url.user,
    readyTimeout: auth.readyTimeoutMs ?? 20_000,
    ...authConfig(auth, `${url.user}@${url.host}:${url.port}`),
    ...(preferred.length > 0 ? {algorithms: {serverHostKey: {prepend: preferred}}} as Pick<ConnectConfig, 'algorithms'> : {}),
    hostVerifier: (key: Buffer) => {
      check = checkHostKey(known, url.host, url.port, key)
      return check.status === 'known'
    },
  }
  const sftp = await new Promise<SFTPWrapper>((resolve, reject) => {
    const onAbort = () => {
      client.end()
      reject(signal?.reason ?? new Error('aborted'))
    }
    signal?.addEventListener('abort', onAbort, {once: true})
    client.once('error', (e) => {
      signal?.removeEventListener('abort', onAbort)
      reject(connectError(e, url, check, auth))
    })
    client.once('ready', () => {
      client.sftp((err, s) => {
        signal?.removeEventListener('abort', onAbort)
        if (err) {
          client.end()
          reject(new CapeError('SFTP_SUBSYSTEM', `${url.host}:${url.port} accepted the login but has no sftp subsystem: ${err.message}`, {exit: ExitCode.remoteFailed}))
        } else resolve(s)
      })
    })
    client.connect(config)
  })
  client.on('error', () => {}) // later errors surface through the sftp calls

  const stat = (p: string) =>
    new Promise<Stats | undefined>((resolve, reject) =>
      sftp.stat(p, (err, st) => (err ? ((err as {code?: number}).code === 2 ? resolve(undefined) : reject(err)) : resolve(st))),
    )
  const readdir = (p: string) =>
    new Promise<FileEntryWithStats[]>((resolve, reject) =>
      sftp.readdir(p, (err, list) => (err ? ((err as {code?: number}).code === 2 ? resolve([]) : reject(err)) : resolve(list as FileEntryWithStats[]))),
    )
  const base = `sftp://${url.user}@${url.host.includes(':') ? `[${url.host}]` : url.host}${url.port === 22 ? '' : `:${url.port}`}`
  const sourceOf = (p: string) => `${base}${p.startsWith('/') ? p : `/~/${p}`}`
  const fileOf = (p: string, size: number): RemoteFile => ({path: p, name: posix.basename(p), size, source: sourceOf(p)})

  return {
    async list(u: SftpUrl): Promise<RemoteFile[]> {
      const st = await stat(u.path)
      if (st?.isFile()) return [fileOf(u.path, st.size)]
      if (st?.isDirectory()) {
        const files = (await readdir(u.path)).filter((e) => e.attrs.isFile() && isCsv(e.filename)).sort((a, b) => (a.filename < b.filename ? -1 : 1))
        if (files.length === 0) throw notFoundError('SOURCE_EMPTY', `${u.display}: the folder has no .csv files.`)
        return files.map((e) => fileOf(posix.join(u.path, e.filename), e.attrs.size))
      }
      const scan = picomatch.scan(u.path)
      if (!scan.isGlob) throw notFoundError('SOURCE_NOT_FOUND', `${u.display}: no such file or folder on the server.`)
      if (scan.glob.includes('/')) throw usageError(`${u.display}: only the last part of an SFTP path may be a pattern.`, ['e.g. sftp://user@host/exports/*.csv'])
      const dir = scan.base || (u.path.startsWith('/') ? '/' : '.')
      const match = picomatch(scan.glob)
      const files = (await readdir(dir)).filter((e) => e.attrs.isFile() && match(e.filename)).sort((a, b) => (a.filename < b.filename ? -1 : 1))
      if (files.length === 0) throw notFoundError('SOURCE_NOT_FOUND', `${u.display}: the pattern matches no file on the server.`)
      return files.map((e) => fileOf(posix.join(dir, e.filename), e.attrs.size))
    },
    download(file, localPath, onBytes) {
      let last = 0
      return new Promise<void>((resolve, reject) => {
        sftp.fastGet(file.path, localPath, {
          concurrency: 16,
          chunkSize: 256 * 1024,
          step: (total) => {
            onBytes?.(total - last)
            last = total
          },
        }, (err) => (err ? reject(new CapeError('SFTP_READ_FAILED', `${file.source}: ${err.message}`, {exit: ExitCode.remoteFailed, cause: err})) : resolve()))
      })
    },
    close() {
      client.end()
    },
  }
}
