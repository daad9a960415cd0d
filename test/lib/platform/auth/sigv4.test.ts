import {createHash} from 'node:crypto'
import {createServer, type IncomingHttpHeaders, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client} from '@aws-sdk/client-s3'
import {CreateUserCommand, IAMClient} from '@aws-sdk/client-iam'
import {HttpRequest} from '@smithy/protocol-http'
import {SignatureV4} from '@smithy/signature-v4'
import {
  AuthError,
  checkPayloadHash,
  parseAuth,
  splitUrl,
  verifySignature,
  type IncomingSignedRequest,
  type ParsedAuth,
} from '../../../../src/lib/platform/auth/sigv4.js'

const AKID = 'AKIACAPETEST00000001'
const SECRET = 'cape/test+secret/KEY0000000000000000000000'
const REGION = 'us-east-1'
const ODD_KEY = 'a b/c+d%2F#.csv'

interface Captured {
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: Buffer
}

let server: Server
let endpoint: string
const captured: Captured[] = []

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      captured.push({method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks)})
      if ((req.url ?? '').startsWith('/?') || req.method === 'POST') {
        res.writeHead(400, {'content-type': 'text/xml'})
        res.end('<ErrorResponse><Error><Type>Sender</Type><Code>Captured</Code><Message>captured</Message></Error><RequestId>1</RequestId></ErrorResponse>')
        return
      }
      res.writeHead(200, {'content-type': 'application/xml', etag: '"x"'})
      res.end(req.url?.includes('list-type=2') ? '<ListBucketResult><Name>b</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>' : '')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

function s3Client(opts: {secret?: string; sessionToken?: string; systemClockOffset?: number} = {}): S3Client {
  return new S3Client({
    region: REGION,
    endpoint,
    forcePathStyle: true,
    maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    credentials: {accessKeyId: AKID, secretAccessKey: opts.secret ?? SECRET, sessionToken: opts.sessionToken},
    ...(opts.systemClockOffset === undefined ? {} : {systemClockOffset: opts.systemClockOffset}),
  })
}

/** Send a command with the real SDK to the capture server and return what arrived on the wire. */
async function wire(send: () => Promise<unknown>): Promise<Captured> {
  const before = captured.length
  await send().catch(() => undefined)
  expect(captured.length).toBe(before + 1)
  return captured[captured.length - 1]
}

function incoming(c: Captured, payloadHash?: string): IncomingSignedRequest {
  const {rawPath, rawQuery} = splitUrl(c.url)
  return {method: c.method, rawPath, rawQuery, headers: {...c.headers}, ...(payloadHash === undefined ? {} : {payloadHash})}
}

function parsed(req: IncomingSignedRequest): ParsedAuth {
  const p = parseAuth(req)
  expect(p).not.toBeNull()
  return p!
}

/** The AuthError `f` throws (anything else, or nothing thrown, fails the test). */
function authError(f: () => void): AuthError {
  let caught: unknown
  try {
    f()
  } catch (e) {
    caught = e
  }
  expect(caught).toBeInstanceOf(AuthError)
  return caught as AuthError
}

function authCode(f: () => void): {code: string; status: number; message: string} {
  const a = authError(f)
  return {code: a.code, status: a.status, message: a.message}
}

