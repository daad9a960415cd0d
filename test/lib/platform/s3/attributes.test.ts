import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {MIN_PART_SIZE} from '../../../../src/lib/platform/s3/objects.js'
import {startS3, type S3Fixture} from './fixture.js'

describe('S3 part-level reads and GetObjectAttributes', () => {
  let s3: S3Fixture
  let client: S3Client
  const bucket = 'attrs'
  const part1 = Buffer.alloc(MIN_PART_SIZE, 'a')
  const part2 = Buffer.from('tail bytes')

  beforeAll(async () => {
    s3 = await startS3()
    client = s3.client()
    await client.send(new CreateBucketCommand({Bucket: bucket}))
    const {UploadId} = await client.send(new CreateMultipartUploadCommand({Bucket: bucket, Key: 'mp'}))
    const parts = []
    for (const [i, Body] of [part1, part2].entries()) {
      const {ETag} = await client.send(new UploadPartCommand({Bucket: bucket, Key: 'mp', UploadId, PartNumber: i + 1, Body}))
      parts.push({PartNumber: i + 1, ETag})
    }
    await client.send(new CompleteMultipartUploadCommand({Bucket: bucket, Key: 'mp', UploadId, MultipartUpload: {Parts: parts}}))
    await client.send(new PutObjectCommand({Bucket: bucket, Key: 'single', Body: 'single'}))
  })
  afterAll(() => s3.close())

  it('HEAD/GET ?partNumber=N answer that part with x-amz-mp-parts-count', async () => {
    const head = await client.send(new HeadObjectCommand({Bucket: bucket, Key: 'mp', PartNumber: 2}))
    expect(head).toMatchObject({PartsCount: 2, ContentLength: part2.length, ContentRange: `bytes ${MIN_PART_SIZE}-${MIN_PART_SIZE + part2.length - 1}/${MIN_PART_SIZE + part2.length}`})
    const get = await client.send(new GetObjectCommand({Bucket: bucket, Key: 'mp', PartNumber: 2}))
    expect(await get.Body?.transformToString()).toBe('tail bytes')
    expect((await client.send(new HeadObjectCommand({Bucket: bucket, Key: 'mp', PartNumber: 1}))).ContentLength).toBe(MIN_PART_SIZE)
    await expect(client.send(new GetObjectCommand({Bucket: bucket, Key: 'mp', PartNumber: 3}))).rejects.toMatchObject({name: 'InvalidPartNumber', $metadata: {httpStatusCode: 416}})
    expect((await client.send(new HeadObjectCommand({Bucket: bucket, Key: 'single', PartNumber: 1}))).ContentLength).toBe(6)
  })

  it('GetObjectAttributes reports ETag, size, storage class and parts', async () => {
    const mp = await client.send(new GetObjectAttributesCommand({Bucket: bucket, Key: 'mp', ObjectAttributes: ['ETag', 'ObjectSize', 'StorageClass', 'ObjectParts']}))
    expect(mp.ETag).toMatch(/^[0-9a-f]{32}-2$/)
    expect(mp).toMatchObject({ObjectSize: MIN_PART_SIZE + part2.length, StorageClass: 'STANDARD', ObjectParts: {TotalPartsCount: 2, IsTruncated: false}})
    expect(mp.ObjectParts?.Parts?.map((p) => p.Size)).toEqual([MIN_PART_SIZE, part2.length])
    expect(s3.checks.at(-1)).toMatchObject({action: 's3:GetObjectAttributes'})
    const single = await client.send(new GetObjectAttributesCommand({Bucket: bucket, Key: 'single', ObjectAttributes: ['ETag', 'ObjectSize']}))
    expect(single).toMatchObject({ETag: expect.stringMatching(/^[0-9a-f]{32}$/), ObjectSize: 6})
    expect(single.ObjectParts).toBeUndefined()
    await expect(client.send(new GetObjectAttributesCommand({Bucket: bucket, Key: 'nope', ObjectAttributes: ['ETag']}))).rejects.toMatchObject({name: 'NoSuchKey'})
  })
})

describe('S3 ListMultipartUploads with encoding-type=url', () => {
  let s3: S3Fixture
  afterAll(() => s3.close())

  it('URL-encodes keys and prefixes (the SDK decodes them back)', async () => {
    s3 = await startS3()
    const raw = (await import('node:http')).request
    const client = s3.client()
    await client.send(new CreateBucketCommand({Bucket: 'enc'}))
    await client.send(new CreateMultipartUploadCommand({Bucket: 'enc', Key: 'a b+c/é'}))
    const body = await new Promise<string>((resolve, reject) => {
      const {hostname, port} = new URL(s3.endpoint)
      const req = raw({hostname, port, path: '/enc?uploads&encoding-type=url'}, (res) => {
        let text = ''
        res.on('data', (c) => (text += c))
        res.on('end', () => resolve(text))
      })
      req.on('error', reject)
      req.end()
    })
    expect(body).toContain('<Key>a%20b%2Bc/%C3%A9</Key>')
    expect(body).toContain('<EncodingType>url</EncodingType>')
  })
})
