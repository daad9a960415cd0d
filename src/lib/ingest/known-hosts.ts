import {createHash, createHmac} from 'node:crypto'
import {CapeError} from '../cli/errors.js'
import {ExitCode} from '../cli/exit-codes.js'

/**
 * OpenSSH known_hosts checking for SFTP sources: plain and hashed (`|1|salt|hash`) host names, `[host]:port` for
 * ports other than 22, comma lists, `*`/`?` wildcards, `!` negation, and `@revoked` markers (`@cert-authority`
 * lines are ignored: cape does not accept host certificates). Pure: the caller reads the file.
 */

export interface KnownHostEntry {
  line: number
  marker?: 'revoked' | 'cert-authority'
  patterns: string
  keyType: string
  key: Buffer
}

export type HostKeyCheck =
  | {status: 'known'; keyType: string; fingerprint: string}
  | {status: 'unknown'; keyType: string; fingerprint: string}
  | {status: 'changed'; keyType: string; fingerprint: string; knownLine: number}
  | {status: 'revoked'; keyType: string; fingerprint: string; knownLine: number}

/** `host` for port 22, else `[host]:port` — the name known_hosts records. */
export const knownHostsName = (host: string, port: number) => (port === 22 ? host : `[${host}]:${port}`)

/** `SHA256:<base64, no padding>` — what `ssh-keygen -lf` and `ssh` print. */
export const fingerprintOf = (key: Buffer) => `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`

/** The key type inside an SSH wire-format public key blob (`ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`…). */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return 'unknown'
  const n = key.readUInt32BE(0)
  return n > 0 && n < 64 && key.length >= 4 + n ? key.subarray(4, 4 + n).toString('latin1') : 'unknown'
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = []
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const fields = line.split(/\s+/)
    let marker: KnownHostEntry['marker']
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') marker = fields.shift()!.slice(1) as KnownHostEntry['marker']
    if (fields.length < 3) return
    const key = Buffer.from(fields[2], 'base64')
    if (key.length === 0) return
    out.push({line: i + 1, ...(marker ? {marker} : {}), patterns: fields[0], keyType: fields[1], key})
  })
  return out
}

const wildcard = (pattern: string) =>
  new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i')

/** Does a known_hosts host field name this host? */
export function hostMatches(patterns: string, name: string): boolean {
  if (patterns.startsWith('|1|')) {
    const [, , salt, hash] = patterns.split('|')
    if (!salt || !hash) return false
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash
  }
  let matched = false
  for (const p of patterns.split(',')) {
    const negated = p.startsWith('!')
    const re = wildcard(negated ? p.slice(1) : p)
    if (re.test(name)) {
      if (negated) return false
      matched = true
    }
  }
  return matched
}

/** The known key types for a host (to prefer them when negotiating, as OpenSSH does). */
export function knownKeyTypes(entries: KnownHostEntry[], host: string, port: number): string[] {
  const name = knownHostsName(host, port)
  return [...new Set(entries.filter((e) => !e.marker && hostMatches(e.patterns, name)).map((e) => e.keyType))]
}

export function checkHostKey(entries: KnownHostEntry[], host: string, port: number, key: Buffer): HostKeyCheck {
  const name = knownHostsName(host, port)
  const keyType = keyTypeOf(key)
  const fingerprint = fingerprintOf(key)
  const mine = entries.filter((e) => hostMatches(e.patterns, name) || (e.marker === 'revoked' && e.patterns === '*'))
  const revoked = mine.find((e) => e.marker === 'revoked' && e.key.equals(key))
  if (revoked) return {status: 'revoked', keyType, fingerprint, knownLine: revoked.line}
  const plain = mine.filter((e) => !e.marker)
  if (plain.some((e) => e.key.equals(key))) return {status: 'known', keyType, fingerprint}
  const sameType = plain.find((e) => e.keyType === keyType)
  if (sameType) return {status: 'changed', keyType, fingerprint, knownLine: sameType.line}
  return {status: 'unknown', keyType, fingerprint}
}

/** ssh-keyscan's -t name for a key type. */
const scanType = (keyType: string) => (keyType === 'ssh-rsa' ? 'rsa' : keyType === 'ssh-ed25519' ? 'ed25519' : keyType.startsWith('ecdsa-') ? 'ecdsa' : keyType)

/** The CapeError (exit config) refusing a host key that is not known, has changed or is revoked. */
export function hostKeyError(check: Exclude<HostKeyCheck, {status: 'known'}>, host: string, port: number, knownHostsFile: string): CapeError {
  const where = `${host}:${port}`
  const name = knownHostsName(host, port)
  const keyscan = `ssh-keyscan ${port === 22 ? '' : `-p ${port} `}-t ${scanType(check.keyType)} ${host} >> ${knownHostsFile}`
  const what = `${check.keyType} key ${check.fingerprint}`
  if (check.status === 'unknown') {
    return new CapeError('HOST_KEY_UNKNOWN', `Refusing to connect to ${where}: its host key is not in ${knownHostsFile} (the server offered ${what}).`, {
      exit: ExitCode.config,
      hints: [
        'Confirm the fingerprint with the server administrator (on the server: ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub).',
        `Then trust it: ${keyscan}`,
        'Or pass another file with --known-hosts FILE.',
      ],
      data: {host, port, keyType: check.keyType, fingerprint: check.fingerprint, knownHosts: knownHostsFile},
    })
  }
  if (check.status === 'revoked') {
    return new CapeError('HOST_KEY_REVOKED', `Refusing to connect to ${where}: its host key (${what}) is marked @revoked in ${knownHostsFile} line ${check.knownLine}.`, {
      exit: ExitCode.config,
      data: {host, port, keyType: check.keyType, fingerprint: check.fingerprint, knownHosts: knownHostsFile},
    })
  }
  return new CapeError(
    'HOST_KEY_CHANGED',
    `Refusing to connect to ${where}: its host key has CHANGED (the server offered ${what}; ${knownHostsFile} line ${check.knownLine} has another). Someone could be intercepting the connection, or the key was replaced.`,
    {
      exit: ExitCode.config,
      hints: [
        'Ask the server administrator whether the key was replaced and what its fingerprint is.',
        `If it was: ssh-keygen -R '${name}' -f ${knownHostsFile} && ${keyscan}`,
      ],
      data: {host, port, keyType: check.keyType, fingerprint: check.fingerprint, knownHosts: knownHostsFile, knownLine: check.knownLine},
    },
  )
}
