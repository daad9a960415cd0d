import {
  CopyObjectCommand,
  CreateBucketCommand,
  GetBucketAclCommand,
  GetBucketOwnershipControlsCommand,
  GetObjectAclCommand,
  ListBucketsCommand,
  PutBucketAclCommand,
  PutBucketOwnershipControlsCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startS3, type S3Fixture} from './fixture.js'

const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers'

describe('S3 ACLs and ownership controls', () => {
  let s3: S3Fixture
  let client: S3Client
  let ownerId: string
  const bucket = 'acls'

  beforeAll(async () => {
    s3 = await startS3()
    client = s3.client()
    await client.send(new CreateBucketCommand({Bucket: bucket}))
    ownerId = (await client.send(new ListBucketsCommand({}))).Owner?.ID ?? ''
  })
  afterAll(() => s3.close())

  it('reports owner FULL_CONTROL by default, with the Owner ListBuckets reports', async () => {
    const acl = await client.send(new GetBucketAclCommand({Bucket: bucket}))
    expect(ownerId).toMatch(/^[0-9a-f]{64}$/)
    expect(acl.Owner).toEqual({ID: ownerId, DisplayName: 'cape'})
    expect(acl.Grants).toEqual([{Grantee: {Type: 'CanonicalUser', ID: ownerId, DisplayName: 'cape'}, Permission: 'FULL_CONTROL'}])
    expect(s3.checks.at(-1)).toMatchObject({action: 's3:GetBucketAcl', resource: `arn:aws:s3:::${bucket}`})
  })

  it('stores canned ACLs, grant headers and XML bodies on buckets', async () => {
    await client.send(new PutBucketAclCommand({Bucket: bucket, ACL: 'public-read'}))
    expect(s3.checks.at(-1)).toMatchObject({action: 's3:PutBucketAcl'})
    expect((await client.send(new GetBucketAclCommand({Bucket: bucket}))).Grants).toEqual([
      {Grantee: {Type: 'CanonicalUser', ID: ownerId, DisplayName: 'cape'}, Permission: 'FULL_CONTROL'},
      {Grantee: {Type: 'Group', URI: ALL_USERS}, Permission: 'READ'},
    ])
    const other = 'a'.repeat(64)
    await client.send(new PutBucketAclCommand({Bucket: bucket, GrantRead: `id="${other}"`, GrantFullControl: `id=${ownerId}`}))
    expect((await client.send(new GetBucketAclCommand({Bucket: bucket}))).Grants).toEqual([
      {Grantee: {Type: 'CanonicalUser', ID: ownerId, DisplayName: 'cape'}, Permission: 'FULL_CONTROL'},
      {Grantee: {Type: 'CanonicalUser', ID: other}, Permission: 'READ'},
    ])
    await client.send(new PutBucketAclCommand({
      Bucket: bucket,
      AccessControlPolicy: {Owner: {ID: ownerId}, Grants: [{Grantee: {Type: 'Group', URI: ALL_USERS}, Permission: 'WRITE'}]},
    }))
    expect((await client.send(new GetBucketAclCommand({Bucket: bucket}))).Grants).toEqual([{Grantee: {Type: 'Group', URI: ALL_USERS}, Permission: 'WRITE'}])
    await expect(client.send(new PutBucketAclCommand({Bucket: bucket, ACL: 'private', GrantRead: `id=${other}`}))).rejects.toMatchObject({name: 'InvalidRequest'})
    await expect(client.send(new PutBucketAclCommand({Bucket: bucket, GrantRead: 'emailAddress="x@example.com"'}))).rejects.toMatchObject({name: 'UnresolvableGrantByEmailAddress'})
    await client.send(new PutBucketAclCommand({Bucket: bucket, ACL: 'private'}))
  })

  it('stores x-amz-acl of PutObject, CopyObject and PutObjectAcl on the object; a new PUT resets it', async () => {
    await client.send(new PutObjectCommand({Bucket: bucket, Key: 'a.txt', Body: 'a', ACL: 'authenticated-read'}))
    const grants = async (key: string) => (await client.send(new GetObjectAclCommand({Bucket: bucket, Key: key}))).Grants?.map((g) => `${g.Grantee?.URI ?? g.Grantee?.ID}:${g.Permission}`)
    expect(await grants('a.txt')).toEqual([`${ownerId}:FULL_CONTROL`, 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers:READ'])
    expect(s3.checks.at(-1)).toMatchObject({action: 's3:GetObjectAcl', resource: `arn:aws:s3:::${bucket}/a.txt`})
    await client.send(new CopyObjectCommand({Bucket: bucket, Key: 'b.txt', CopySource: `${bucket}/a.txt`, ACL: 'public-read-write'}))
    expect(await grants('b.txt')).toEqual([`${ownerId}:FULL_CONTROL`, `${ALL_USERS}:READ`, `${ALL_USERS}:WRITE`])
    await client.send(new PutObjectAclCommand({Bucket: bucket, Key: 'a.txt', ACL: 'public-read'}))
    expect(s3.checks.at(-1)).toMatchObject({action: 's3:PutObjectAcl', context: {'s3:x-amz-acl': 'public-read'}})
    expect(await grants('a.txt')).toEqual([`${ownerId}:FULL_CONTROL`, `${ALL_USERS}:READ`])
    await client.send(new PutObjectCommand({Bucket: bucket, Key: 'a.txt', Body: 'again'}))
    expect(await grants('a.txt')).toEqual([`${ownerId}:FULL_CONTROL`])
    await expect(client.send(new GetObjectAclCommand({Bucket: bucket, Key: 'missing'}))).rejects.toMatchObject({name: 'NoSuchKey'})
  })

  it('BucketOwnerEnforced disables ACL writes other than bucket-owner-full-control', async () => {
    await expect(client.send(new GetBucketOwnershipControlsCommand({Bucket: bucket}))).rejects.toMatchObject({name: 'OwnershipControlsNotFoundError', $metadata: {httpStatusCode: 404}})
    await client.send(new PutBucketOwnershipControlsCommand({Bucket: bucket, OwnershipControls: {Rules: [{ObjectOwnership: 'BucketOwnerEnforced'}]}}))
    expect((await client.send(new GetBucketOwnershipControlsCommand({Bucket: bucket}))).OwnershipControls?.Rules).toEqual([{ObjectOwnership: 'BucketOwnerEnforced'}])
    await expect(client.send(new PutObjectCommand({Bucket: bucket, Key: 'c.txt', Body: 'c', ACL: 'public-read'}))).rejects.toMatchObject({name: 'AccessControlListNotSupported', $metadata: {httpStatusCode: 400}})
    await expect(client.send(new PutBucketAclCommand({Bucket: bucket, ACL: 'public-read'}))).rejects.toMatchObject({name: 'AccessControlListNotSupported'})
    await client.send(new PutObjectCommand({Bucket: bucket, Key: 'c.txt', Body: 'c', ACL: 'bucket-owner-full-control'}))
    expect((await client.send(new GetObjectAclCommand({Bucket: bucket, Key: 'b.txt'}))).Grants).toHaveLength(1)

    await client.send(new CreateBucketCommand({Bucket: 'enforced', ObjectOwnership: 'BucketOwnerEnforced'}))
    await expect(client.send(new PutBucketAclCommand({Bucket: 'enforced', ACL: 'public-read'}))).rejects.toMatchObject({name: 'AccessControlListNotSupported'})
  })

  it('re-creating an owned bucket in us-east-1 answers 200 and resets its ACL (S3 legacy behaviour)', async () => {
    await client.send(new CreateBucketCommand({Bucket: 'again', ACL: 'public-read'}))
    expect((await client.send(new GetBucketAclCommand({Bucket: 'again'}))).Grants).toHaveLength(2)
    await client.send(new CreateBucketCommand({Bucket: 'again'}))
    expect((await client.send(new GetBucketAclCommand({Bucket: 'again'}))).Grants).toHaveLength(1)
  })
})
