import {createHash, randomBytes} from 'node:crypto'
import {request} from 'node:http'
import {Readable} from 'node:stream'
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import {Upload} from '@aws-sdk/lib-storage'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startS3, type S3Fixture} from './fixture.js'

const MiB = 1024 * 1024

/** A stream of `total` random bytes, hashing what it emits (sha256 of all, md5 of each `partSize` slice). */
function randomSource(total: number, partSize: number) {
  const sha = createHash('sha256')
  const partMd5s: Buffer[] = []
  let partHash = createHash('md5')
  let inPart = 0
  let sent = 0
  const stream = new Readable({
    read() {
      if (sent >= total) {
        if (inPart > 0) partMd5s.push(partHash.digest())
        this.push(null)
        return
      }
      const n = Math.min(MiB, total - sent, partSize - inPart)
      const chunk = randomBytes(n)
      sha.update(chunk)
      partHash.update(chunk)
      sent += n
      inPart += n
      if (inPart === partSize) {
        partMd5s.push(partHash.digest())
        partHash = createHash('md5')
        inPart = 0
      }
      this.push(chunk)
    },
  })
  return {
    stream,
    sha256: () => sha.digest('hex'),
    multipartEtag: () => `"${createHash('md5').update(Buffer.concat(partMd5s)).digest('hex')}-${partMd5s.length}"`,
  }
}

async function sha256Of(body: unknown): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of body as AsyncIterable<Uint8Array>) hash.update(chunk)
  return hash.digest('hex')
}

