import {
  CreateBucketCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  paginateListObjectsV2,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import pLimit from 'p-limit'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {compareKeys, listPage} from '../../../../src/lib/platform/s3/listing.js'
import {startS3, type S3Fixture} from './fixture.js'

const pad = (n: number, w: number) => String(n).padStart(w, '0')

describe('listPage (pure)', () => {
  const keys = ['a', 'a!', 'a.b', 'a/1', 'a/2', 'a/3/x', 'a0', 'b/1', 'b/2', 'c'].sort(compareKeys)

  it('sorts in byte order (a.b before a/…)', () => {
    expect(keys).toEqual(['a', 'a!', 'a.b', 'a/1', 'a/2', 'a/3/x', 'a0', 'b/1', 'b/2', 'c'])
  })

  it('counts common prefixes towards maxKeys and resumes after a common prefix', () => {
    const seen: string[] = []
    let marker: string | undefined
    for (let i = 0; i < 10; i++) {
      const page = listPage(keys, {delimiter: '/', maxKeys: 2, ...(marker ? {marker} : {})})
      seen.push(...page.keys, ...page.commonPrefixes.map((p) => `CP:${p}`))
      if (!page.isTruncated) break
      marker = page.last
    }
    expect(seen).toEqual(['a', 'a!', 'a.b', 'CP:a/', 'a0', 'CP:b/', 'c'])
  })

  it('applies prefix, startAfter and nested delimiters', () => {
    expect(listPage(keys, {prefix: 'a/', delimiter: '/', maxKeys: 1000})).toMatchObject({keys: ['a/1', 'a/2'], commonPrefixes: ['a/3/'], isTruncated: false})
    expect(listPage(keys, {startAfter: 'a/2', maxKeys: 3}).keys).toEqual(['a/3/x', 'a0', 'b/1'])
  })
})

describe('ListObjects over the wire', () => {
  let s3: S3Fixture
  let client: S3Client
  const bucket = 'listing'
  const flat = Array.from({length: 1100}, (_, i) => `flat-${pad(i, 4)}`)
  const nested = Array.from({length: 400}, (_, i) => `dir-${pad(Math.floor(i / 10), 2)}/f-${pad(i % 10, 2)}`)
  const all = [...flat, ...nested].sort(compareKeys)

  beforeAll(async () => {
    s3 = await startS3()
    client = s3.client()
    await client.send(new CreateBucketCommand({Bucket: bucket}))
    const limit = pLimit(16)
    await Promise.all(all.map((key) => limit(() => s3.service.putObjectBytes(bucket, key, Buffer.from(key)))))
  })
  afterAll(() => s3.close())

  it('lists 1,500 keys with continuation tokens (ListObjectsV2 paginator)', async () => {
    const pages: number[] = []
    const keys: string[] = []
    for await (const page of paginateListObjectsV2({client}, {Bucket: bucket})) {
      pages.push(page.KeyCount ?? -1)
      keys.push(...(page.Contents ?? []).map((c) => c.Key as string))
    }
    expect(pages).toEqual([1000, 500])
    expect(keys).toEqual(all)
  })

  it('lists with a delimiter across pages: common prefixes count and are never repeated', async () => {
    const keys: string[] = []
    const prefixes: string[] = []
    let pageCount = 0
    for await (const page of paginateListObjectsV2({client}, {Bucket: bucket, Delimiter: '/'})) {
      pageCount++
      keys.push(...(page.Contents ?? []).map((c) => c.Key as string))
      prefixes.push(...(page.CommonPrefixes ?? []).map((p) => p.Prefix as string))
    }
    expect(pageCount).toBe(2)
    expect(keys).toEqual(flat)
    expect(prefixes).toEqual(Array.from({length: 40}, (_, i) => `dir-${pad(i, 2)}/`))
  })

  it('pages through common prefixes with small MaxKeys, prefix and StartAfter', async () => {
    const prefixes: string[] = []
    let token: string | undefined
    let pages = 0
    do {
      const page = await client.send(new ListObjectsV2Command({Bucket: bucket, Prefix: 'dir-0', Delimiter: '/', MaxKeys: 3, ContinuationToken: token}))
      pages++
      expect(page.Contents ?? []).toEqual([])
      prefixes.push(...(page.CommonPrefixes ?? []).map((p) => p.Prefix as string))
      token = page.NextContinuationToken
      expect(Boolean(token)).toBe(page.IsTruncated)
    } while (token)
    expect(pages).toBe(4)
    expect(prefixes).toEqual(Array.from({length: 10}, (_, i) => `dir-0${i}/`))

    const after = await client.send(new ListObjectsV2Command({Bucket: bucket, StartAfter: 'flat-1097', MaxKeys: 4}))
    expect(after.Contents?.map((c) => c.Key)).toEqual(['flat-1098', 'flat-1099'])
    expect(after.IsTruncated).toBe(false)
  })

  it('reports object details and rejects a forged continuation token', async () => {
    const page = await client.send(new ListObjectsV2Command({Bucket: bucket, Prefix: 'dir-01/f-03'}))
    expect(page.Contents).toHaveLength(1)
    expect(page.Contents?.[0]).toMatchObject({Key: 'dir-01/f-03', Size: 'dir-01/f-03'.length, StorageClass: 'STANDARD'})
    expect(page.Contents?.[0].ETag).toMatch(/^"[0-9a-f]{32}"$/)
    await expect(client.send(new ListObjectsV2Command({Bucket: bucket, ContinuationToken: 'bm90LWEtdG9rZW4'}))).rejects.toMatchObject({
      name: 'InvalidArgument',
      $metadata: {httpStatusCode: 400},
    })
  })

  it('supports ListObjects (v1) with Marker/NextMarker', async () => {
    const first = await client.send(new ListObjectsCommand({Bucket: bucket, Delimiter: '/', MaxKeys: 1000}))
    expect(first.IsTruncated).toBe(true)
    // dir-*/ sorts before flat-*: 40 common prefixes + 960 keys make the first 1,000 entries
    expect(first.CommonPrefixes).toHaveLength(40)
    expect(first.Contents).toHaveLength(960)
    expect(first.NextMarker).toBe('flat-0959')
    const second = await client.send(new ListObjectsCommand({Bucket: bucket, Delimiter: '/', Marker: first.NextMarker}))
    expect(second.IsTruncated).toBe(false)
    expect(second.CommonPrefixes ?? []).toEqual([])
    expect([...(first.Contents ?? []), ...(second.Contents ?? [])].map((c) => c.Key)).toEqual(flat)
  })

  it('keeps byte order for keys that share a stem', async () => {
    const b = 'order'
    await client.send(new CreateBucketCommand({Bucket: b}))
    const keys = ['a/b', 'a.b', 'a-b', 'a', 'a/', 'ab', 'é', 'z']
    for (const Key of keys) await client.send(new PutObjectCommand({Bucket: b, Key, Body: Key}))
    const listed = await client.send(new ListObjectsV2Command({Bucket: b}))
    expect(listed.Contents?.map((c) => c.Key)).toEqual([...keys].sort(compareKeys))
    expect(listed.Contents?.map((c) => c.Key)).toEqual(['a', 'a-b', 'a.b', 'a/', 'a/b', 'ab', 'z', 'é'])
  })
})
