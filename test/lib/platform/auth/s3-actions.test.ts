import {createServer, type IncomingHttpHeaders, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteBucketEncryptionCommand,
  DeleteBucketPolicyCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  DeletePublicAccessBlockCommand,
  GetBucketAclCommand,
  GetBucketEncryptionCommand,
  GetBucketLocationCommand,
  GetBucketNotificationConfigurationCommand,
  GetBucketPolicyCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutBucketAclCommand,
  PutBucketEncryptionCommand,
  PutBucketNotificationConfigurationCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3'
import {parseCopySource, s3Authz, type S3Authz} from '../../../../src/lib/platform/auth/s3-actions.js'

interface Captured {
  method: string
  url: string
  headers: IncomingHttpHeaders
}

let server: Server
let client: S3Client
const captured: Captured[] = []

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      captured.push({method: req.method ?? '', url: req.url ?? '', headers: req.headers})
      res.writeHead(500, {'content-type': 'application/xml'})
      res.end('<Error><Code>Captured</Code><Message>captured</Message></Error>')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  client = new S3Client({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    forcePathStyle: true,
    maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    credentials: {accessKeyId: 'AKIDTEST', secretAccessKey: 'secret'},
  })
})

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

/** Send a real SDK command, then map what arrived on the wire (path-style: /bucket/key, decoded like the S3 service will). */
/** Any S3 command class (their Command generics do not unify). */
type S3Command = any

async function authzOf(command: S3Command): Promise<S3Authz> {
  const before = captured.length
  await client.send(command).catch(() => undefined)
  expect(captured.length).toBe(before + 1)
  const c = captured[captured.length - 1]
  const url = new URL(c.url, 'http://x')
  const [, bucket = '', ...rest] = url.pathname.split('/')
  const key = rest.length > 0 ? decodeURIComponent(rest.join('/')) : undefined
  return s3Authz(c.method, bucket ? decodeURIComponent(bucket) : undefined, key, url.searchParams, c.headers)
}

const B = 'cape-raw'
const ARN = `arn:aws:s3:::${B}`
const ODD = 'a b/c+d%2F#.csv'

