import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {createServer, type Server} from 'node:https'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {postCallback} from '../../../src/lib/requests/callback.js'
import {addressClass, callbackPolicyFromEnv, resolveCallbackTarget} from '../../../src/lib/requests/callback-guard.js'
import {callbackUrlProblem} from '../../../src/lib/requests/schema.js'
import {tempDir} from '../../helpers/cli.js'

describe('callback targets', () => {
  it.each([
    ['127.0.0.1', 'loopback'], ['127.8.9.10', 'loopback'], ['::1', 'loopback'], ['::ffff:127.0.0.1', 'loopback'], ['::ffff:7f00:1', 'loopback'],
    ['169.254.169.254', 'link-local'], ['fe80::1', 'link-local'], ['10.1.2.3', 'private'], ['172.20.0.1', 'private'], ['192.168.1.1', 'private'],
    ['::ffff:192.168.1.1', 'private'], ['100.64.0.1', 'shared (CGNAT)'], ['fd00:ec2::254', 'unique-local'], ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'], ['0.0.0.0', 'unspecified'], ['::', 'unspecified'],
  ])('%s is %s', (address, cls) => {
    expect(addressClass(address)).toBe(cls)
  })

  it('finds public addresses public', () => {
    for (const a of ['8.8.8.8', '52.94.236.248', '2600:1f18::1', '172.32.0.1', '100.128.0.1']) expect(addressClass(a)).toBeUndefined()
  })

  it('refuses a name that resolves to a private address, whatever else it resolves to', async () => {
    const lookup = async () => [{address: '93.184.216.34', family: 4}, {address: '169.254.169.254', family: 4}]
    await expect(resolveCallbackTarget('https://hooks.example.org/x', {lookup})).resolves.toEqual({
      ok: false, reason: 'hooks.example.org resolves to 169.254.169.254, a link-local address: callbacks go to public addresses only',
    })
    await expect(resolveCallbackTarget('https://hooks.example.org/x', {lookup: async () => [{address: '93.184.216.34', family: 4}]}))
      .resolves.toEqual({ok: true, address: '93.184.216.34', family: 4})
  })

  it('allows http and loopback only on the local platform, and only the allowed hosts when set', async () => {
    await expect(resolveCallbackTarget('http://127.0.0.1:9001/2018-06-01/runtime/invocation/next')).resolves.toMatchObject({ok: false, reason: 'http: is not allowed: use https'})
    await expect(resolveCallbackTarget('https://127.0.0.1:9001/')).resolves.toMatchObject({ok: false, reason: expect.stringContaining('loopback')})
    await expect(resolveCallbackTarget('http://127.0.0.1:9001/', {local: true})).resolves.toMatchObject({ok: true, address: '127.0.0.1'})
    await expect(resolveCallbackTarget('http://10.0.0.5/', {local: true})).resolves.toMatchObject({ok: false, reason: expect.stringContaining('private')})
    const lookup = async () => [{address: '93.184.216.34', family: 4}]
    await expect(resolveCallbackTarget('https://other.example.org/', {allowedHosts: ['hooks.example.org'], lookup}))
      .resolves.toMatchObject({ok: false, reason: 'host other.example.org is not in CallbackAllowedHosts (hooks.example.org)'})
    await expect(resolveCallbackTarget('https://HOOKS.example.org/', {allowedHosts: ['hooks.example.org'], lookup})).resolves.toMatchObject({ok: true})
  })

  it('knows the local platform from the function endpoint, and reads CALLBACK_ALLOWED_HOSTS', () => {
    expect(callbackPolicyFromEnv({AWS_ENDPOINT_URL: 'http://127.0.0.1:4566'})).toEqual({local: true})
    expect(callbackPolicyFromEnv({})).toEqual({local: false})
    expect(callbackPolicyFromEnv({AWS_ENDPOINT_URL: 'http://127.0.0.1:4566', AWS_LAMBDA_RUNTIME_API: '127.0.0.1:9001'})).toEqual({local: false})
    expect(callbackPolicyFromEnv({AWS_ENDPOINT_URL: 'https://s3.example.org', CALLBACK_ALLOWED_HOSTS: 'a.example.org, b.example.org'}))
      .toEqual({local: false, allowedHosts: ['a.example.org', 'b.example.org']})
  })

  it('the request check refuses literal private addresses before upload', () => {
    expect(callbackUrlProblem('https://169.254.169.254/latest/meta-data/')).toBe('169.254.169.254 is a link-local address: callbacks go to public addresses only')
    expect(callbackUrlProblem('https://[fd00::1]/')).toBe('fd00::1 is a unique-local address: callbacks go to public addresses only')
    expect(callbackUrlProblem('https://10.0.0.1/')).toMatch(/private address/)
    expect(callbackUrlProblem('https://hooks.example.org/cape')).toBeUndefined()
  })
})

describe('the callback POST connects to the address that was checked', () => {
  let server: Server
  let port = 0
  let ca = ''
  const seen: Array<{host?: string; body: string}> = []
  beforeAll(async () => {
    const dir = tempDir('cape-tls-')
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=hooks.cape.test',
      '-addext', 'subjectAltName=DNS:hooks.cape.test', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], {stdio: 'ignore'})
    ca = readFileSync(join(dir, 'cert.pem'), 'utf8')
    server = createServer({key: readFileSync(join(dir, 'key.pem')), cert: ca}, (req, res) => {
      let body = ''
      req.on('data', (c) => { body += c })
      req.on('end', () => {
        seen.push({host: req.headers.host, body})
        res.end('ok')
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    port = (server.address() as AddressInfo).port
  })
  afterAll(() => new Promise<void>((r) => server.close(() => r())))

  it('delivers over https to an allowed host by its name (TLS name and Host kept), through the pinned address', async () => {
    // hooks.cape.test resolves nowhere: only the checked address (from the injected lookup) can be reached
    const lookup = async () => [{address: '127.0.0.1', family: 4}]
    const url = `https://hooks.cape.test:${port}/done`
    const outcome = await postCallback(url, {id: 'X'}, {policy: {local: true, allowedHosts: ['hooks.cape.test'], lookup}, tls: {ca}, retries: 0})
    expect(outcome).toMatchObject({ok: true, attempts: 1, httpStatus: 200})
    expect(seen.at(-1)).toEqual({host: `hooks.cape.test:${port}`, body: '{"id":"X"}'})
    const refused = await postCallback(url, {id: 'Y'}, {policy: {local: false, lookup}, tls: {ca}, retries: 0})
    expect(refused).toMatchObject({ok: false, refused: true, attempts: 0})
    expect(seen).toHaveLength(1)
  })
})
