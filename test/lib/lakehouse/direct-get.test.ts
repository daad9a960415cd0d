import {CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client} from '@aws-sdk/client-s3'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {mapAwsError} from '../../../src/lib/aws/errors.js'
import {DirectGetter} from '../../../src/lib/lakehouse/direct-get.js'
import {isDenied} from '../../../src/lib/lakehouse/list.js'
import {AuthError, parseAuth, splitUrl, verifySignature} from '../../../src/lib/platform/auth/sigv4.js'
import {startS3, type S3Fixture} from '../platform/s3/fixture.js'

const BUCKET = 'direct'
const KEYS = ['plain.csv', "odd/a b+c!'()*~é%20&=?#.bin", 'deep/x/y/z.txt', 'unicode/日本語 ü.csv']
let s3: S3Fixture
let sdk: S3Client
let direct: DirectGetter
let flaky = 0

beforeAll(async () => {
  s3 = await startS3({
    authorize: async (req) => {
      // the platform's own SigV4 verifier: every request must be correctly signed
      const {rawPath, rawQuery} = splitUrl(req.url ?? '')
      const signed = {method: req.method ?? '', rawPath, rawQuery, headers: req.headers}
      const auth = parseAuth(signed)
      if (!auth) throw new AuthError('AccessDenied', 'Anonymous access is forbidden', 403)
      verifySignature(signed, auth, 'secret')
      if (req.method !== 'GET') return
      if (rawPath.includes('/secret/')) throw new AuthError('AccessDenied', 'Access Denied', 403)
      if (rawPath.includes('/flaky/') && flaky++ % 2 === 0) throw new AuthError('SlowDown', 'Please reduce your request rate.', 503)
    },
  })
  sdk = new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: {accessKeyId: 'AKIATESTTESTTESTTEST', secretAccessKey: 'secret'},
    maxAttempts: 3,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  })
  await sdk.send(new CreateBucketCommand({Bucket: BUCKET}))
  for (const [i, Key] of [...KEYS, 'secret/x.csv', 'flaky/f.csv'].entries()) {
    await sdk.send(new PutObjectCommand({Bucket: BUCKET, Key, Body: `body ${i} of ${Key}`, Metadata: {'cape-sha256': `h${i}`, Other: 'Value'}}))
  }
  direct = (await DirectGetter.create(sdk, 4))!
})
afterAll(async () => {
  direct?.destroy()
  sdk?.destroy()
  await s3?.close()
})

/** The SDK's error for a GetObject, or undefined. */
async function sdkError(input: {Key: string; IfMatch?: string}): Promise<unknown> {
  return sdk.send(new GetObjectCommand({Bucket: BUCKET, ...input})).then(
    () => undefined,
    (error: unknown) => error,
  )
}
const directError = (key: string, ifMatch?: string) =>
  direct.get(BUCKET, key, {ifMatch}).then(
    () => undefined,
    (error: unknown) => error,
  )
const shape = (e: any) => ({name: e.name, Code: e.Code, message: e.message, $fault: e.$fault, status: e.$metadata?.httpStatusCode, attempts: e.$metadata?.attempts})

describe('DirectGetter', () => {
  it('is only used for custom path-style endpoints (the SDK keeps real AWS and virtual hosts)', async () => {
    const aws = new S3Client({region: 'eu-west-1', credentials: {accessKeyId: 'a', secretAccessKey: 'b'}})
    const vhost = new S3Client({region: 'eu-west-1', endpoint: s3.endpoint, credentials: {accessKeyId: 'a', secretAccessKey: 'b'}})
    expect(await DirectGetter.create(aws, 4)).toBeUndefined()
    expect(await DirectGetter.create(vhost, 4)).toBeUndefined()
    aws.destroy()
    vhost.destroy()
  })

  it('sends the request the SDK sends (same path, correctly signed) and returns the same bytes, ETag and metadata', async () => {
    for (const Key of KEYS) {
      const before = s3.requests.length
      const viaSdk = await sdk.send(new GetObjectCommand({Bucket: BUCKET, Key}))
      const sdkBytes = Buffer.from(await viaSdk.Body!.transformToByteArray())
      const got = await direct.get(BUCKET, Key, {ifMatch: viaSdk.ETag})
      const [sdkReq, directReq] = s3.requests.slice(before)
      expect(directReq.url).toBe(sdkReq.url.replace(/\?x-id=GetObject$/, ''))
      expect(directReq.headers['if-match']).toBe(viaSdk.ETag)
      expect(got.bytes.equals(sdkBytes)).toBe(true)
      expect(got.ETag).toBe(viaSdk.ETag)
      expect(got.Metadata).toEqual(viaSdk.Metadata)
      expect(got.Metadata['cape-sha256']).toMatch(/^h\d$/)
    }
  })

  it('fails as the SDK fails: missing key, changed object (If-Match), denied — same names, messages and CapeErrors', async () => {
    const cases: Array<[string, string | undefined]> = [
      ['missing.csv', undefined],
      ['plain.csv', '"0123456789abcdef0123456789abcdef"'],
      ['secret/x.csv', undefined],
    ]
    for (const [key, ifMatch] of cases) {
      const expected = await sdkError({Key: key, IfMatch: ifMatch})
      const actual = await directError(key, ifMatch)
      expect(expected, key).toBeDefined()
      expect(shape(actual)).toEqual(shape(expected))
      const [a, b] = [mapAwsError(actual), mapAwsError(expected)]
      expect({code: a.code, message: a.message, hints: a.hints, exit: a.exit}).toEqual({code: b.code, message: b.message, hints: b.hints, exit: b.exit})
      expect(isDenied(actual)).toBe(isDenied(expected))
    }
    expect(isDenied(await directError('secret/x.csv'))).toBe(true)
  })

  it('retries what the SDK retries (503 SlowDown) with the client retry strategy', async () => {
    flaky = 0
    const got = await direct.get(BUCKET, 'flaky/f.csv')
    expect(got.bytes.toString()).toMatch(/flaky\/f\.csv$/)
    expect(flaky).toBe(2)
  })

  it('an unreachable endpoint maps to ENDPOINT_UNREACHABLE, as with the SDK', async () => {
    const dead = new S3Client({endpoint: 'http://127.0.0.1:9', region: 'us-east-1', forcePathStyle: true, credentials: {accessKeyId: 'a', secretAccessKey: 'b'}, maxAttempts: 1})
    const getter = (await DirectGetter.create(dead, 1))!
    const error = await getter.get(BUCKET, 'x').catch((e: unknown) => e)
    expect(mapAwsError(error).code).toBe('ENDPOINT_UNREACHABLE')
    getter.destroy()
    dead.destroy()
  })
})
