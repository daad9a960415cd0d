import {createHash, randomBytes} from 'node:crypto'
import {rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {CreateBucketCommand, GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command} from '@aws-sdk/client-s3'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {createClients, type AwsClients} from '../../../src/lib/aws/clients.js'
import {createS3Writer, FileChangedError, uploadFile} from '../../../src/lib/ingest/s3-writer.js'
import {startPlatform, type Platform} from '../../../src/lib/platform/server.js'
import {tempDir} from '../../helpers/cli.js'

let platform: Platform
let clients: AwsClients
const bucket = 'writer-test'
const MiB = 1024 * 1024

beforeAll(async () => {
  platform = await startPlatform({dataDir: tempDir('cape-writer-'), port: 0})
  clients = createClients({region: platform.region, endpoint: platform.endpoint, credentials: platform.adminCredentials})
  await clients.s3.send(new CreateBucketCommand({Bucket: bucket}))
})
afterAll(async () => {
  clients?.destroy()
  await platform?.close()
  if (platform) rmSync(platform.dataDir, {recursive: true, force: true})
})

const chunks = (data: Buffer, size: number) => Readable.from((function* () {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size)
})())
const get = async (key: string) => {
  const o = await clients.s3.send(new GetObjectCommand({Bucket: bucket, Key: key}))
  return {body: Buffer.from(await o.Body!.transformToByteArray()), meta: o.Metadata, type: o.ContentType}
}
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const uploads = async () => (await clients.s3.send(new ListMultipartUploadsCommand({Bucket: bucket}))).Uploads ?? []

describe('createS3Writer', () => {
  it('small data: one PUT with metadata and content type; empty data: an empty object', async () => {
    const w = createS3Writer({s3: clients.s3, bucket, key: 'small.csv', contentType: 'text/csv', metadata: {'cape-x': '1'}})
    await pipeline(chunks(Buffer.from('a,b\n1,2\n'), 3), w.stream)
    expect(await w.done).toEqual({bytes: 8, parts: 1})
    expect(await get('small.csv')).toMatchObject({body: Buffer.from('a,b\n1,2\n'), meta: {'cape-x': '1'}, type: 'text/csv'})
    const e = createS3Writer({s3: clients.s3, bucket, key: 'empty.csv'})
    await pipeline(Readable.from([]), e.stream)
    expect((await get('empty.csv')).body.length).toBe(0)
  })

  it('large data: multipart with reused part buffers, byte for byte, whatever the chunk sizes', async () => {
    const data = randomBytes(17 * MiB + 12345)
    const w = createS3Writer({s3: clients.s3, bucket, key: 'big.bin', partSize: 5 * MiB, queueSize: 2, metadata: {'cape-sha256': sha(data)}})
    await pipeline(chunks(data, 777_777), w.stream)
    expect(await w.done).toEqual({bytes: data.length, parts: 4})
    const got = await get('big.bin')
    expect(sha(got.body)).toBe(sha(data))
    expect(got.meta).toEqual({'cape-sha256': sha(data)})
    expect(await uploads()).toEqual([])
  })

  it('destroyed with an error mid-way: the multipart upload is aborted and no object appears', async () => {
    const w = createS3Writer({s3: clients.s3, bucket, key: 'broken.bin', partSize: 5 * MiB})
    const source = new Readable({read() {}})
    const running = pipeline(source, w.stream)
    source.push(randomBytes(11 * MiB))
    await new Promise((r) => setTimeout(r, 300))
    source.destroy(new Error('disk unplugged'))
    await expect(running).rejects.toThrow('disk unplugged')
    await expect(w.done).rejects.toThrow('disk unplugged')
    expect(await uploads()).toEqual([])
    const listed = await clients.s3.send(new ListObjectsV2Command({Bucket: bucket, Prefix: 'broken'}))
    expect(listed.KeyCount).toBe(0)
  })

  it('an abort signal stops it the same way', async () => {
    const ac = new AbortController()
    const w = createS3Writer({s3: clients.s3, bucket, key: 'aborted.bin', partSize: 5 * MiB, signal: ac.signal})
    const source = new Readable({read() {}})
    const running = pipeline(source, w.stream).catch((e) => e)
    source.push(randomBytes(6 * MiB))
    await new Promise((r) => setTimeout(r, 200))
    ac.abort(new Error('interrupted'))
    await expect(w.done).rejects.toThrow('interrupted')
    await running
    expect(await uploads()).toEqual([])
  })
})

