import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import {execFile, spawnSync} from 'node:child_process'
import {promisify} from 'node:util'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {evaluate} from '../../../../src/lib/platform/auth/policy.js'
import {AuthError} from '../../../../src/lib/platform/auth/sigv4.js'
import {startS3, type S3Fixture} from './fixture.js'

/** The raw bucket's rule: object-creating writes must carry If-None-Match. */
const denyWithoutIfNoneMatch = {
  Version: '2012-10-17',
  Statement: [
    {Effect: 'Allow', Principal: '*', Action: 's3:*', Resource: ['arn:aws:s3:::cond', 'arn:aws:s3:::cond/*']},
    {
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:PutObject',
      Resource: 'arn:aws:s3:::cond/data/*',
      Condition: {Bool: {'s3:ObjectCreationOperation': 'true'}, Null: {'s3:if-none-match': 'true'}},
    },
  ],
}

describe('S3 conditional writes (If-None-Match / If-Match)', () => {
  let s3: S3Fixture
  let client: S3Client
  const bucket = 'cond'

  beforeAll(async () => {
    s3 = await startS3({
      authorize: async (_req, check) => {
        if (!check.bucketPolicy) return
        const {decision} = evaluate({
          identityPolicies: [],
          resourcePolicies: [check.bucketPolicy],
          request: {action: check.action, resource: check.resource, principalArn: 'arn:aws:iam::123456789012:user/reg', accountId: '123456789012', context: check.context},
        })
        if (decision !== 'allowed') throw new AuthError('AccessDenied', 'Access Denied', 403)
      },
    })
    client = s3.client()
    await client.send(new CreateBucketCommand({Bucket: bucket}))
  })
  afterAll(async () => s3.close())

  it('If-None-Match: * writes a new key once, then answers 412 and keeps the first bytes', async () => {
    await client.send(new PutObjectCommand({Bucket: bucket, Key: 'a.csv', Body: 'first', IfNoneMatch: '*'}))
    await expect(client.send(new PutObjectCommand({Bucket: bucket, Key: 'a.csv', Body: 'second', IfNoneMatch: '*'}))).rejects.toMatchObject({
      name: 'PreconditionFailed',
      $metadata: {httpStatusCode: 412},
    })
    const got = await client.send(new GetObjectCommand({Bucket: bucket, Key: 'a.csv'}))
    expect(await got.Body!.transformToString()).toBe('first')
  })

  it('of concurrent If-None-Match writes to one key exactly one succeeds', async () => {
    const results = await Promise.allSettled(
      Array.from({length: 6}, (_, i) => client.send(new PutObjectCommand({Bucket: bucket, Key: 'race.csv', Body: `w${i}`, IfNoneMatch: '*'}))),
    )
    expect(results.filter((x) => x.status === 'fulfilled')).toHaveLength(1)
    expect(results.filter((x) => x.status === 'rejected').map((x) => (x as PromiseRejectedResult).reason.name)).toEqual(Array(5).fill('PreconditionFailed'))
  })

  it('If-Match writes only over the named ETag; a missing key is 404', async () => {
    const put = await client.send(new PutObjectCommand({Bucket: bucket, Key: 'm.csv', Body: 'v1'}))
    await client.send(new PutObjectCommand({Bucket: bucket, Key: 'm.csv', Body: 'v2', IfMatch: put.ETag}))
    await expect(client.send(new PutObjectCommand({Bucket: bucket, Key: 'm.csv', Body: 'v3', IfMatch: put.ETag}))).rejects.toMatchObject({
      $metadata: {httpStatusCode: 412},
    })
    await expect(client.send(new PutObjectCommand({Bucket: bucket, Key: 'nope.csv', Body: 'x', IfMatch: put.ETag}))).rejects.toMatchObject({
      $metadata: {httpStatusCode: 404},
    })
    const got = await client.send(new GetObjectCommand({Bucket: bucket, Key: 'm.csv'}))
    expect(await got.Body!.transformToString()).toBe('v2')
  })

  it('CompleteMultipartUpload with If-None-Match: * answers 412 when the key exists', async () => {
    await client.send(new PutObjectCommand({Bucket: bucket, Key: 'big.bin', Body: 'existing'}))
    const {UploadId} = await client.send(new CreateMultipartUploadCommand({Bucket: bucket, Key: 'big.bin'}))
    const part = await client.send(new UploadPartCommand({Bucket: bucket, Key: 'big.bin', UploadId, PartNumber: 1, Body: 'new bytes'}))
    const complete = new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: 'big.bin',
      UploadId,
      IfNoneMatch: '*',
      MultipartUpload: {Parts: [{PartNumber: 1, ETag: part.ETag}]},
    })
    await expect(client.send(complete)).rejects.toMatchObject({$metadata: {httpStatusCode: 412}})
    const got = await client.send(new GetObjectCommand({Bucket: bucket, Key: 'big.bin'}))
    expect(await got.Body!.transformToString()).toBe('existing')
    const fresh = await client.send(new CreateMultipartUploadCommand({Bucket: bucket, Key: 'new.bin'}))
    const p2 = await client.send(new UploadPartCommand({Bucket: bucket, Key: 'new.bin', UploadId: fresh.UploadId, PartNumber: 1, Body: 'fresh'}))
    await client.send(
      new CompleteMultipartUploadCommand({Bucket: bucket, Key: 'new.bin', UploadId: fresh.UploadId, IfNoneMatch: '*', MultipartUpload: {Parts: [{PartNumber: 1, ETag: p2.ETag}]}}),
    )
  })

  it('a bucket policy can deny writes without If-None-Match (s3:if-none-match, s3:ObjectCreationOperation)', async () => {
    await s3.service.putBucketPolicy(bucket, denyWithoutIfNoneMatch as never)
    try {
      await client.send(new PutObjectCommand({Bucket: bucket, Key: 'data/x.csv', Body: 'one', IfNoneMatch: '*'}))
      await expect(client.send(new PutObjectCommand({Bucket: bucket, Key: 'data/x.csv', Body: 'two'}))).rejects.toMatchObject({name: 'AccessDenied'})
      await expect(client.send(new PutObjectCommand({Bucket: bucket, Key: 'data/x.csv', Body: 'two', IfNoneMatch: '*'}))).rejects.toMatchObject({name: 'PreconditionFailed'})
      // parts carry no condition: only the completing request is checked
      const {UploadId} = await client.send(new CreateMultipartUploadCommand({Bucket: bucket, Key: 'data/y.csv'}))
      const part = await client.send(new UploadPartCommand({Bucket: bucket, Key: 'data/y.csv', UploadId, PartNumber: 1, Body: 'y'}))
      const parts = {Parts: [{PartNumber: 1, ETag: part.ETag}]}
      await expect(client.send(new CompleteMultipartUploadCommand({Bucket: bucket, Key: 'data/y.csv', UploadId, MultipartUpload: parts}))).rejects.toMatchObject({
        name: 'AccessDenied',
      })
      await client.send(new CompleteMultipartUploadCommand({Bucket: bucket, Key: 'data/y.csv', UploadId, IfNoneMatch: '*', MultipartUpload: parts}))
      // outside data/ the deny does not apply
      await client.send(new PutObjectCommand({Bucket: bucket, Key: '_reports/r.json', Body: '{}'}))
      await client.send(new PutObjectCommand({Bucket: bucket, Key: '_reports/r.json', Body: '{"again":1}'}))
    } finally {
      await s3.service.putBucketPolicy(bucket, null)
    }
  })

  // python3-boto3 (apt-get install -y python3-boto3) as a second, independent client
  it.skipIf(spawnSync('python3', ['-c', 'import boto3']).status !== 0)('boto3: put_object(IfNoneMatch="*") over an existing key is a 412', async () => {
    const script = [
      'import sys, boto3, botocore.exceptions',
      "c = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='AKIATESTTESTTESTTEST', aws_secret_access_key='secret')",
      "c.put_object(Bucket='cond', Key='py.csv', Body=b'one', IfNoneMatch='*')",
      'try:',
      "    c.put_object(Bucket='cond', Key='py.csv', Body=b'two', IfNoneMatch='*')",
      "    print('written')",
      'except botocore.exceptions.ClientError as e:',
      "    print(e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode'])",
      "print(c.get_object(Bucket='cond', Key='py.csv')['Body'].read().decode())",
    ].join('\n')
    // asynchronously: the server runs in this process
    const {stdout: out} = await promisify(execFile)('python3', ['-c', script, s3.endpoint], {encoding: 'utf8', timeout: 30_000})
    expect(out.trim().split('\n')).toEqual(['PreconditionFailed 412', 'one'])
  })
})
