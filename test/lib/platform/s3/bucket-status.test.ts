import {execFile} from 'node:child_process'
import {existsSync} from 'node:fs'
import {promisify} from 'node:util'
import {
  CreateBucketCommand,
  GetBucketPolicyStatusCommand,
  GetObjectLegalHoldCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectRetentionCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startS3, type S3Fixture} from './fixture.js'

const run = promisify(execFile)

describe('S3 policy status and object lock on a bucket without object lock', () => {
  let s3: S3Fixture
  let client: S3Client
  const bucket = 'status'

  beforeAll(async () => {
    s3 = await startS3()
    client = s3.client()
    await client.send(new CreateBucketCommand({Bucket: bucket}))
    await client.send(new PutObjectCommand({Bucket: bucket, Key: 'k', Body: 'k'}))
  })
  afterAll(() => s3.close())

  it('GetBucketPolicyStatus: IsPublic from the bucket policy', async () => {
    await expect(client.send(new GetBucketPolicyStatusCommand({Bucket: bucket}))).rejects.toMatchObject({name: 'NoSuchBucketPolicy'})
    const statement = {Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${bucket}/*`}
    const put = (st: Record<string, unknown>) => client.send(new PutBucketPolicyCommand({Bucket: bucket, Policy: JSON.stringify({Version: '2012-10-17', Statement: [st]})}))
    await put(statement)
    expect((await client.send(new GetBucketPolicyStatusCommand({Bucket: bucket}))).PolicyStatus).toEqual({IsPublic: true})
    expect(s3.checks.at(-1)).toMatchObject({action: 's3:GetBucketPolicyStatus'})
    await put({...statement, Condition: {IpAddress: {'aws:SourceIp': '10.0.0.0/8'}}})
    expect((await client.send(new GetBucketPolicyStatusCommand({Bucket: bucket}))).PolicyStatus).toEqual({IsPublic: false})
    await put({...statement, Principal: {AWS: 'arn:aws:iam::123456789012:root'}})
    expect((await client.send(new GetBucketPolicyStatusCommand({Bucket: bucket}))).PolicyStatus).toEqual({IsPublic: false})
  })

  it('answers object-lock calls as S3 does for a bucket created without object lock', async () => {
    await expect(client.send(new GetObjectLockConfigurationCommand({Bucket: bucket}))).rejects.toMatchObject({
      name: 'ObjectLockConfigurationNotFoundError',
      $metadata: {httpStatusCode: 404},
    })
    const missing = {name: 'InvalidRequest', message: 'Bucket is missing Object Lock Configuration', $metadata: {httpStatusCode: 400}}
    await expect(client.send(new GetObjectLegalHoldCommand({Bucket: bucket, Key: 'k'}))).rejects.toMatchObject(missing)
    await expect(client.send(new PutObjectLegalHoldCommand({Bucket: bucket, Key: 'k', LegalHold: {Status: 'ON'}}))).rejects.toMatchObject(missing)
    await expect(client.send(new GetObjectRetentionCommand({Bucket: bucket, Key: 'k'}))).rejects.toMatchObject(missing)
    await expect(
      client.send(new PutObjectRetentionCommand({Bucket: bucket, Key: 'k', Retention: {Mode: 'GOVERNANCE', RetainUntilDate: new Date(Date.now() + 86_400_000)}})),
    ).rejects.toMatchObject(missing)
    await expect(client.send(new PutObjectCommand({Bucket: bucket, Key: 'held', Body: 'h', ObjectLockLegalHoldStatus: 'ON'}))).rejects.toMatchObject(missing)
  })

  it.skipIf(!existsSync('/usr/bin/aws'))('aws s3api (an independent client) reads tags and ACLs the same way', async () => {
    const env = {...process.env, AWS_ACCESS_KEY_ID: 'AKIATESTTESTTESTTEST', AWS_SECRET_ACCESS_KEY: 'secret', AWS_DEFAULT_REGION: 'us-east-1', AWS_CONFIG_FILE: '/dev/null'}
    const api = async (...args: string[]) => JSON.parse((await run('/usr/bin/aws', ['--endpoint-url', s3.endpoint, 's3api', ...args, '--output', 'json'], {env})).stdout || '{}') as Record<string, unknown>
    await api('put-object-tagging', '--bucket', bucket, '--key', 'k', '--tagging', 'TagSet=[{Key=cli,Value=yes}]')
    expect(await api('get-object-tagging', '--bucket', bucket, '--key', 'k')).toMatchObject({TagSet: [{Key: 'cli', Value: 'yes'}]})
    await api('put-object-acl', '--bucket', bucket, '--key', 'k', '--acl', 'public-read')
    const acl = await api('get-object-acl', '--bucket', bucket, '--key', 'k')
    expect(acl.Grants).toEqual([
      expect.objectContaining({Permission: 'FULL_CONTROL'}),
      {Grantee: {Type: 'Group', URI: 'http://acs.amazonaws.com/groups/global/AllUsers'}, Permission: 'READ'},
    ])
  }, 30_000)
})
