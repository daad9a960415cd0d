import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import {execFile, spawnSync} from 'node:child_process'
import {readdir} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {AuthError} from '../../../../src/lib/platform/auth/sigv4.js'
import {startS3, type S3Fixture} from './fixture.js'

const LIMITED_KEY = 'AKIALIMITEDLIMITED00'
const DENIED = new Set(['s3:GetObjectVersion', 's3:ListBucketVersions', 's3:DeleteObjectVersion', 's3:PutBucketVersioning'])

describe('S3 object versioning', () => {
  let s3: S3Fixture
  let client: S3Client
  const body = async (Bucket: string, Key: string, VersionId?: string) =>
    (await client.send(new GetObjectCommand({Bucket, Key, VersionId}))).Body!.transformToString()
  const enable = (Bucket: string, Status: 'Enabled' | 'Suspended' = 'Enabled') =>
    client.send(new PutBucketVersioningCommand({Bucket, VersioningConfiguration: {Status}}))
  const put = async (Bucket: string, Key: string, Body: string) => (await client.send(new PutObjectCommand({Bucket, Key, Body}))).VersionId

  beforeAll(async () => {
    s3 = await startS3({
      authorize: async (req, check) => {
        if (String(req.headers.authorization ?? '').includes(LIMITED_KEY) && DENIED.has(check.action)) {
          throw new AuthError('AccessDenied', 'Access Denied', 403)
        }
      },
    })
    client = s3.client()
  })
  afterAll(() => s3.close())

  it('a bucket that never had versioning: empty configuration, objects listed with version id null', async () => {
    await client.send(new CreateBucketCommand({Bucket: 'plain'}))
    const cfg = await client.send(new GetBucketVersioningCommand({Bucket: 'plain'}))
    expect(cfg.Status).toBeUndefined()
    expect(await put('plain', 'a', 'A')).toBeUndefined()
    const list = await client.send(new ListObjectVersionsCommand({Bucket: 'plain'}))
    expect(list.Versions).toMatchObject([{Key: 'a', VersionId: 'null', IsLatest: true, Size: 1}])
    expect(list.DeleteMarkers).toBeUndefined()
    expect(await body('plain', 'a', 'null')).toBe('A')
    expect(s3.checks.at(-1)).toMatchObject({action: 's3:GetObjectVersion'})
  })

  it('keeps every version; GET/HEAD/DELETE by versionId; x-amz-version-id on PUT/GET/HEAD', async () => {
    await client.send(new CreateBucketCommand({Bucket: 'ver'}))
    await put('ver', 'k', 'before') // written before versioning: version null
    await enable('ver')
    expect((await client.send(new GetBucketVersioningCommand({Bucket: 'ver'}))).Status).toBe('Enabled')
    const v1 = await put('ver', 'k', 'one')
    const v2 = await put('ver', 'k', 'two')
    expect(v1).toMatch(/^[A-Za-z0-9_-]{32}$/)
    expect(v2).not.toBe(v1)
    expect(await body('ver', 'k')).toBe('two')
    expect((await client.send(new GetObjectCommand({Bucket: 'ver', Key: 'k'}))).VersionId).toBe(v2)
    expect(await body('ver', 'k', v1)).toBe('one')
    expect(await body('ver', 'k', 'null')).toBe('before')
    const head = await client.send(new HeadObjectCommand({Bucket: 'ver', Key: 'k', VersionId: v1}))
    expect(head).toMatchObject({VersionId: v1, ContentLength: 3})
    const list = await client.send(new ListObjectVersionsCommand({Bucket: 'ver', Prefix: 'k'}))
    expect(list.Versions?.map((v) => [v.VersionId, v.IsLatest])).toEqual([[v2, true], [v1, false], ['null', false]])
    await expect(client.send(new GetObjectCommand({Bucket: 'ver', Key: 'k', VersionId: 'A'.repeat(32)}))).rejects.toMatchObject({name: 'NoSuchVersion'})

    // deleting the current version makes the previous one current again
    const del = await client.send(new DeleteObjectCommand({Bucket: 'ver', Key: 'k', VersionId: v2}))
    expect(del.VersionId).toBe(v2)
    expect(s3.checks.at(-1)).toMatchObject({action: 's3:DeleteObjectVersion'})
    expect(await body('ver', 'k')).toBe('one')
    await client.send(new DeleteObjectCommand({Bucket: 'ver', Key: 'k', VersionId: 'null'}))
    const after = await client.send(new ListObjectVersionsCommand({Bucket: 'ver', Prefix: 'k'}))
    expect(after.Versions?.map((v) => v.VersionId)).toEqual([v1])
  })

  it('DELETE without versionId creates a delete marker: GET 404 with x-amz-delete-marker, GET of the marker 405', async () => {
    const v1 = await put('ver', 'm', 'data')
    const del = await client.send(new DeleteObjectCommand({Bucket: 'ver', Key: 'm'}))
    expect(del.DeleteMarker).toBe(true)
    expect(del.VersionId).toMatch(/^[A-Za-z0-9_-]{32}$/)
    const got = await client.send(new GetObjectCommand({Bucket: 'ver', Key: 'm'})).catch((e: unknown) => e)
    expect(got).toMatchObject({name: 'NoSuchKey', $metadata: {httpStatusCode: 404}})
    const res = await fetch(`${s3.endpoint}/ver/m`)
    expect(res.status).toBe(404)
    expect(res.headers.get('x-amz-delete-marker')).toBe('true')
    expect(res.headers.get('x-amz-version-id')).toBe(del.VersionId)
    const marker = await fetch(`${s3.endpoint}/ver/m?versionId=${del.VersionId}`)
    expect(marker.status).toBe(405)
    expect(await marker.text()).toContain('<Code>MethodNotAllowed</Code>')
    expect(marker.headers.get('x-amz-delete-marker')).toBe('true')
    expect((await client.send(new ListObjectsV2Command({Bucket: 'ver', Prefix: 'm'}))).Contents).toBeUndefined()
    const list = await client.send(new ListObjectVersionsCommand({Bucket: 'ver', Prefix: 'm'}))
    expect(list.DeleteMarkers).toMatchObject([{Key: 'm', VersionId: del.VersionId, IsLatest: true}])
    expect(list.Versions).toMatchObject([{Key: 'm', VersionId: v1, IsLatest: false}])
    // removing the marker brings the object back
    const undo = await client.send(new DeleteObjectCommand({Bucket: 'ver', Key: 'm', VersionId: del.VersionId}))
    expect(undo.DeleteMarker).toBe(true)
    expect(await body('ver', 'm')).toBe('data')
  })

  it('DeleteObjects with VersionId entries; deleting every version empties the versions dir and the bucket', async () => {
    await client.send(new CreateBucketCommand({Bucket: 'multi'}))
    await enable('multi')
    const a1 = await put('multi', 'a', '1')
    const a2 = await put('multi', 'a', '2')
    const res = await client.send(new DeleteObjectsCommand({Bucket: 'multi', Delete: {Objects: [{Key: 'a', VersionId: a1}, {Key: 'b'}]}}))
    expect(res.Deleted).toEqual(expect.arrayContaining([{Key: 'a', VersionId: a1}, expect.objectContaining({Key: 'b', DeleteMarker: true})]))
    await expect(client.send(new DeleteBucketCommand({Bucket: 'multi'}))).rejects.toMatchObject({name: 'BucketNotEmpty'})
    const all = await client.send(new ListObjectVersionsCommand({Bucket: 'multi'}))
    const entries = [...(all.Versions ?? []), ...(all.DeleteMarkers ?? [])].map((v) => ({Key: v.Key, VersionId: v.VersionId}))
    expect(entries.map((e) => e.VersionId)).toContain(a2)
    await client.send(new DeleteObjectsCommand({Bucket: 'multi', Delete: {Objects: entries}}))
    expect(await readdir(join(s3.dataDir, 'versions', 'multi'))).toEqual([])
    await client.send(new DeleteBucketCommand({Bucket: 'multi'}))
  })

  it('pages ListObjectVersions with max-keys, key and version-id markers, delimiter and encoding-type=url', async () => {
    await client.send(new CreateBucketCommand({Bucket: 'pages'}))
    await enable('pages')
    for (const key of ['a', 'b', 'dir/x', 'dir/y', 'sp ace']) {
      await put('pages', key, `${key}1`)
      await put('pages', key, `${key}2`)
    }
    const seen: string[] = []
    let KeyMarker: string | undefined
    let VersionIdMarker: string | undefined
    for (let i = 0; i < 20; i++) {
      const page = await client.send(new ListObjectVersionsCommand({Bucket: 'pages', MaxKeys: 3, KeyMarker, VersionIdMarker}))
      seen.push(...(page.Versions ?? []).map((v) => `${v.Key}@${v.IsLatest ? 'latest' : 'old'}`))
      if (!page.IsTruncated) break
      ;({NextKeyMarker: KeyMarker, NextVersionIdMarker: VersionIdMarker} = page)
    }
    expect(seen).toEqual(['a', 'b', 'dir/x', 'dir/y', 'sp ace'].flatMap((k) => [`${k}@latest`, `${k}@old`]))
    const grouped = await client.send(new ListObjectVersionsCommand({Bucket: 'pages', Delimiter: '/', EncodingType: 'url'}))
    expect(grouped.CommonPrefixes).toEqual([{Prefix: 'dir/'}])
    expect(grouped.Versions?.map((v) => v.Key)).toEqual(['a', 'a', 'b', 'b', 'sp%20ace', 'sp%20ace'])
    const prefixPage = await client.send(new ListObjectVersionsCommand({Bucket: 'pages', Delimiter: '/', MaxKeys: 5}))
    expect(prefixPage).toMatchObject({IsTruncated: true, NextKeyMarker: 'dir/'})
    const rest = await client.send(new ListObjectVersionsCommand({Bucket: 'pages', Delimiter: '/', KeyMarker: 'dir/'}))
    expect(rest.Versions?.map((v) => v.Key)).toEqual(['sp ace', 'sp ace'])
  })

  it('suspended: new writes get version null, replacing the previous null version; older versions stay', async () => {
    await client.send(new CreateBucketCommand({Bucket: 'susp'}))
    await enable('susp')
    const v1 = await put('susp', 'k', 'kept')
    await enable('susp', 'Suspended')
    expect((await client.send(new GetBucketVersioningCommand({Bucket: 'susp'}))).Status).toBe('Suspended')
    await put('susp', 'k', 'n1')
    await put('susp', 'k', 'n2')
    const list = await client.send(new ListObjectVersionsCommand({Bucket: 'susp'}))
    expect(list.Versions?.map((v) => [v.VersionId, v.IsLatest])).toEqual([['null', true], [v1, false]])
    expect(await body('susp', 'k')).toBe('n2')
    expect(await body('susp', 'k', v1)).toBe('kept')
    const del = await client.send(new DeleteObjectCommand({Bucket: 'susp', Key: 'k'}))
    expect(del).toMatchObject({DeleteMarker: true, VersionId: 'null'})
    const after = await client.send(new ListObjectVersionsCommand({Bucket: 'susp'}))
    expect(after.DeleteMarkers?.map((m) => m.VersionId)).toEqual(['null'])
    expect(after.Versions?.map((v) => v.VersionId)).toEqual([v1])
  })

  it('CopyObject from a version (x-amz-copy-source-version-id) and multipart uploads get version ids', async () => {
    const v1 = await put('ver', 'src', 'old bytes')
    await put('ver', 'src', 'new bytes')
    const copy = await client.send(new CopyObjectCommand({Bucket: 'ver', Key: 'dst', CopySource: `ver/src?versionId=${v1}`}))
    expect(copy.CopySourceVersionId).toBe(v1)
    expect(copy.VersionId).toMatch(/^[A-Za-z0-9_-]{32}$/)
    expect(s3.checks.some((c) => c.action === 's3:GetObjectVersion' && c.resource === 'arn:aws:s3:::ver/src')).toBe(true)
    expect(await body('ver', 'dst')).toBe('old bytes')
    // restore an old version over the key itself
    await client.send(new CopyObjectCommand({Bucket: 'ver', Key: 'src', CopySource: `ver/src?versionId=${v1}`}))
    expect(await body('ver', 'src')).toBe('old bytes')
    const {UploadId} = await client.send(new CreateMultipartUploadCommand({Bucket: 'ver', Key: 'mp'}))
    const {ETag} = await client.send(new UploadPartCommand({Bucket: 'ver', Key: 'mp', UploadId, PartNumber: 1, Body: 'x'}))
    const done = await client.send(new CompleteMultipartUploadCommand({Bucket: 'ver', Key: 'mp', UploadId, MultipartUpload: {Parts: [{PartNumber: 1, ETag}]}}))
    expect(done.VersionId).toMatch(/^[A-Za-z0-9_-]{32}$/)
  })

  it('IAM: a user without s3:GetObjectVersion / s3:ListBucketVersions is denied; plain GET still works', async () => {
    const limited = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: {accessKeyId: LIMITED_KEY, secretAccessKey: 'secret'},
      maxAttempts: 1,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    })
    try {
      const v = await put('ver', 'iam', 'x')
      expect(await (await limited.send(new GetObjectCommand({Bucket: 'ver', Key: 'iam'}))).Body!.transformToString()).toBe('x')
      await expect(limited.send(new GetObjectCommand({Bucket: 'ver', Key: 'iam', VersionId: v}))).rejects.toMatchObject({name: 'AccessDenied'})
      await expect(limited.send(new ListObjectVersionsCommand({Bucket: 'ver'}))).rejects.toMatchObject({name: 'AccessDenied'})
      await expect(limited.send(new DeleteObjectCommand({Bucket: 'ver', Key: 'iam', VersionId: v}))).rejects.toMatchObject({name: 'AccessDenied'})
      await expect(limited.send(new PutBucketVersioningCommand({Bucket: 'ver', VersioningConfiguration: {Status: 'Suspended'}}))).rejects.toMatchObject({
        name: 'AccessDenied',
      })
      expect(await body('ver', 'iam', v)).toBe('x')
    } finally {
      limited.destroy()
    }
  })

  it('concurrent writes to one key each get a version; versions survive a restart of the service', async () => {
    await client.send(new CreateBucketCommand({Bucket: 'race'}))
    await enable('race')
    const ids = await Promise.all(Array.from({length: 12}, (_, i) => put('race', 'k', `v${i}`)))
    expect(new Set(ids).size).toBe(12)
    const listed = await client.send(new ListObjectVersionsCommand({Bucket: 'race'}))
    expect(listed.Versions?.map((v) => v.VersionId).sort()).toEqual([...ids].sort())
    const current = listed.Versions!.find((v) => v.IsLatest)!
    expect(await body('race', 'k')).toBe(await body('race', 'k', current.VersionId))

    const again = await startS3({dataDir: s3.dataDir})
    try {
      const c2 = again.client()
      const oldest = listed.Versions!.at(-1)!.VersionId
      const res = await c2.send(new GetObjectCommand({Bucket: 'race', Key: 'k', VersionId: oldest}))
      expect(ids).toContain(res.VersionId)
      expect((await c2.send(new ListObjectVersionsCommand({Bucket: 'race'}))).Versions).toHaveLength(12)
    } finally {
      await again.close({keepData: true})
    }
  })

  it('MFA delete answers NotImplemented; the setting is left as it was', async () => {
    await expect(
      client.send(new PutBucketVersioningCommand({Bucket: 'ver', VersioningConfiguration: {Status: 'Enabled', MFADelete: 'Enabled'}, MFA: 'arn:aws:iam::123456789012:mfa/x 123456'})),
    ).rejects.toMatchObject({name: 'NotImplemented', $metadata: {httpStatusCode: 501}})
    const after = await client.send(new GetBucketVersioningCommand({Bucket: 'ver'}))
    expect(after.Status).toBe('Enabled')
    expect(after.MFADelete).toBeUndefined()
  })

  it('internal putBucketSetting (the CloudFormation provider’s path) turns versioning on', async () => {
    await s3.service.createBucket('cfn-raw')
    await s3.service.putBucketSetting('cfn-raw', 'versioning', {Status: 'Enabled'})
    const v = await put('cfn-raw', 'k', '1')
    expect(v).toMatch(/^[A-Za-z0-9_-]{32}$/)
    await s3.service.putObjectBytes('cfn-raw', 'k', Buffer.from('2'))
    const list = await client.send(new ListObjectVersionsCommand({Bucket: 'cfn-raw'}))
    expect(list.Versions?.map((x) => x.IsLatest)).toEqual([true, false])
    expect(await body('cfn-raw', 'k', v)).toBe('1')
  })

  // Debian's aws cli as an independent client
  it.skipIf(spawnSync('/usr/bin/aws', ['--version']).status !== 0)('aws cli: s3api list-object-versions and get-object --version-id', async () => {
    const v1 = await put('ver', 'cli', 'first')
    await put('ver', 'cli', 'second')
    const env = {...process.env, AWS_ACCESS_KEY_ID: 'AKIATESTTESTTESTTEST', AWS_SECRET_ACCESS_KEY: 'secret', AWS_DEFAULT_REGION: 'us-east-1', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null'}
    const run = promisify(execFile)
    const {stdout} = await run('/usr/bin/aws', ['--endpoint-url', s3.endpoint, 's3api', 'list-object-versions', '--bucket', 'ver', '--prefix', 'cli'], {env, timeout: 60_000})
    const listed = JSON.parse(stdout) as {Versions: Array<{VersionId: string; IsLatest: boolean}>}
    expect(listed.Versions.map((v) => v.IsLatest)).toEqual([true, false])
    expect(listed.Versions[1].VersionId).toBe(v1)
    const out = join(s3.dataDir, 'cli-out')
    await run('/usr/bin/aws', ['--endpoint-url', s3.endpoint, 's3api', 'get-object', '--bucket', 'ver', '--key', 'cli', '--version-id', v1!, out], {env, timeout: 60_000})
    const {readFile} = await import('node:fs/promises')
    expect(await readFile(out, 'utf8')).toBe('first')
  })

  // python3-boto3 as a second independent client
  it.skipIf(spawnSync('python3', ['-c', 'import boto3']).status !== 0)('boto3: list_object_versions paginator and delete markers', async () => {
    await client.send(new CreateBucketCommand({Bucket: 'boto'}))
    await enable('boto')
    const script = [
      'import sys, boto3, json',
      "c = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='AKIATESTTESTTESTTEST', aws_secret_access_key='secret')",
      "for i in range(3): c.put_object(Bucket='boto', Key='k', Body=str(i).encode())",
      "d = c.delete_object(Bucket='boto', Key='k')",
      "vs, ms = [], []",
      "for p in c.get_paginator('list_object_versions').paginate(Bucket='boto', PaginationConfig={'PageSize': 1}):",
      "  vs += p.get('Versions', []); ms += p.get('DeleteMarkers', [])",
      "old = c.get_object(Bucket='boto', Key='k', VersionId=vs[-1]['VersionId'])['Body'].read().decode()",
      "print(json.dumps({'marker': d.get('DeleteMarker'), 'versions': len(vs), 'markers': len(ms), 'oldest': old}))",
    ].join('\n')
    const {stdout} = await promisify(execFile)('python3', ['-c', script, s3.endpoint], {encoding: 'utf8', timeout: 30_000})
    expect(JSON.parse(stdout)).toEqual({marker: true, versions: 3, markers: 1, oldest: '0'})
  })
})