describe('transfers', () => {
  let s3: S3Fixture
  let client: S3Client
  const bucket = 'transfers'

  beforeAll(async () => {
    s3 = await startS3()
    client = s3.client()
    await client.send(new CreateBucketCommand({Bucket: bucket}))
  })
  afterAll(() => s3.close())

  it('uploads 100 MB with lib-storage (multipart) and downloads it byte-identical, with an md5-of-md5s-N ETag', async () => {
    const total = 100 * MiB
    const partSize = 8 * MiB
    const source = randomSource(total, partSize)
    const upload = new Upload({client, params: {Bucket: bucket, Key: 'big/100mb.bin', Body: source.stream}, partSize, queueSize: 4})
    const result = await upload.done()
    const expectedEtag = source.multipartEtag()
    expect(expectedEtag).toMatch(/-13"$/)
    expect(result.ETag).toBe(expectedEtag)

    const got = await client.send(new GetObjectCommand({Bucket: bucket, Key: 'big/100mb.bin'}))
    expect(got.ContentLength).toBe(total)
    expect(got.ETag).toBe(expectedEtag)
    expect(await sha256Of(got.Body)).toBe(source.sha256())
    expect(s3.service.stats()).toMatchObject({CreateMultipartUpload: 1, UploadPart: 13, CompleteMultipartUpload: 1})
  }, 60_000)

  it('stores a stream-body PutObject byte-identical (checksums WHEN_REQUIRED)', async () => {
    const source = randomSource(3 * MiB + 123, 64 * MiB)
    await client.send(new PutObjectCommand({Bucket: bucket, Key: 'stream.bin', Body: source.stream, ContentLength: 3 * MiB + 123}))
    const got = await client.send(new GetObjectCommand({Bucket: bucket, Key: 'stream.bin'}))
    expect(await sha256Of(got.Body)).toBe(source.sha256())
  })

  it('decodes aws-chunked bodies sent with the SDK default flexible checksums', async () => {
    const flexible = s3.client({flexibleChecksums: true})
    const size = 2 * MiB + 7
    const source = randomSource(size, 64 * MiB)
    const before = s3.requests.length
    await flexible.send(new PutObjectCommand({Bucket: bucket, Key: 'chunked.bin', Body: source.stream, ContentLength: size, ContentType: 'application/x-test'}))
    const put = s3.requests.slice(before).find((r) => r.method === 'PUT')
    // the SDK really sent aws-chunked framing (else this test would prove nothing)
    expect(String(put?.headers['content-encoding'])).toContain('aws-chunked')
    expect(String(put?.headers['x-amz-content-sha256'])).toMatch(/^STREAMING-/)

    const got = await client.send(new GetObjectCommand({Bucket: bucket, Key: 'chunked.bin'}))
    expect(got.ContentLength).toBe(size)
    expect(got.ContentEncoding).toBeUndefined()
    expect(got.ContentType).toBe('application/x-test')
    expect(await sha256Of(got.Body)).toBe(source.sha256())

    // a small string body with default checksums too
    await flexible.send(new PutObjectCommand({Bucket: bucket, Key: 'small.txt', Body: 'hello, chunked world'}))
    const small = await flexible.send(new GetObjectCommand({Bucket: bucket, Key: 'small.txt'}))
    expect(await small.Body?.transformToString()).toBe('hello, chunked world')
  })

  it('rejects an aws-chunked body whose trailing checksum does not match, storing nothing', async () => {
    const payload = Buffer.from('0123456789')
    const body = Buffer.concat([
      Buffer.from(`${payload.length.toString(16)}\r\n`),
      payload,
      Buffer.from('\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n'),
    ])
    const {status, text} = await new Promise<{status: number; text: string}>((resolve, reject) => {
      const req = request(
        `${s3.endpoint}/${bucket}/bad-checksum.txt`,
        {
          method: 'PUT',
          headers: {
            'content-encoding': 'aws-chunked',
            'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
            'x-amz-decoded-content-length': String(payload.length),
            'x-amz-trailer': 'x-amz-checksum-crc32',
            'content-length': String(body.length),
          },
        },
        (res) => {
          let text = ''
          res.on('data', (c) => (text += c))
          res.on('end', () => resolve({status: res.statusCode ?? 0, text}))
        },
      )
      req.on('error', reject)
      req.end(body)
    })
    expect(status).toBe(400)
    expect(text).toContain('<Code>BadDigest</Code>')
    await expect(client.send(new HeadObjectCommand({Bucket: bucket, Key: 'bad-checksum.txt'}))).rejects.toMatchObject({$metadata: {httpStatusCode: 404}})
  })

  it('verifies a hex x-amz-content-sha256 payload hash against the body', async () => {
    const before = s3.requests.length
    await client.send(new PutObjectCommand({Bucket: bucket, Key: 'hashed.txt', Body: 'payload'}))
    const put = s3.requests.slice(before).find((r) => r.method === 'PUT')
    expect(put?.headers['x-amz-content-sha256']).toBe(createHash('sha256').update('payload').digest('hex'))

    const {status, text} = await new Promise<{status: number; text: string}>((resolve, reject) => {
      const req = request(
        `${s3.endpoint}/${bucket}/tampered.txt`,
        {method: 'PUT', headers: {'x-amz-content-sha256': createHash('sha256').update('original').digest('hex')}},
        (res) => {
          let text = ''
          res.on('data', (c) => (text += c))
          res.on('end', () => resolve({status: res.statusCode ?? 0, text}))
        },
      )
      req.on('error', reject)
      req.end('tampered')
    })
    expect(status).toBe(400)
    expect(text).toContain('<Code>XAmzContentSHA256Mismatch</Code>')
    await expect(client.send(new HeadObjectCommand({Bucket: bucket, Key: 'tampered.txt'}))).rejects.toMatchObject({$metadata: {httpStatusCode: 404}})
  })

  it('lists, validates and aborts multipart uploads', async () => {
    const Key = 'mp/manual.bin'
    const {UploadId} = await client.send(new CreateMultipartUploadCommand({Bucket: bucket, Key, Metadata: {origin: 'manual'}}))
    expect(UploadId).toBeTruthy()
    const part1 = await client.send(new UploadPartCommand({Bucket: bucket, Key, UploadId, PartNumber: 1, Body: Buffer.alloc(5 * MiB, 1)}))
    const part2 = await client.send(new UploadPartCommand({Bucket: bucket, Key, UploadId, PartNumber: 2, Body: Buffer.from('tail')}))

    const uploads = await client.send(new ListMultipartUploadsCommand({Bucket: bucket}))
    expect(uploads.Uploads?.map((u) => [u.Key, u.UploadId])).toEqual([[Key, UploadId]])
    const parts = await client.send(new ListPartsCommand({Bucket: bucket, Key, UploadId}))
    expect(parts.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag])).toEqual([
      [1, 5 * MiB, part1.ETag],
      [2, 4, part2.ETag],
    ])

    await expect(
      client.send(new CompleteMultipartUploadCommand({Bucket: bucket, Key, UploadId, MultipartUpload: {Parts: [{PartNumber: 1, ETag: '"0000"'}]}})),
    ).rejects.toMatchObject({name: 'InvalidPart', $metadata: {httpStatusCode: 400}})
    await expect(
      client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key,
          UploadId,
          MultipartUpload: {Parts: [{PartNumber: 2, ETag: part2.ETag}, {PartNumber: 1, ETag: part1.ETag}]},
        }),
      ),
    ).rejects.toMatchObject({name: 'InvalidPartOrder'})

    await client.send(new AbortMultipartUploadCommand({Bucket: bucket, Key, UploadId}))
    const after = await client.send(new ListMultipartUploadsCommand({Bucket: bucket}))
    expect(after.Uploads ?? []).toEqual([])
    await expect(client.send(new UploadPartCommand({Bucket: bucket, Key, UploadId, PartNumber: 3, Body: 'x'}))).rejects.toMatchObject({
      name: 'NoSuchUpload',
      $metadata: {httpStatusCode: 404},
    })
  })

  it('rejects a too-small non-final part and keeps user metadata of a completed upload', async () => {
    const Key = 'mp/small-parts.bin'
    const {UploadId} = await client.send(new CreateMultipartUploadCommand({Bucket: bucket, Key, Metadata: {origin: 'mp'}, ContentType: 'text/csv'}))
    const p1 = await client.send(new UploadPartCommand({Bucket: bucket, Key, UploadId, PartNumber: 1, Body: 'abc'}))
    const p2 = await client.send(new UploadPartCommand({Bucket: bucket, Key, UploadId, PartNumber: 2, Body: 'def'}))
    const parts = [
      {PartNumber: 1, ETag: p1.ETag},
      {PartNumber: 2, ETag: p2.ETag},
    ]
    await expect(client.send(new CompleteMultipartUploadCommand({Bucket: bucket, Key, UploadId, MultipartUpload: {Parts: parts}}))).rejects.toMatchObject({
      name: 'EntityTooSmall',
    })
    // a single small part is fine (it is the last one)
    const done = await client.send(new CompleteMultipartUploadCommand({Bucket: bucket, Key, UploadId, MultipartUpload: {Parts: [parts[0]]}}))
    expect(done.ETag).toMatch(/^"[0-9a-f]{32}-1"$/)
    const head = await client.send(new HeadObjectCommand({Bucket: bucket, Key}))
    expect(head).toMatchObject({ContentLength: 3, ContentType: 'text/csv', Metadata: {origin: 'mp'}, ETag: done.ETag})
  })
})