describe('sigv4 header auth, S3 (real SDK v3 requests)', () => {
  it('verifies GetObject of an odd key, which reaches the wire encoded once', async () => {
    const c = await wire(() => s3Client().send(new GetObjectCommand({Bucket: 'raw-bucket', Key: ODD_KEY, Range: 'bytes=0-9'})))
    const req = incoming(c)
    expect(req.rawPath).toBe('/raw-bucket/a%20b/c%2Bd%252F%23.csv')
    const p = parsed(req)
    expect(p).toMatchObject({kind: 'header', accessKeyId: AKID, region: REGION, service: 's3', date: p.amzDate.slice(0, 8)})
    expect(p.signedHeaders).toContain('host')
    expect(p.signedHeaders).toContain('range')
    expect(() => verifySignature(req, p, SECRET)).not.toThrow()
  })

  it('verifies keys with unicode and reserved characters', async () => {
    for (const key of ['ü/日本/~!\'()*.csv', 'x/./y/../z', 'sp  ace/+/=&?.txt']) {
      const c = await wire(() => s3Client().send(new GetObjectCommand({Bucket: 'b', Key: key})))
      const req = incoming(c)
      expect(() => verifySignature(req, parsed(req), SECRET), key).not.toThrow()
    }
  })

  it('verifies ListObjectsV2 with an encoded prefix and delimiter in the query', async () => {
    const c = await wire(() => s3Client().send(new ListObjectsV2Command({Bucket: 'b', Prefix: 'a b/ü+', Delimiter: '/'})))
    const req = incoming(c)
    expect(req.rawQuery).toContain('prefix=a%20b%2F%C3%BC%2B')
    expect(() => verifySignature(req, parsed(req), SECRET)).not.toThrow()
  })

  it('verifies PutObject with a signed body hash, and the body must match x-amz-content-sha256', async () => {
    const body = 'id,name\n1,ada\n'
    const c = await wire(() => s3Client().send(new PutObjectCommand({Bucket: 'b', Key: ODD_KEY, Body: body, ContentType: 'text/csv'})))
    const req = incoming(c)
    const declared = c.headers['x-amz-content-sha256'] as string
    const actual = createHash('sha256').update(c.body).digest('hex')
    expect(c.body.toString()).toBe(body)
    expect(() => verifySignature(req, parsed(req), SECRET)).not.toThrow()
    expect(() => checkPayloadHash(declared, actual)).not.toThrow()
    const tampered = createHash('sha256').update(body + 'x').digest('hex')
    expect(authCode(() => checkPayloadHash(declared, tampered))).toMatchObject({code: 'XAmzContentSHA256Mismatch', status: 400})
    expect(() => checkPayloadHash('UNSIGNED-PAYLOAD', tampered)).not.toThrow()
  })

  it('rejects a tampered signed header, query, path or payload hash with SignatureDoesNotMatch', async () => {
    const c = await wire(() => s3Client().send(new ListObjectsV2Command({Bucket: 'b', Prefix: 'team-a/'})))
    const good = incoming(c)
    const p = parsed(good)
    expect(() => verifySignature(good, p, SECRET)).not.toThrow()

    const header = {...good, headers: {...good.headers, host: 'evil.example:80'}}
    const query = {...good, rawQuery: good.rawQuery.replace('team-a', 'team-b')}
    const path = {...good, rawPath: '/other-bucket'}
    const method = {...good, method: 'DELETE'}
    const payload = {...good, headers: {...good.headers, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD'}}
    for (const bad of [header, query, path, method, payload]) {
      const err = authCode(() => verifySignature(bad, p, SECRET))
      expect(err).toMatchObject({code: 'SignatureDoesNotMatch', status: 403})
    }
    // an added query parameter is also detected
    expect(authCode(() => verifySignature({...good, rawQuery: good.rawQuery + '&max-keys=1'}, p, SECRET)).code).toBe('SignatureDoesNotMatch')
  })

  it('rejects a wrong secret, and explains with the canonical request', async () => {
    const c = await wire(() => s3Client({secret: 'not-the-secret'}).send(new GetObjectCommand({Bucket: 'b', Key: ODD_KEY})))
    const req = incoming(c)
    const e = authError(() => verifySignature(req, parsed(req), SECRET))
    expect(e).toMatchObject({code: 'SignatureDoesNotMatch', status: 403})
    expect(e.details?.CanonicalRequest).toContain('/b/a%20b/c%2Bd%252F%23.csv')
  })

  it('S3 does not double-encode the path: a double-encoding signer is rejected', async () => {
    const c = await wire(() => s3Client().send(new GetObjectCommand({Bucket: 'b', Key: ODD_KEY})))
    const unsigned = new HttpRequest({
      method: 'GET',
      protocol: 'http:',
      hostname: '127.0.0.1',
      path: splitUrl(c.url).rawPath,
      headers: {host: c.headers.host as string, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD'},
    })
    const sign = (uriEscapePath: boolean) =>
      new SignatureV4({service: 's3', region: REGION, credentials: {accessKeyId: AKID, secretAccessKey: SECRET}, sha256: s3Client().config.sha256, uriEscapePath})
        .sign(unsigned) as Promise<HttpRequest>
    const asReq = (r: HttpRequest): IncomingSignedRequest => ({method: r.method, rawPath: r.path, rawQuery: '', headers: r.headers})
    const once = asReq(await sign(false))
    const twice = asReq(await sign(true))
    expect(() => verifySignature(once, parsed(once), SECRET)).not.toThrow()
    expect(authCode(() => verifySignature(twice, parsed(twice), SECRET)).code).toBe('SignatureDoesNotMatch')
  })

  it('checks clock skew: 15 minutes tolerated, beyond → RequestTimeTooSkewed', async () => {
    const c = await wire(() => s3Client().send(new GetObjectCommand({Bucket: 'b', Key: 'k'})))
    const req = incoming(c)
    const p = parsed(req)
    const t = Date.parse(p.amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'))
    expect(() => verifySignature(req, p, SECRET, {now: new Date(t + 14 * 60_000)})).not.toThrow()
    expect(() => verifySignature(req, p, SECRET, {now: new Date(t - 14 * 60_000)})).not.toThrow()
    expect(authCode(() => verifySignature(req, p, SECRET, {now: new Date(t + 16 * 60_000)}))).toMatchObject({code: 'RequestTimeTooSkewed', status: 403})
    expect(authCode(() => verifySignature(req, p, SECRET, {now: new Date(t - 16 * 60_000)})).code).toBe('RequestTimeTooSkewed')

    // a client whose clock is 20 minutes late, checked against the real clock
    const late = await wire(() => s3Client({systemClockOffset: -20 * 60_000}).send(new GetObjectCommand({Bucket: 'b', Key: 'k'})))
    const lateReq = incoming(late)
    expect(authCode(() => verifySignature(lateReq, parsed(lateReq), SECRET)).code).toBe('RequestTimeTooSkewed')
  })

  it('exposes the session token of temporary credentials', async () => {
    const c = await wire(() => s3Client({sessionToken: 'token/with+chars='}).send(new GetObjectCommand({Bucket: 'b', Key: 'k'})))
    const req = incoming(c)
    const p = parsed(req)
    expect(p.sessionToken).toBe('token/with+chars=')
    expect(p.signedHeaders).toContain('x-amz-security-token')
    expect(() => verifySignature(req, p, SECRET)).not.toThrow()
  })

  it('requires x-amz-content-sha256 for S3 header auth', async () => {
    const c = await wire(() => s3Client().send(new GetObjectCommand({Bucket: 'b', Key: 'k'})))
    const req = incoming(c)
    delete req.headers['x-amz-content-sha256']
    expect(authCode(() => verifySignature(req, parsed(req), SECRET))).toMatchObject({code: 'InvalidRequest', status: 400})
    req.headers['x-amz-content-sha256'] = 'not-a-hash'
    expect(authCode(() => verifySignature(req, parsed(req), SECRET)).code).toBe('InvalidArgument')
  })
})

describe('sigv4 presigned URLs, S3', () => {
  /** Serialize GetObject with the real S3 client, then presign it the way @aws-sdk/s3-request-presigner does. */
  async function presignedGet(key: string, expiresIn: number, secret = SECRET): Promise<Captured> {
    const client = s3Client()
    let unsigned: HttpRequest | undefined
    client.middlewareStack.add(
      (_next) => async (args) => {
        unsigned = args.request as HttpRequest
        throw new Error('captured')
      },
      {step: 'build', priority: 'low', name: 'capture'},
    )
    await client.send(new GetObjectCommand({Bucket: 'raw-bucket', Key: key})).catch(() => undefined)
    expect(unsigned).toBeDefined()
    // what S3RequestPresigner.presign does: S3 signer options, X-Amz-Content-Sha256: UNSIGNED-PAYLOAD (hoisted to the query)
    const toSign = new HttpRequest({...unsigned!, headers: {host: unsigned!.headers.host, 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD'}})
    const signer = new SignatureV4({service: 's3', region: REGION, credentials: {accessKeyId: AKID, secretAccessKey: secret}, sha256: client.config.sha256, uriEscapePath: false, applyChecksum: false})
    const presigned = (await signer.presign(toSign, {expiresIn, unsignableHeaders: new Set(['content-type'])})) as HttpRequest
    // send it with the client's own HTTP handler: the URL reaches the server exactly as a browser/curl would send it
    return wire(() => client.config.requestHandler.handle(presigned))
  }

  it('verifies a presigned GET of an odd key', async () => {
    const c = await presignedGet(ODD_KEY, 3600)
    expect(c.headers.authorization).toBeUndefined()
    const req = incoming(c)
    const p = parsed(req)
    expect(p).toMatchObject({kind: 'presigned', accessKeyId: AKID, service: 's3', expires: 3600, signedHeaders: ['host']})
    expect(() => verifySignature(req, p, SECRET)).not.toThrow()
  })

  it('rejects an expired presigned URL with AccessDenied "Request has expired"', async () => {
    const c = await presignedGet('k.csv', 60)
    const req = incoming(c)
    const p = parsed(req)
    const now = Date.now()
    expect(() => verifySignature(req, p, SECRET, {now: new Date(now + 30_000)})).not.toThrow()
    expect(authCode(() => verifySignature(req, p, SECRET, {now: new Date(now + 61_000)}))).toEqual({code: 'AccessDenied', status: 403, message: 'Request has expired'})
  })

  it('rejects tampered query parameters, a tampered path and a wrong secret', async () => {
    const c = await presignedGet(ODD_KEY, 3600)
    const req = incoming(c)
    const p = parsed(req)
    const longer = {...req, rawQuery: req.rawQuery.replace('X-Amz-Expires=3600', 'X-Amz-Expires=7200')}
    expect(authCode(() => verifySignature(longer, parsed(longer), SECRET)).code).toBe('SignatureDoesNotMatch')
    const extra = {...req, rawQuery: req.rawQuery + '&response-content-type=text%2Fhtml'}
    expect(authCode(() => verifySignature(extra, parsed(extra), SECRET)).code).toBe('SignatureDoesNotMatch')
    const path = {...req, rawPath: req.rawPath.replace('raw-bucket', 'curated-bucket')}
    expect(authCode(() => verifySignature(path, p, SECRET)).code).toBe('SignatureDoesNotMatch')
    const wrong = await presignedGet(ODD_KEY, 3600, 'wrong-secret')
    const wrongReq = incoming(wrong)
    expect(authCode(() => verifySignature(wrongReq, parsed(wrongReq), SECRET)).code).toBe('SignatureDoesNotMatch')
  })

  it('refuses X-Amz-Expires beyond 7 days', async () => {
    const c = await presignedGet('k', 3600)
    const req = incoming(c)
    const tooLong = {...req, rawQuery: req.rawQuery.replace('X-Amz-Expires=3600', 'X-Amz-Expires=604801')}
    expect(authCode(() => parseAuth(tooLong))).toMatchObject({code: 'AuthorizationQueryParametersError', status: 400})
  })
})

describe('sigv4 query services (IAM POST)', () => {
  const iam = (secret = SECRET, systemClockOffset?: number) =>
    new IAMClient({region: REGION, endpoint, maxAttempts: 1, credentials: {accessKeyId: AKID, secretAccessKey: secret}, ...(systemClockOffset === undefined ? {} : {systemClockOffset})})

  it('verifies a real IAM CreateUser POST, and detects a tampered body', async () => {
    const c = await wire(() => iam().send(new CreateUserCommand({UserName: 'ada', Path: '/team a/'})))
    expect(c.method).toBe('POST')
    expect(c.body.toString()).toContain('Action=CreateUser')
    const hash = createHash('sha256').update(c.body).digest('hex')
    const req = incoming(c, hash)
    const p = parsed(req)
    expect(p).toMatchObject({kind: 'header', service: 'iam', region: REGION})
    expect(() => verifySignature(req, p, SECRET)).not.toThrow()

    const tamperedBody = c.body.toString().replace('UserName=ada', 'UserName=eve')
    const tampered = incoming(c, createHash('sha256').update(tamperedBody).digest('hex'))
    expect(authCode(() => verifySignature(tampered, p, SECRET))).toMatchObject({code: 'SignatureDoesNotMatch', status: 403})
    expect(authCode(() => verifySignature(req, p, 'wrong')).code).toBe('SignatureDoesNotMatch')
  })

  it('answers clock skew the way IAM/STS do (SignatureDoesNotMatch, "Signature expired")', async () => {
    const c = await wire(() => iam(SECRET, -30 * 60_000).send(new CreateUserCommand({UserName: 'ada'})))
    const req = incoming(c, createHash('sha256').update(c.body).digest('hex'))
    const err = authCode(() => verifySignature(req, parsed(req), SECRET))
    expect(err.code).toBe('SignatureDoesNotMatch')
    expect(err.message).toMatch(/^Signature expired: /)
  })

  it('double-encodes the path for non-S3 services', async () => {
    const unsigned = new HttpRequest({method: 'GET', protocol: 'http:', hostname: 'api.local', path: '/v1/a%20b/c%2Fd', query: {q: 'x y'}, headers: {host: 'api.local'}})
    const signer = (uriEscapePath: boolean) =>
      new SignatureV4({service: 'execute-api', region: REGION, credentials: {accessKeyId: AKID, secretAccessKey: SECRET}, sha256: s3Client().config.sha256, uriEscapePath})
    const asReq = (r: HttpRequest): IncomingSignedRequest => ({method: r.method, rawPath: r.path, rawQuery: 'q=x%20y', headers: r.headers})
    const twice = asReq((await signer(true).sign(unsigned)) as HttpRequest)
    const once = asReq((await signer(false).sign(unsigned)) as HttpRequest)
    expect(() => verifySignature(twice, parsed(twice), SECRET)).not.toThrow()
    expect(authCode(() => verifySignature(once, parsed(once), SECRET)).code).toBe('SignatureDoesNotMatch')
  })
})

describe('sigv4 against the AWS documentation examples (independent of the SDK)', () => {
  // https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html and sigv4-query-string-auth.html
  const DOC_AKID = 'AKIAIOSFODNN7EXAMPLE'
  const DOC_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
  const at = new Date('2013-05-24T00:00:00Z')

  it('GET Object example (header)', () => {
    const req: IncomingSignedRequest = {
      method: 'GET',
      rawPath: '/test.txt',
      rawQuery: '',
      headers: {
        host: 'examplebucket.s3.amazonaws.com',
        range: 'bytes=0-9',
        'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
        'x-amz-date': '20130524T000000Z',
        authorization: `AWS4-HMAC-SHA256 Credential=${DOC_AKID}/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41`,
      },
    }
    expect(() => verifySignature(req, parsed(req), DOC_SECRET, {now: at})).not.toThrow()
  })

  it('presigned URL example', () => {
    const req: IncomingSignedRequest = {
      method: 'GET',
      rawPath: '/test.txt',
      rawQuery: `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${DOC_AKID}%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404`,
      headers: {host: 'examplebucket.s3.amazonaws.com'},
    }
    const p = parsed(req)
    expect(() => verifySignature(req, p, DOC_SECRET, {now: at})).not.toThrow()
    expect(authCode(() => verifySignature(req, p, DOC_SECRET, {now: new Date(at.getTime() + 86_401_000)})).message).toBe('Request has expired')
  })
})

describe('parseAuth edge cases', () => {
  const base = {method: 'GET', rawPath: '/b/k', rawQuery: '', headers: {host: 'h', 'x-amz-date': '20240101T000000Z'}}
  it('anonymous → null', () => {
    expect(parseAuth(base)).toBeNull()
  })
  it('SigV2 and SigV4a are refused as unsupported mechanisms', () => {
    expect(authCode(() => parseAuth({...base, headers: {...base.headers, authorization: 'AWS AKID:c2ln'}}))).toMatchObject({code: 'InvalidRequest', status: 400})
    expect(authCode(() => parseAuth({...base, rawQuery: 'AWSAccessKeyId=AKID&Signature=x&Expires=1'})).code).toBe('InvalidRequest')
  })
  it('malformed Authorization header', () => {
    expect(authCode(() => parseAuth({...base, headers: {...base.headers, authorization: 'AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/s3/aws4_request'}})).code).toBe('AuthorizationHeaderMalformed')
    expect(authCode(() => parseAuth({...base, headers: {...base.headers, authorization: `AWS4-HMAC-SHA256 Credential=AKID/20240102/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${'0'.repeat(64)}`}})).code).toBe('AuthorizationHeaderMalformed')
    expect(authCode(() => parseAuth({...base, headers: {...base.headers, authorization: `AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/iam/aws4_request, SignedHeaders=x-amz-date, Signature=${'0'.repeat(64)}`}})).code).toBe('IncompleteSignature')
  })
  it('header and query auth together are refused', () => {
    const sig = `AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${'0'.repeat(64)}`
    expect(authCode(() => parseAuth({...base, rawQuery: 'X-Amz-Algorithm=AWS4-HMAC-SHA256', headers: {...base.headers, authorization: sig}})).code).toBe('InvalidArgument')
  })
  it('incomplete presigned query', () => {
    expect(authCode(() => parseAuth({...base, rawQuery: 'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20240101%2Fus-east-1%2Fs3%2Faws4_request'})).code).toBe('AuthorizationQueryParametersError')
  })
})
