import {createHash, createHmac, generateKeyPairSync, randomBytes} from 'node:crypto'
import {describe, expect, it} from 'vitest'
import {
  checkHostKey,
  fingerprintOf,
  hostKeyError,
  hostMatches,
  keyTypeOf,
  knownHostsName,
  knownKeyTypes,
  parseKnownHosts,
} from '../../../src/lib/ingest/known-hosts.js'

/** An ssh-ed25519 public key blob in SSH wire format (string type, string key). */
function ed25519Blob(): Buffer {
  const {publicKey} = generateKeyPairSync('ed25519')
  const raw = publicKey.export({format: 'der', type: 'spki'}).subarray(-32)
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b])
  return Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)])
}

const hashed = (name: string) => {
  const salt = randomBytes(20)
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`
}

describe('known_hosts', () => {
  const key = ed25519Blob()
  const other = ed25519Blob()
  const b64 = key.toString('base64')

  it('reads the key type and the SHA256 fingerprint the way ssh-keygen prints them', () => {
    expect(keyTypeOf(key)).toBe('ssh-ed25519')
    expect(fingerprintOf(key)).toBe(`SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`)
    expect(fingerprintOf(key)).not.toMatch(/=$/)
  })

  it('names non-22 ports [host]:port', () => {
    expect(knownHostsName('files.example.org', 22)).toBe('files.example.org')
    expect(knownHostsName('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222')
  })

  it('matches plain, listed, wildcard, negated and hashed host names', () => {
    expect(hostMatches('a.example.org,b.example.org', 'b.example.org')).toBe(true)
    expect(hostMatches('*.example.org', 'files.EXAMPLE.org')).toBe(true)
    expect(hostMatches('*.example.org,!secret.example.org', 'secret.example.org')).toBe(false)
    expect(hostMatches('[127.0.0.1]:2222', '[127.0.0.1]:2223')).toBe(false)
    expect(hostMatches('files?.example.org', 'files1.example.org')).toBe(true)
    expect(hostMatches(hashed('[127.0.0.1]:2222'), '[127.0.0.1]:2222')).toBe(true)
    expect(hostMatches(hashed('[127.0.0.1]:2222'), '[127.0.0.1]:22')).toBe(false)
  })

  it('says known, unknown, changed or revoked', () => {
    const entries = parseKnownHosts(
      [
        '# comment',
        '',
        `[127.0.0.1]:2222 ssh-ed25519 ${b64} test`,
        `${hashed('files.example.org')} ssh-ed25519 ${other.toString('base64')}`,
        `@revoked * ssh-ed25519 ${other.toString('base64')}`,
        'garbage',
      ].join('\n'),
    )
    expect(entries.map((e) => e.line)).toEqual([3, 4, 5])
    expect(checkHostKey(entries, '127.0.0.1', 2222, key)).toMatchObject({status: 'known'})
    expect(checkHostKey(entries, '127.0.0.1', 2223, key)).toMatchObject({status: 'unknown', keyType: 'ssh-ed25519', fingerprint: fingerprintOf(key)})
    expect(checkHostKey(entries, 'files.example.org', 22, key)).toMatchObject({status: 'changed', knownLine: 4})
    expect(checkHostKey(entries, 'other.example.org', 22, other)).toMatchObject({status: 'revoked', knownLine: 5})
    expect(knownKeyTypes(entries, '127.0.0.1', 2222)).toEqual(['ssh-ed25519'])
  })

  it('refusals say what the server offered and how to trust it', () => {
    const unknown = hostKeyError({status: 'unknown', keyType: 'ssh-ed25519', fingerprint: 'SHA256:abc'}, '127.0.0.1', 2222, '/home/a/.ssh/known_hosts')
    expect(unknown).toMatchObject({code: 'HOST_KEY_UNKNOWN', exit: 3})
    expect(unknown.message).toContain('SHA256:abc')
    expect(unknown.hints.join('\n')).toContain('ssh-keyscan -p 2222 -t ed25519 127.0.0.1 >> /home/a/.ssh/known_hosts')
    const changed = hostKeyError({status: 'changed', keyType: 'ssh-rsa', fingerprint: 'SHA256:def', knownLine: 7}, 'h', 22, 'kh')
    expect(changed).toMatchObject({code: 'HOST_KEY_CHANGED', exit: 3})
    expect(changed.message).toMatch(/CHANGED.*SHA256:def.*line 7/)
    expect(changed.hints.join('\n')).toContain("ssh-keygen -R 'h' -f kh && ssh-keyscan -t rsa h >> kh")
  })
})
