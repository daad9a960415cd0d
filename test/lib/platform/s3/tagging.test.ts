import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectTaggingCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startS3, type S3Fixture} from './fixture.js'

describe('S3 object tagging', () => {
  let s3: S3Fixture
  let client: S3Client
  const bucket = 'tags'
  const tagsOf = async (Key: string) => (await client.send(new GetObjectTaggingCommand({Bucket: bucket, Key}))).TagSet

  beforeAll(async () => {
    s3 = await startS3()
    client = s3.client()
    await client.send(new CreateBucketCommand({Bucket: bucket}))
  })
  afterAll(() => s3.close())

  it('puts, gets and deletes an object’s tags; GET and HEAD report x-amz-tagging-count', async () => {
    await client.send(new PutObjectCommand({Bucket: bucket, Key: 'a', Body: 'a', Tagging: 'k1=v1&k%202=v%262'}))
    expect(await tagsOf('a')).toEqual([{Key: 'k1', Value: 'v1'}, {Key: 'k 2', Value: 'v&2'}])
    expect((await client.send(new HeadObjectCommand({Bucket: bucket, Key: 'a'}))).TagCount).toBe(2)
    expect((await client.send(new GetObjectCommand({Bucket: bucket, Key: 'a'}))).TagCount).toBe(2)
    await client.send(new PutObjectTaggingCommand({Bucket: bucket, Key: 'a', Tagging: {TagSet: [{Key: 'only', Value: ''}]}}))
    expect(s3.checks.at(-1)).toMatchObject({action: 's3:PutObjectTagging', resource: `arn:aws:s3:::${bucket}/a`})
    expect(await tagsOf('a')).toEqual([{Key: 'only', Value: ''}])
    await client.send(new DeleteObjectTaggingCommand({Bucket: bucket, Key: 'a'}))
    expect(s3.checks.at(-1)).toMatchObject({action: 's3:DeleteObjectTagging'})
    expect(await tagsOf('a')).toEqual([])
    expect((await client.send(new HeadObjectCommand({Bucket: bucket, Key: 'a'}))).TagCount).toBeUndefined()
    await expect(client.send(new GetObjectTaggingCommand({Bucket: bucket, Key: 'missing'}))).rejects.toMatchObject({name: 'NoSuchKey'})
  })

  it('copies tags by default, replaces them with x-amz-tagging-directive REPLACE; a new PUT drops them', async () => {
    await client.send(new PutObjectCommand({Bucket: bucket, Key: 'src', Body: 's', Tagging: 'a=1'}))
    await client.send(new CopyObjectCommand({Bucket: bucket, Key: 'copy', CopySource: `${bucket}/src`}))
    expect(await tagsOf('copy')).toEqual([{Key: 'a', Value: '1'}])
    await client.send(new CopyObjectCommand({Bucket: bucket, Key: 'copy', CopySource: `${bucket}/src`, TaggingDirective: 'REPLACE', Tagging: 'b=2'}))
    expect(await tagsOf('copy')).toEqual([{Key: 'b', Value: '2'}])
    await client.send(new PutObjectCommand({Bucket: bucket, Key: 'copy', Body: 'new'}))
    expect(await tagsOf('copy')).toEqual([])
  })

  it('keeps x-amz-tagging of CreateMultipartUpload for the completed object', async () => {
    const {UploadId} = await client.send(new CreateMultipartUploadCommand({Bucket: bucket, Key: 'mp', Tagging: 'part=yes'}))
    const {ETag} = await client.send(new UploadPartCommand({Bucket: bucket, Key: 'mp', UploadId, PartNumber: 1, Body: 'x'}))
    await client.send(new CompleteMultipartUploadCommand({Bucket: bucket, Key: 'mp', UploadId, MultipartUpload: {Parts: [{PartNumber: 1, ETag}]}}))
    expect(await tagsOf('mp')).toEqual([{Key: 'part', Value: 'yes'}])
  })

  it('enforces S3’s limits with InvalidTag', async () => {
    const eleven = Array.from({length: 11}, (_, i) => `k${i}=v`).join('&')
    const ten = Array.from({length: 10}, (_, i) => `k${i}=v`).join('&')
    await client.send(new PutObjectCommand({Bucket: bucket, Key: 'max', Body: 'm', Tagging: ten}))
    expect(await tagsOf('max')).toHaveLength(10)
    await client.send(new PutObjectTaggingCommand({Bucket: bucket, Key: 'max', Tagging: {TagSet: [{Key: 'k'.repeat(128), Value: 'v'.repeat(256)}]}}))
    for (const TagSet of [[{Key: 'k'.repeat(129), Value: 'v'}], [{Key: 'k', Value: 'v'.repeat(257)}], [{Key: 'd', Value: '1'}, {Key: 'd', Value: '2'}], [{Key: 'aws:x', Value: '1'}]]) {
      await expect(client.send(new PutObjectTaggingCommand({Bucket: bucket, Key: 'max', Tagging: {TagSet}}))).rejects.toMatchObject({name: 'InvalidTag', $metadata: {httpStatusCode: 400}})
    }
    await expect(client.send(new PutObjectCommand({Bucket: bucket, Key: 'too-many', Body: 'x', Tagging: eleven}))).rejects.toMatchObject({name: 'InvalidTag'})
    await expect(client.send(new HeadObjectCommand({Bucket: bucket, Key: 'too-many'}))).rejects.toMatchObject({$metadata: {httpStatusCode: 404}})
  })
})
