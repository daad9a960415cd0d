import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {openSftp, parseSftpUrl, type SftpSession} from '../../../src/lib/ingest/sources/sftp.js'
import {resolveSources} from '../../../src/lib/ingest/sources/index.js'
import {tempDir} from '../../helpers/cli.js'
import {startSshd, type Sshd} from '../../helpers/sshd.js'
import {fixture} from './helpers.js'

describe('parseSftpUrl', () => {
  it('reads user, host, port and path; /~/ is the login folder', () => {
    expect(parseSftpUrl('sftp://alice@files.example.org/exports/*.csv')).toMatchObject({user: 'alice', host: 'files.example.org', port: 22, path: '/exports/*.csv'})
    expect(parseSftpUrl('sftp://bob@127.0.0.1:2222/~/in/a%20b.csv')).toMatchObject({user: 'bob', host: '127.0.0.1', port: 2222, path: 'in/a b.csv'})
    expect(parseSftpUrl('sftp://bob@[::1]:2222/x.csv')).toMatchObject({host: '::1', port: 2222, path: '/x.csv'})
  })

  it('refuses passwords, missing users and bad ports', () => {
    expect(() => parseSftpUrl('sftp://bob:secret@h/x')).toThrow(/passwords/)
    expect(() => parseSftpUrl('sftp://h/x')).toThrow(/no user/)
    expect(() => parseSftpUrl('sftp://u@h:99999/x')).toThrow(/bad port/)
    expect(() => parseSftpUrl('ftp://u@h/x')).toThrow(/not an SFTP URL/)
  })
})

describe('SFTP against a real sshd', () => {
  let sshd: Sshd
  let session: SftpSession | undefined
  beforeAll(async () => {
    sshd = await startSshd()
    mkdirSync(path.join(sshd.files, 'in'))
    writeFileSync(path.join(sshd.files, 'in', 'a.csv'), fixture('participants.csv'))
    writeFileSync(path.join(sshd.files, 'in', 'b.csv'), fixture('participants_legacy.csv'))
    writeFileSync(path.join(sshd.files, 'in', 'notes.txt'), 'not csv')
  })
  afterAll(async () => {
    session?.close()
    await sshd?.stop()
  })

  it('lists a file, a folder (its *.csv) and a glob, and downloads byte for byte', async () => {
    session = await openSftp(parseSftpUrl(sshd.url('/')), {identityFile: sshd.clientKey, knownHostsFile: sshd.knownHosts})
    const one = await session.list(parseSftpUrl(sshd.url(`${sshd.files}/in/a.csv`)))
    expect(one).toEqual([{path: `${sshd.files}/in/a.csv`, name: 'a.csv', size: fixture('participants.csv').length, source: sshd.url(`${sshd.files}/in/a.csv`)}])
    expect((await session.list(parseSftpUrl(sshd.url(`${sshd.files}/in`)))).map((f) => f.name)).toEqual(['a.csv', 'b.csv'])
    expect((await session.list(parseSftpUrl(sshd.url(`${sshd.files}/in/b*`)))).map((f) => f.name)).toEqual(['b.csv'])
    await expect(session.list(parseSftpUrl(sshd.url(`${sshd.files}/in/zzz*.csv`)))).rejects.toMatchObject({code: 'SOURCE_NOT_FOUND', exit: 4})
    await expect(session.list(parseSftpUrl(sshd.url(`${sshd.files}/missing.csv`)))).rejects.toMatchObject({code: 'SOURCE_NOT_FOUND'})
    const local = path.join(tempDir(), 'a.csv')
    let seen = 0
    await session.download(one[0], local, (n) => (seen += n))
    expect(readFileSync(local).equals(fixture('participants.csv'))).toBe(true)
    expect(seen).toBe(one[0].size)
  })

  it('refuses an unknown host key with its SHA256 fingerprint and the ssh-keyscan line', async () => {
    const empty = path.join(tempDir(), 'known_hosts')
    writeFileSync(empty, '')
    const err = await openSftp(parseSftpUrl(sshd.url('/')), {identityFile: sshd.clientKey, knownHostsFile: empty}).catch((e) => e)
    expect(err).toMatchObject({code: 'HOST_KEY_UNKNOWN', exit: 3, data: {fingerprint: sshd.fingerprint}})
    expect(err.message).toContain(sshd.fingerprint)
    expect(err.hints.join('\n')).toContain(`ssh-keyscan -p ${sshd.port} -t ed25519 127.0.0.1 >> ${empty}`)
  })

  it('refuses a changed host key', async () => {
    const wrong = path.join(tempDir(), 'known_hosts')
    const mine = readFileSync(sshd.knownHosts, 'utf8').trim().split(' ')
    writeFileSync(wrong, `${mine[0]} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMQ8jiMmJz5iQVUwtWIR0hJsu4N5FOXlDxNOwBkG8RBF\n`)
    await expect(openSftp(parseSftpUrl(sshd.url('/')), {identityFile: sshd.clientKey, knownHostsFile: wrong})).rejects.toMatchObject({code: 'HOST_KEY_CHANGED', data: {knownLine: 1}})
  })

  it('says so when the server refuses the key', async () => {
    const {execFileSync} = await import('node:child_process')
    const other = path.join(tempDir(), 'id')
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other])
    await expect(openSftp(parseSftpUrl(sshd.url('/')), {identityFile: other, knownHostsFile: sshd.knownHosts})).rejects.toMatchObject({code: 'SFTP_AUTH_FAILED', exit: 3})
    await expect(openSftp(parseSftpUrl(sshd.url('/')), {knownHostsFile: sshd.knownHosts})).rejects.toMatchObject({code: 'SFTP_NO_CREDENTIALS'})
  })

  it('logs in with a key from ssh-agent', async () => {
    const {execFileSync, spawn} = await import('node:child_process')
    const sock = path.join(tempDir(), 'agent.sock')
    const agent = spawn('ssh-agent', ['-D', '-a', sock], {stdio: 'ignore'})
    try {
      for (let i = 0; i < 100; i++) {
        try {
          execFileSync('ssh-add', [sshd.clientKey], {env: {...process.env, SSH_AUTH_SOCK: sock}, stdio: 'pipe'})
          break
        } catch (e) {
          if (i === 99) throw e
          await new Promise((r) => setTimeout(r, 50))
        }
      }
      const s = await openSftp(parseSftpUrl(sshd.url('/')), {agentSocket: sock, knownHostsFile: sshd.knownHosts})
      expect((await s.list(parseSftpUrl(sshd.url(`${sshd.files}/in`)))).length).toBe(2)
      s.close()
    } finally {
      agent.kill()
    }
  })

  it('resolveSources downloads SFTP files to a temp folder it removes on close', async () => {
    const set = await resolveSources([sshd.url(`${sshd.files}/in/*.csv`)], {cwd: process.cwd(), sftp: {identityFile: sshd.clientKey, knownHostsFile: sshd.knownHosts}})
    expect(set.sources.map((s) => [s.name, s.kind])).toEqual([['a.csv', 'sftp'], ['b.csv', 'sftp']])
    const local = await set.sources[1].fetch()
    expect(readFileSync(local).equals(fixture('participants_legacy.csv'))).toBe(true)
    await set.close()
    expect(() => readFileSync(local)).toThrow(/ENOENT/)
  })
})