describe('s3Authz with requests made by the real SDK', () => {
  it('service and bucket level', async () => {
    expect(await authzOf(new ListBucketsCommand({}))).toEqual({operation: 'ListBuckets', action: 's3:ListAllMyBuckets', resource: '*', context: {}})
    expect(await authzOf(new CreateBucketCommand({Bucket: B}))).toMatchObject({operation: 'CreateBucket', action: 's3:CreateBucket', resource: ARN})
    expect(await authzOf(new DeleteBucketCommand({Bucket: B}))).toMatchObject({operation: 'DeleteBucket', action: 's3:DeleteBucket', resource: ARN})
    expect(await authzOf(new HeadBucketCommand({Bucket: B}))).toMatchObject({operation: 'HeadBucket', action: 's3:ListBucket', resource: ARN})
  })

  it('listings carry s3:prefix / s3:delimiter / s3:max-keys', async () => {
    expect(await authzOf(new ListObjectsV2Command({Bucket: B, Prefix: 'home/alice/', Delimiter: '/', MaxKeys: 10}))).toEqual({
      operation: 'ListObjectsV2',
      action: 's3:ListBucket',
      resource: ARN,
      context: {'s3:prefix': 'home/alice/', 's3:delimiter': '/', 's3:max-keys': '10'},
    })
    expect(await authzOf(new ListObjectsV2Command({Bucket: B}))).toMatchObject({context: {'s3:prefix': ''}})
    expect(await authzOf(new ListObjectsCommand({Bucket: B, Prefix: 'a b+'}))).toMatchObject({operation: 'ListObjects', action: 's3:ListBucket', context: {'s3:prefix': 'a b+'}})
    expect(await authzOf(new ListMultipartUploadsCommand({Bucket: B, Prefix: 'x/'}))).toMatchObject({operation: 'ListMultipartUploads', action: 's3:ListBucketMultipartUploads', resource: ARN, context: {'s3:prefix': 'x/'}})
  })

  it('bucket configuration sub-resources', async () => {
    const cases: Array<[S3Command, string, string]> = [
      [new GetBucketPolicyCommand({Bucket: B}), 'GetBucketPolicy', 's3:GetBucketPolicy'],
      [new PutBucketPolicyCommand({Bucket: B, Policy: '{}'}), 'PutBucketPolicy', 's3:PutBucketPolicy'],
      [new DeleteBucketPolicyCommand({Bucket: B}), 'DeleteBucketPolicy', 's3:DeleteBucketPolicy'],
      [new GetBucketNotificationConfigurationCommand({Bucket: B}), 'GetBucketNotificationConfiguration', 's3:GetBucketNotification'],
      [new PutBucketNotificationConfigurationCommand({Bucket: B, NotificationConfiguration: {}}), 'PutBucketNotificationConfiguration', 's3:PutBucketNotification'],
      [new GetBucketVersioningCommand({Bucket: B}), 'GetBucketVersioning', 's3:GetBucketVersioning'],
      [new PutBucketVersioningCommand({Bucket: B, VersioningConfiguration: {Status: 'Enabled'}}), 'PutBucketVersioning', 's3:PutBucketVersioning'],
      [new GetBucketEncryptionCommand({Bucket: B}), 'GetBucketEncryption', 's3:GetEncryptionConfiguration'],
      [new PutBucketEncryptionCommand({Bucket: B, ServerSideEncryptionConfiguration: {Rules: [{ApplyServerSideEncryptionByDefault: {SSEAlgorithm: 'AES256'}}]}}), 'PutBucketEncryption', 's3:PutEncryptionConfiguration'],
      [new DeleteBucketEncryptionCommand({Bucket: B}), 'DeleteBucketEncryption', 's3:PutEncryptionConfiguration'],
      [new GetPublicAccessBlockCommand({Bucket: B}), 'GetPublicAccessBlock', 's3:GetBucketPublicAccessBlock'],
      [new PutPublicAccessBlockCommand({Bucket: B, PublicAccessBlockConfiguration: {BlockPublicAcls: true}}), 'PutPublicAccessBlock', 's3:PutBucketPublicAccessBlock'],
      [new DeletePublicAccessBlockCommand({Bucket: B}), 'DeletePublicAccessBlock', 's3:PutBucketPublicAccessBlock'],
      [new GetBucketAclCommand({Bucket: B}), 'GetBucketAcl', 's3:GetBucketAcl'],
      [new PutBucketAclCommand({Bucket: B, ACL: 'private'}), 'PutBucketAcl', 's3:PutBucketAcl'],
      [new GetBucketLocationCommand({Bucket: B}), 'GetBucketLocation', 's3:GetBucketLocation'],
    ]
    for (const [command, operation, action] of cases) {
      expect(await authzOf(command), operation).toMatchObject({operation, action, resource: ARN})
    }
  })

  it('objects, with odd keys kept verbatim in the ARN', async () => {
    const obj = `${ARN}/${ODD}`
    expect(await authzOf(new GetObjectCommand({Bucket: B, Key: ODD}))).toEqual({operation: 'GetObject', action: 's3:GetObject', resource: obj, context: {}})
    expect(await authzOf(new GetObjectCommand({Bucket: B, Key: ODD, VersionId: 'v1'}))).toMatchObject({action: 's3:GetObjectVersion', context: {'s3:versionid': 'v1'}})
    expect(await authzOf(new HeadObjectCommand({Bucket: B, Key: ODD}))).toMatchObject({operation: 'HeadObject', action: 's3:GetObject', resource: obj})
    expect(await authzOf(new PutObjectCommand({Bucket: B, Key: ODD, Body: 'x', ServerSideEncryption: 'AES256'}))).toEqual({
      operation: 'PutObject',
      action: 's3:PutObject',
      resource: obj,
      context: {'s3:x-amz-server-side-encryption': 'AES256', 's3:ObjectCreationOperation': 'true'},
    })
    expect((await authzOf(new PutObjectCommand({Bucket: B, Key: ODD, Body: 'x', IfNoneMatch: '*'}))).context).toMatchObject({'s3:if-none-match': '*'})
    expect((await authzOf(new PutObjectCommand({Bucket: B, Key: ODD, Body: 'x'}))).context['s3:if-none-match']).toBeUndefined()
    expect(await authzOf(new DeleteObjectCommand({Bucket: B, Key: ODD}))).toMatchObject({operation: 'DeleteObject', action: 's3:DeleteObject', resource: obj})
  })

  it('CopyObject needs s3:GetObject on the source', async () => {
    const a = await authzOf(new CopyObjectCommand({Bucket: 'cape-curated', Key: 'out/x.csv', CopySource: `${B}/${encodeURIComponent(ODD).replace(/%2F/g, '/')}`, MetadataDirective: 'COPY'}))
    expect(a).toMatchObject({operation: 'CopyObject', action: 's3:PutObject', resource: 'arn:aws:s3:::cape-curated/out/x.csv'})
    expect(a.extra).toEqual([{action: 's3:GetObject', resource: `${ARN}/${ODD}`}])
    expect(a.context['s3:x-amz-metadata-directive']).toBe('COPY')
  })

  it('DeleteObjects is checked per key', async () => {
    expect(await authzOf(new DeleteObjectsCommand({Bucket: B, Delete: {Objects: [{Key: 'a'}, {Key: 'b'}]}}))).toMatchObject({
      operation: 'DeleteObjects',
      action: 's3:DeleteObject',
      resource: `${ARN}/*`,
      perKey: true,
    })
  })

  it('multipart uploads', async () => {
    const obj = `${ARN}/big/file.csv`
    expect(await authzOf(new CreateMultipartUploadCommand({Bucket: B, Key: 'big/file.csv'}))).toMatchObject({operation: 'CreateMultipartUpload', action: 's3:PutObject', resource: obj})
    expect(await authzOf(new UploadPartCommand({Bucket: B, Key: 'big/file.csv', UploadId: 'u1', PartNumber: 1, Body: 'x'}))).toMatchObject({operation: 'UploadPart', action: 's3:PutObject', resource: obj})
    expect((await authzOf(new UploadPartCommand({Bucket: B, Key: 'big/file.csv', UploadId: 'u1', PartNumber: 1, Body: 'x'}))).context['s3:ObjectCreationOperation']).toBe('false')
    expect((await authzOf(new CreateMultipartUploadCommand({Bucket: B, Key: 'big/file.csv'}))).context['s3:ObjectCreationOperation']).toBe('false')
    const copy = await authzOf(new UploadPartCopyCommand({Bucket: B, Key: 'big/file.csv', UploadId: 'u1', PartNumber: 2, CopySource: `/${B}/src.csv?versionId=v9`}))
    expect(copy).toMatchObject({operation: 'UploadPartCopy', action: 's3:PutObject', extra: [{action: 's3:GetObjectVersion', resource: `${ARN}/src.csv`}]})
    expect(await authzOf(new CompleteMultipartUploadCommand({Bucket: B, Key: 'big/file.csv', UploadId: 'u1', MultipartUpload: {Parts: [{ETag: '"e"', PartNumber: 1}]}}))).toMatchObject({operation: 'CompleteMultipartUpload', action: 's3:PutObject', resource: obj})
    expect(await authzOf(new AbortMultipartUploadCommand({Bucket: B, Key: 'big/file.csv', UploadId: 'u1'}))).toMatchObject({operation: 'AbortMultipartUpload', action: 's3:AbortMultipartUpload', resource: obj})
    expect(await authzOf(new ListPartsCommand({Bucket: B, Key: 'big/file.csv', UploadId: 'u1'}))).toMatchObject({operation: 'ListParts', action: 's3:ListMultipartUploadParts', resource: obj})
  })
})