describe('uploadFile', () => {
  const dir = tempDir('cape-upload-file-')
  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  it('a file: multipart, read straight into the part buffers, byte for byte; a small one: one PUT', async () => {
    const data = randomBytes(11 * MiB + 3)
    const file = path.join(dir, 'big.bin')
    writeFileSync(file, data)
    let seen = 0
    const r = await uploadFile({s3: clients.s3, bucket, key: 'file-big.bin', file, partSize: 5 * MiB, queueSize: 2, expectedBytes: data.length, metadata: {'cape-x': 'y'}, onBytes: (b) => (seen += b.length)})
    expect(r).toEqual({bytes: data.length, parts: 3})
    expect(seen).toBe(data.length)
    const got = await get('file-big.bin')
    expect(sha(got.body)).toBe(sha(data))
    expect(got.meta).toEqual({'cape-x': 'y'})
    const small = path.join(dir, 'small.csv')
    writeFileSync(small, 'a,b\n')
    expect(await uploadFile({s3: clients.s3, bucket, key: 'file-small.csv', file: small, contentType: 'text/csv'})).toEqual({bytes: 4, parts: 1})
    expect(await get('file-small.csv')).toMatchObject({body: Buffer.from('a,b\n'), type: 'text/csv'})
    expect(await uploads()).toEqual([])
  })

  it('a file that is not the size it had when hashed: refused, the upload aborted, no object', async () => {
    const file = path.join(dir, 'changed.bin')
    writeFileSync(file, randomBytes(6 * MiB))
    const upload = uploadFile({s3: clients.s3, bucket, key: 'file-changed.bin', file, partSize: 5 * MiB, expectedBytes: 6 * MiB + 1})
    await expect(upload).rejects.toBeInstanceOf(FileChangedError)
    await expect(upload).rejects.toThrow(/changed while it was being uploaded \(6291457 bytes expected, 6291456 read\)/)
    expect(await uploads()).toEqual([])
    const listed = await clients.s3.send(new ListObjectsV2Command({Bucket: bucket, Prefix: 'file-changed'}))
    expect(listed.KeyCount).toBe(0)
  })
})

describe('uploadFile with copyFrom (the body is already in S3)', () => {
  const counted = () => {
    const c = createClients({region: platform.region, endpoint: platform.endpoint, credentials: platform.adminCredentials})
    const ops: string[] = []
    c.s3.middlewareStack.add((next, context) => async (args) => {
      ops.push(String(context.commandName))
      return next(args)
    }, {step: 'initialize'})
    return {c, ops}
  }

  it('sends the first part from the file and copies the rest server-side, once the source has landed', async () => {
    const data = randomBytes(21 * MiB)
    const file = path.join(tempDir('cape-copy-'), 'f.bin')
    writeFileSync(file, data)
    const {c, ops} = counted()
    const source = uploadFile({s3: c.s3, bucket, key: 'copy/raw.bin', file, partSize: 8 * MiB, expectedBytes: data.length})
    const header = Buffer.from('canonical,header\n')
    await uploadFile({s3: c.s3, bucket, key: 'copy/curated.bin', file, start: 100, prefix: header, partSize: 8 * MiB, expectedBytes: data.length, copyFrom: {bucket, key: 'copy/raw.bin', ready: source}})
    expect(sha((await get('copy/curated.bin')).body)).toBe(sha(Buffer.concat([header, data.subarray(100)])))
    expect(ops.filter((o) => o === 'UploadPartCopyCommand')).toHaveLength(2)
    expect(ops.filter((o) => o === 'UploadPartCommand')).toHaveLength(3 + 1) // the source's three, the copy's first
    c.destroy()
  })

  it('a source that does not land aborts the copying upload: nothing appears, no upload is left', async () => {
    const file = path.join(tempDir('cape-copy-'), 'f.bin')
    writeFileSync(file, randomBytes(12 * MiB))
    const failed = Promise.reject(new Error('raw did not land'))
    failed.catch(() => undefined)
    await expect(uploadFile({s3: clients.s3, bucket, key: 'copy/never.bin', file, partSize: 8 * MiB, expectedBytes: 12 * MiB, copyFrom: {bucket, key: 'copy/missing.bin', ready: failed}})).rejects.toThrow('raw did not land')
    expect((await uploads()).filter((u) => u.Key === 'copy/never.bin')).toEqual([])
    await expect(get('copy/never.bin')).rejects.toMatchObject({name: 'NoSuchKey'})
  })
})
