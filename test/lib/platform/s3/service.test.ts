import {request} from 'node:http'
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteBucketPolicyCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketNotificationConfigurationCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutBucketEncryptionCommand,
  PutBucketNotificationConfigurationCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  PutPublicAccessBlockCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'

import {AuthError} from '../../../../src/lib/platform/auth/sigv4.js'
import {startS3, type S3Fixture} from './fixture.js'

const text = async (body: unknown) => (body as {transformToString(): Promise<string>}).transformToString()

/** A request with the path sent exactly as given (no URL normalization of '..'). */
function rawRequest(endpoint: string, path: string, method = 'GET'): Promise<{status: number; body: string; headers: Record<string, unknown>}> {
  const {hostname, port} = new URL(endpoint)
  return new Promise((resolve, reject) => {
    const req = request({hostname, port, path, method}, (res) => {
      let body = ''
      res.on('data', (c) => (body += c))
      res.on('end', () => resolve({status: res.statusCode ?? 0, body, headers: res.headers}))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('S3 service', () => {
  let s3: S3Fixture
  let client: S3Client
  const bucket = 'main'

  beforeAll(async () => {
    s3 = await startS3()
    client = s3.client()
    await client.send(new CreateBucketCommand({Bucket: bucket}))
  })
  afterAll(() => s3.close())

  it('creates, heads, lists and deletes buckets', async () => {
    await client.send(new CreateBucketCommand({Bucket: 'temp-bucket'}))
    await client.send(new HeadBucketCommand({Bucket: 'temp-bucket'}))
    const {Buckets} = await client.send(new ListBucketsCommand({}))
    expect(Buckets?.map((b) => b.Name)).toEqual(expect.arrayContaining(['main', 'temp-bucket']))
    await client.send(new CreateBucketCommand({Bucket: 'temp-bucket'})) // us-east-1: 200 for the owner (S3 legacy behaviour)
    await expect(client.send(new CreateBucketCommand({Bucket: 'Bad_Name'}))).rejects.toMatchObject({name: 'InvalidBucketName'})

    await client.send(new PutObjectCommand({Bucket: 'temp-bucket', Key: 'x', Body: 'x'}))
    await expect(client.send(new DeleteBucketCommand({Bucket: 'temp-bucket'}))).rejects.toMatchObject({name: 'BucketNotEmpty', $metadata: {httpStatusCode: 409}})
    await client.send(new DeleteObjectCommand({Bucket: 'temp-bucket', Key: 'x'}))
    await client.send(new DeleteBucketCommand({Bucket: 'temp-bucket'}))
    await expect(client.send(new HeadBucketCommand({Bucket: 'temp-bucket'}))).rejects.toMatchObject({$metadata: {httpStatusCode: 404}})
    await expect(client.send(new ListObjectsV2Command({Bucket: 'temp-bucket'}))).rejects.toMatchObject({name: 'NoSuchBucket'})
  })

  it('round-trips user metadata and standard headers (GetObject and HeadObject)', async () => {
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'meta/doc.csv',
        Body: 'a,b\n1,2\n',
        ContentType: 'text/csv',
        CacheControl: 'max-age=60',
        ContentDisposition: 'attachment; filename="doc.csv"',
        Metadata: {source: 'sftp', 'row-count': '1'},
      }),
    )
    const head = await client.send(new HeadObjectCommand({Bucket: bucket, Key: 'meta/doc.csv'}))
    expect(head).toMatchObject({
      ContentLength: 8,
      ContentType: 'text/csv',
      CacheControl: 'max-age=60',
      ContentDisposition: 'attachment; filename="doc.csv"',
      Metadata: {source: 'sftp', 'row-count': '1'},
      AcceptRanges: 'bytes',
    })
    expect(head.ETag).toMatch(/^"[0-9a-f]{32}"$/)
    const got = await client.send(new GetObjectCommand({Bucket: bucket, Key: 'meta/doc.csv', ResponseContentType: 'text/plain'}))
    expect(got.Metadata).toEqual({source: 'sftp', 'row-count': '1'})
    expect(got.ContentType).toBe('text/plain')
    expect(await text(got.Body)).toBe('a,b\n1,2\n')
    await client.send(new PutObjectCommand({Bucket: bucket, Key: 'meta/empty', Body: ''}))
    const empty = await client.send(new GetObjectCommand({Bucket: bucket, Key: 'meta/empty'}))
    expect({length: empty.ContentLength, body: await text(empty.Body)}).toEqual({length: 0, body: ''})
    await expect(client.send(new GetObjectCommand({Bucket: bucket, Key: 'meta/missing'}))).rejects.toMatchObject({name: 'NoSuchKey', $metadata: {httpStatusCode: 404}})
    await expect(client.send(new GetObjectCommand({Bucket: bucket, Key: 'meta/doc.csv', IfNoneMatch: head.ETag}))).rejects.toMatchObject({
      $metadata: {httpStatusCode: 304},
    })
  })

  it('serves Range GETs (first byte, middle, suffix, open-ended, unsatisfiable)', async () => {
    const body = '0123456789abcdefghij'
    await client.send(new PutObjectCommand({Bucket: bucket, Key: 'range.txt', Body: body}))
    const get = async (Range: string) => {
      const r = await client.send(new GetObjectCommand({Bucket: bucket, Key: 'range.txt', Range}))
      return {body: await text(r.Body), range: r.ContentRange, length: r.ContentLength}
    }
    expect(await get('bytes=0-0')).toEqual({body: '0', range: 'bytes 0-0/20', length: 1})
    expect(await get('bytes=10-14')).toEqual({body: 'abcde', range: 'bytes 10-14/20', length: 5})
    expect(await get('bytes=-3')).toEqual({body: 'hij', range: 'bytes 17-19/20', length: 3})
    expect(await get('bytes=15-')).toEqual({body: 'fghij', range: 'bytes 15-19/20', length: 5})
    expect(await get('bytes=18-100')).toEqual({body: 'ij', range: 'bytes 18-19/20', length: 2})
    await expect(get('bytes=20-')).rejects.toMatchObject({name: 'InvalidRange', $metadata: {httpStatusCode: 416}})
  })

  it('copies objects whose keys contain #, %2F, spaces, + and non-ASCII', async () => {
    const keys = ['odd/has #hash.txt', 'odd/literal%2Fslash.txt', 'odd/sp ace+plus.txt', 'odd/ünï cødé.txt']
    const encode = (b: string, k: string) => `${b}/${k.split('/').map(encodeURIComponent).join('/')}`
    for (const key of keys) {
      await client.send(new PutObjectCommand({Bucket: bucket, Key: key, Body: `body of ${key}`, Metadata: {orig: 'yes'}}))
      const copied = await client.send(new CopyObjectCommand({Bucket: bucket, Key: `copy/${key}`, CopySource: encode(bucket, key)}))
      expect(copied.CopyObjectResult?.ETag).toMatch(/^"[0-9a-f]{32}"$/)
      const got = await client.send(new GetObjectCommand({Bucket: bucket, Key: `copy/${key}`}))
      expect(await text(got.Body)).toBe(`body of ${key}`)
      expect(got.Metadata).toEqual({orig: 'yes'})
    }
    const listed = await client.send(new ListObjectsV2Command({Bucket: bucket, Prefix: 'copy/'}))
    expect(listed.Contents?.map((c) => c.Key).sort()).toEqual(keys.map((k) => `copy/${k}`).sort())

    // REPLACE directive: new metadata, same bytes
    await client.send(
      new CopyObjectCommand({Bucket: bucket, Key: 'odd/replaced.txt', CopySource: encode(bucket, keys[0]), MetadataDirective: 'REPLACE', Metadata: {fresh: '1'}, ContentType: 'text/x-new'}),
    )
    const replaced = await client.send(new HeadObjectCommand({Bucket: bucket, Key: 'odd/replaced.txt'}))
    expect(replaced).toMatchObject({Metadata: {fresh: '1'}, ContentType: 'text/x-new'})
    await expect(client.send(new CopyObjectCommand({Bucket: bucket, Key: 'x', CopySource: encode(bucket, 'odd/none')}))).rejects.toMatchObject({name: 'NoSuchKey'})
  })

  it('deletes many objects at once (DeleteObjects), reporting each key', async () => {
    const keys = ['del/a', 'del/b', 'del/c c', 'del/d']
    for (const Key of keys) await client.send(new PutObjectCommand({Bucket: bucket, Key, Body: Key}))
    const res = await client.send(
      new DeleteObjectsCommand({Bucket: bucket, Delete: {Objects: [{Key: 'del/a'}, {Key: 'del/b'}, {Key: 'del/c c'}, {Key: 'del/missing'}]}}),
    )
    expect(res.Deleted?.map((d) => d.Key).sort()).toEqual(['del/a', 'del/b', 'del/c c', 'del/missing'])
    expect(res.Errors ?? []).toEqual([])
    const left = await client.send(new ListObjectsV2Command({Bucket: bucket, Prefix: 'del/'}))
    expect(left.Contents?.map((c) => c.Key)).toEqual(['del/d'])
  })

  it('refuses keys that would escape the bucket folder', async () => {
    const res = await rawRequest(s3.endpoint, `/${bucket}/a/../../../etc/passwd`)
    expect(res.status).toBe(400)
    expect(res.body).toContain('<Code>InvalidArgument</Code>')
    const bad = await rawRequest(s3.endpoint, '/..%2F..%2Fetc/x')
    expect(bad.status).toBe(404)
    expect(bad.body).toContain('<Code>NoSuchBucket</Code>')
  })

  it('stores and reports bucket policy, versioning, encryption, public access block and tags', async () => {
    const policy = {
      Version: '2012-10-17',
      Statement: [{Sid: 'DenyInsecure', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [`arn:aws:s3:::${bucket}/*`], Condition: {Bool: {'aws:SecureTransport': 'false'}}}],
    }
    await expect(client.send(new GetBucketPolicyCommand({Bucket: bucket}))).rejects.toMatchObject({name: 'NoSuchBucketPolicy', $metadata: {httpStatusCode: 404}})
    await client.send(new PutBucketPolicyCommand({Bucket: bucket, Policy: JSON.stringify(policy)}))
    const got = await client.send(new GetBucketPolicyCommand({Bucket: bucket}))
    expect(JSON.parse(got.Policy as string)).toEqual(policy)
    expect(await s3.service.getBucketPolicy(bucket)).toEqual(policy)
    await expect(client.send(new PutBucketPolicyCommand({Bucket: bucket, Policy: '{not json'}))).rejects.toMatchObject({name: 'MalformedPolicy', $metadata: {httpStatusCode: 400}})

    // the policy is handed to authorize() with each request on the bucket
    s3.checks.length = 0
    await client.send(new HeadObjectCommand({Bucket: bucket, Key: 'range.txt'}))
    expect(s3.checks).toEqual([
      {action: 's3:GetObject', resource: `arn:aws:s3:::${bucket}/range.txt`, context: {}, bucket, key: 'range.txt', bucketPolicy: policy},
    ])
    await client.send(new DeleteBucketPolicyCommand({Bucket: bucket}))
    await expect(client.send(new GetBucketPolicyCommand({Bucket: bucket}))).rejects.toMatchObject({name: 'NoSuchBucketPolicy'})

    expect((await client.send(new GetBucketVersioningCommand({Bucket: bucket}))).Status).toBeUndefined()
    await client.send(new PutBucketVersioningCommand({Bucket: bucket, VersioningConfiguration: {Status: 'Enabled'}}))
    expect(await client.send(new GetBucketVersioningCommand({Bucket: bucket}))).toMatchObject({Status: 'Enabled'})

    const defaultEnc = await client.send(new GetBucketEncryptionCommand({Bucket: bucket}))
    expect(defaultEnc.ServerSideEncryptionConfiguration?.Rules?.[0].ApplyServerSideEncryptionByDefault?.SSEAlgorithm).toBe('AES256')
    await client.send(
      new PutBucketEncryptionCommand({
        Bucket: bucket,
        ServerSideEncryptionConfiguration: {Rules: [{ApplyServerSideEncryptionByDefault: {SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'alias/cape'}, BucketKeyEnabled: true}]},
      }),
    )
    expect((await client.send(new GetBucketEncryptionCommand({Bucket: bucket}))).ServerSideEncryptionConfiguration).toEqual({
      Rules: [{ApplyServerSideEncryptionByDefault: {SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'alias/cape'}, BucketKeyEnabled: true}],
    })

    await expect(client.send(new GetPublicAccessBlockCommand({Bucket: bucket}))).rejects.toMatchObject({name: 'NoSuchPublicAccessBlockConfiguration'})
    const pab = {BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: false}
    await client.send(new PutPublicAccessBlockCommand({Bucket: bucket, PublicAccessBlockConfiguration: pab}))
    expect((await client.send(new GetPublicAccessBlockCommand({Bucket: bucket}))).PublicAccessBlockConfiguration).toEqual(pab)

    await expect(client.send(new GetBucketTaggingCommand({Bucket: bucket}))).rejects.toMatchObject({name: 'NoSuchTagSet'})
    const TagSet = [
      {Key: 'project', Value: 'cape'},
      {Key: 'zone', Value: 'raw & <curated>'},
    ]
    await client.send(new PutBucketTaggingCommand({Bucket: bucket, Tagging: {TagSet}}))
    expect((await client.send(new GetBucketTaggingCommand({Bucket: bucket}))).TagSet).toEqual(TagSet)
  })

  it('stores notification configurations and fires Lambda notifications with the right events and filters', async () => {
    const nb = 'notify'
    await client.send(new CreateBucketCommand({Bucket: nb}))
    const created = 'arn:aws:lambda:us-east-1:123456789012:function:transform'
    const removed = 'arn:aws:lambda:us-east-1:123456789012:function:audit'
    await client.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: nb,
        NotificationConfiguration: {
          LambdaFunctionConfigurations: [
            {
              Id: 'csv-in',
              LambdaFunctionArn: created,
              Events: ['s3:ObjectCreated:*'],
              Filter: {Key: {FilterRules: [{Name: 'prefix', Value: 'incoming/'}, {Name: 'suffix', Value: '.csv'}]}},
            },
            {Id: 'removals', LambdaFunctionArn: removed, Events: ['s3:ObjectRemoved:Delete']},
          ],
        },
      }),
    )
    const cfg = await client.send(new GetBucketNotificationConfigurationCommand({Bucket: nb}))
    expect(cfg.LambdaFunctionConfigurations).toEqual([
      {
        Id: 'csv-in',
        LambdaFunctionArn: created,
        Events: ['s3:ObjectCreated:*'],
        Filter: {Key: {FilterRules: [{Name: 'Prefix', Value: 'incoming/'}, {Name: 'Suffix', Value: '.csv'}]}},
      },
      {Id: 'removals', LambdaFunctionArn: removed, Events: ['s3:ObjectRemoved:Delete']},
    ])

    s3.notifications.length = 0
    await client.send(new PutObjectCommand({Bucket: nb, Key: 'incoming/my file (1).csv', Body: 'a,b\n'}))
    await client.send(new PutObjectCommand({Bucket: nb, Key: 'incoming/readme.txt', Body: 'no'}))
    await client.send(new PutObjectCommand({Bucket: nb, Key: 'other/x.csv', Body: 'no'}))
    await client.send(new CopyObjectCommand({Bucket: nb, Key: 'incoming/copy.csv', CopySource: `${nb}/other/x.csv`}))
    await client.send(new DeleteObjectsCommand({Bucket: nb, Delete: {Objects: [{Key: 'other/x.csv'}, {Key: 'incoming/readme.txt'}, {Key: 'never-existed'}]}}))
    await client.send(new DeleteObjectCommand({Bucket: nb, Key: 'incoming/copy.csv'}))

    await vi.waitFor(() => expect(s3.notifications).toHaveLength(5))
    const summary = s3.notifications.map((n) => [n.functionArn, n.event.Records[0].eventName, n.event.Records[0].s3.object.key])
    // (DeleteObjects deletes keys concurrently: compare without order)
    expect(summary.sort()).toEqual(
      [
        [created, 'ObjectCreated:Put', 'incoming/my+file+%281%29.csv'],
        [created, 'ObjectCreated:Copy', 'incoming/copy.csv'],
        [removed, 'ObjectRemoved:Delete', 'other/x.csv'],
        [removed, 'ObjectRemoved:Delete', 'incoming/readme.txt'],
        [removed, 'ObjectRemoved:Delete', 'incoming/copy.csv'],
      ].sort(),
    )
    const first = s3.notifications[0].event.Records[0]
    expect(first).toMatchObject({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'us-east-1',
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: 'csv-in',
        bucket: {name: nb, arn: `arn:aws:s3:::${nb}`},
        object: {size: 4, eTag: expect.stringMatching(/^[0-9a-f]{32}$/), sequencer: expect.any(String)},
      },
    })
    expect(decodeURIComponent(first.s3.object.key.replace(/\+/g, ' '))).toBe('incoming/my file (1).csv')
  })

  it('fires notifications for internal putObjectBytes and multipart completion', async () => {
    const nb = 'notify-internal'
    await s3.service.createBucket(nb)
    const arn = 'arn:aws:lambda:us-east-1:123456789012:function:t'
    await s3.service.putNotifications(nb, {lambda: [{functionArn: arn, events: ['s3:ObjectCreated:*'], suffix: '.bin'}]})
    expect(await s3.service.getNotifications(nb)).toEqual({lambda: [{id: expect.any(String), functionArn: arn, events: ['s3:ObjectCreated:*'], suffix: '.bin'}]})
    s3.notifications.length = 0
    await s3.service.putObjectBytes(nb, 'seed.bin', Buffer.from('seed'), {'content-type': 'application/octet-stream', owner: 'ops'})
    await vi.waitFor(() => expect(s3.notifications).toHaveLength(1))
    expect(s3.notifications[0].event.Records[0]).toMatchObject({eventName: 'ObjectCreated:Put', s3: {object: {key: 'seed.bin', size: 4}}})
    const {UploadId} = await client.send(new CreateMultipartUploadCommand({Bucket: nb, Key: 'big.bin'}))
    const part = await client.send(new UploadPartCommand({Bucket: nb, Key: 'big.bin', UploadId, PartNumber: 1, Body: 'part'}))
    await client.send(new CompleteMultipartUploadCommand({Bucket: nb, Key: 'big.bin', UploadId, MultipartUpload: {Parts: [{PartNumber: 1, ETag: part.ETag}]}}))
    await client.send(new PutObjectCommand({Bucket: nb, Key: 'ignored.txt', Body: 'suffix does not match'}))
    await vi.waitFor(() => expect(s3.notifications).toHaveLength(2))
    expect(s3.notifications[1].event.Records[0]).toMatchObject({
      eventName: 'ObjectCreated:CompleteMultipartUpload',
      s3: {object: {key: 'big.bin', size: 4, eTag: expect.stringMatching(/^[0-9a-f]{32}-1$/)}},
    })
    const head = await client.send(new HeadObjectCommand({Bucket: nb, Key: 'seed.bin'}))
    expect(head).toMatchObject({ContentType: 'application/octet-stream', Metadata: {owner: 'ops'}})
    expect((await s3.service.getObjectBytes(nb, 'seed.bin')).toString()).toBe('seed')
  })

  it('never fails a request because a notification consumer throws', async () => {
    const bad = await startS3({
      onNotify: (n) => {
        if (n.event.Records[0].s3.object.key.startsWith('sync')) throw new Error('consumer exploded')
        return Promise.reject(new Error('consumer rejected'))
      },
    })
    try {
      const c = bad.client()
      await c.send(new CreateBucketCommand({Bucket: 'bucket-one'}))
      await bad.service.putNotifications('bucket-one', {lambda: [{functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:f', events: ['s3:ObjectCreated:*']}]})
      const put = await c.send(new PutObjectCommand({Bucket: 'bucket-one', Key: 'sync.txt', Body: 'x'}))
      expect(put.ETag).toBeTruthy()
      await c.send(new PutObjectCommand({Bucket: 'bucket-one', Key: 'async.txt', Body: 'y'}))
      await vi.waitFor(() => expect(bad.service.stats()).toMatchObject({NotificationsSent: 2, NotificationErrors: 2}))
      expect(await text((await c.send(new GetObjectCommand({Bucket: 'bucket-one', Key: 'sync.txt'}))).Body)).toBe('x')
    } finally {
      await bad.close()
    }
  })

  it('serves object tagging, ignores presigned-URL parameters, and answers NotImplemented for the rest', async () => {
    await client.send(new PutObjectCommand({Bucket: bucket, Key: 'tagged.txt', Body: 't'}))
    await client.send(new PutObjectTaggingCommand({Bucket: bucket, Key: 'tagged.txt', Tagging: {TagSet: [{Key: 'class', Value: 'raw'}]}}))
    expect((await client.send(new GetObjectTaggingCommand({Bucket: bucket, Key: 'tagged.txt'}))).TagSet).toEqual([{Key: 'class', Value: 'raw'}])

    const presigned = await rawRequest(s3.endpoint, `/${bucket}?list-type=2&prefix=tagged&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=60`)
    expect(presigned.status).toBe(200)
    expect(presigned.body).toContain('<Key>tagged.txt</Key>')

    await expect(client.send(new GetBucketLifecycleConfigurationCommand({Bucket: bucket}))).rejects.toMatchObject({
      name: 'NotImplemented',
      message: 'GetBucketLifecycleConfiguration is not implemented by the cape local platform',
      $metadata: {httpStatusCode: 501},
    })
  })

  it('counts requests per operation', () => {
    const stats = s3.service.stats()
    expect(stats.PutObject).toBeGreaterThan(10)
    expect(stats).toMatchObject({CreateBucket: expect.any(Number), DeleteObjects: 2, CopyObject: expect.any(Number), ListBuckets: 1})
  })
})

describe('S3 authorization', () => {
  let s3: S3Fixture
  let client: S3Client

  beforeAll(async () => {
    s3 = await startS3({
      authorize: async (_req, check) => {
        if (check.key?.startsWith('secret/') || check.resource === 'arn:aws:s3:::authz/private/*') {
          throw new AuthError('AccessDenied', 'Access Denied', 403)
        }
      },
    })
    client = s3.client()
    await client.send(new CreateBucketCommand({Bucket: 'authz'}))
    await s3.service.putObjectBytes('authz', 'secret/plan.txt', Buffer.from('classified'))
    await s3.service.putObjectBytes('authz', 'public/readme.txt', Buffer.from('hello'))
  })
  afterAll(() => s3.close())

  it('answers a denied request with 403 AccessDenied in S3 XML', async () => {
    await expect(client.send(new GetObjectCommand({Bucket: 'authz', Key: 'secret/plan.txt'}))).rejects.toMatchObject({
      name: 'AccessDenied',
      message: 'Access Denied',
      $metadata: {httpStatusCode: 403},
    })
    const raw = await rawRequest(s3.endpoint, '/authz/secret/plan.txt')
    expect(raw.status).toBe(403)
    expect(raw.body).toMatch(
      /<Error><Code>AccessDenied<\/Code><Message>Access Denied<\/Message><Resource>\/authz\/secret\/plan.txt<\/Resource><RequestId>[0-9A-F]{16}<\/RequestId><\/Error>/,
    )
    expect(raw.headers['x-amz-request-id']).toMatch(/^[0-9A-F]{16}$/)
    expect(await text((await client.send(new GetObjectCommand({Bucket: 'authz', Key: 'public/readme.txt'}))).Body)).toBe('hello')
  })

  it('checks the copy source and every DeleteObjects key', async () => {
    await expect(client.send(new CopyObjectCommand({Bucket: 'authz', Key: 'public/leak.txt', CopySource: 'authz/secret/plan.txt'}))).rejects.toMatchObject({
      name: 'AccessDenied',
    })
    await expect(client.send(new HeadObjectCommand({Bucket: 'authz', Key: 'public/leak.txt'}))).rejects.toMatchObject({$metadata: {httpStatusCode: 404}})

    const res = await client.send(new DeleteObjectsCommand({Bucket: 'authz', Delete: {Objects: [{Key: 'secret/plan.txt'}, {Key: 'public/readme.txt'}]}}))
    expect(res.Deleted?.map((d) => d.Key)).toEqual(['public/readme.txt'])
    expect(res.Errors).toEqual([{Key: 'secret/plan.txt', Code: 'AccessDenied', Message: 'Access Denied'}])
    expect((await s3.service.getObjectBytes('authz', 'secret/plan.txt')).toString()).toBe('classified')
  })
})

describe('S3 persistence', () => {
  it('keeps objects, bucket configs and multipart uploads across service restarts', async () => {
    const first = await startS3()
    const dataDir = first.dataDir
    let second: S3Fixture | undefined
    try {
      const c1 = first.client()
      await c1.send(new CreateBucketCommand({Bucket: 'durable'}))
      await c1.send(new PutObjectCommand({Bucket: 'durable', Key: 'k/v.txt', Body: 'persisted', Metadata: {a: '1'}}))
      await c1.send(new PutBucketPolicyCommand({Bucket: 'durable', Policy: JSON.stringify({Version: '2012-10-17', Statement: [{Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::durable/*'}]})}))
      await c1.send(new PutBucketVersioningCommand({Bucket: 'durable', VersioningConfiguration: {Status: 'Suspended'}}))
      await first.service.putNotifications('durable', {lambda: [{id: 'n1', functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:f', events: ['s3:ObjectCreated:Put']}]})
      await first.service.putBucketSetting('durable', 'tags', [{Key: 'env', Value: 'dev'}])
      await first.close({keepData: true})

      second = await startS3({dataDir})
      const c2 = second.client()
      const got = await c2.send(new GetObjectCommand({Bucket: 'durable', Key: 'k/v.txt'}))
      expect(await text(got.Body)).toBe('persisted')
      expect(got.Metadata).toEqual({a: '1'})
      expect(JSON.parse((await c2.send(new GetBucketPolicyCommand({Bucket: 'durable'}))).Policy as string).Statement[0].Action).toBe('s3:GetObject')
      expect((await c2.send(new GetBucketVersioningCommand({Bucket: 'durable'}))).Status).toBe('Suspended')
      expect((await c2.send(new GetBucketTaggingCommand({Bucket: 'durable'}))).TagSet).toEqual([{Key: 'env', Value: 'dev'}])
      await c2.send(new PutObjectCommand({Bucket: 'durable', Key: 'after-restart', Body: 'x'}))
      await vi.waitFor(() => expect(second?.notifications.map((n) => n.event.Records[0].s3.configurationId)).toEqual(['n1']))

      await second.service.deleteBucket('durable', {force: true})
      expect(await second.service.bucketExists('durable')).toBe(false)
      await second.service.createBucket('durable')
      await expect(c2.send(new GetBucketPolicyCommand({Bucket: 'durable'}))).rejects.toMatchObject({name: 'NoSuchBucketPolicy'})
    } finally {
      await (second ?? first).close()
    }
  })

  it('reports internal API errors as CapeErrors with S3 codes', async () => {
    const s3 = await startS3()
    try {
      await expect(s3.service.deleteBucket('nope')).rejects.toMatchObject({name: 'CapeError', code: 'NoSuchBucket'})
      await s3.service.createBucket('full')
      await s3.service.putObjectBytes('full', 'a', Buffer.from('a'))
      expect(await s3.service.isBucketEmpty('full')).toBe(false)
      await expect(s3.service.deleteBucket('full')).rejects.toMatchObject({code: 'BucketNotEmpty'})
      await expect(s3.service.createBucket('full')).rejects.toMatchObject({code: 'BucketAlreadyOwnedByYou'})
      await expect(s3.service.createBucket('x')).rejects.toMatchObject({code: 'InvalidBucketName'})
      await expect(s3.service.getObjectBytes('full', 'missing')).rejects.toMatchObject({code: 'NoSuchKey'})
      await s3.service.putBucketSetting('full', 'encryption', {ServerSideEncryptionConfiguration: [{ServerSideEncryptionByDefault: {SSEAlgorithm: 'AES256'}}]})
      expect(await s3.service.getBucketSetting('full', 'encryption')).toEqual({Rules: [{ApplyServerSideEncryptionByDefault: {SSEAlgorithm: 'AES256'}}]})
      expect(await s3.service.listBuckets()).toEqual(['full'])
    } finally {
      await s3.close()
    }
  })
})