describe('s3Authz: unknown requests', () => {
  it('maps unknown sub-resources to an action only s3:* grants', () => {
    expect(s3Authz('GET', B, undefined, new URLSearchParams('intelligent-tiering'), {})).toMatchObject({operation: 'Unsupported', action: 's3:UnsupportedOperation', resource: ARN})
    expect(s3Authz('PATCH', B, 'k', new URLSearchParams(), {})).toMatchObject({operation: 'Unsupported', resource: `${ARN}/k`})
    expect(s3Authz('DELETE', undefined, undefined, new URLSearchParams(), {})).toMatchObject({operation: 'Unsupported', resource: '*'})
  })
})

describe('parseCopySource', () => {
  it('parses the forms clients send', () => {
    expect(parseCopySource('/b/a%20b/c%2Bd%252F%23.csv')).toEqual({bucket: 'b', key: 'a b/c+d%2F#.csv'})
    expect(parseCopySource('b/k?versionId=3')).toEqual({bucket: 'b', key: 'k', versionId: '3'})
    expect(parseCopySource('b%2Fk')).toEqual({bucket: 'b', key: 'k'})
    expect(parseCopySource('just-a-bucket')).toBeNull()
    expect(parseCopySource('b/%E0%A4%A')).toBeNull()
  })
})
