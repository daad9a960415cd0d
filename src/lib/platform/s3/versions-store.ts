import {createHash, randomBytes} from 'node:crypto'
import {link, mkdir, readdir, rm} from 'node:fs/promises'
import {join} from 'node:path'

import {readJsonFile, writeJsonFile} from '../state-file.js'

/** One version of a key (newest first in its index). */
export interface VersionEntry {
  id: string
  /** quoted ETag ('' for a delete marker) */
  etag: string
  size: number
  /** ISO time */
  lastModified: string
  deleteMarker?: boolean
  /** s3rver's stored metadata of the version (content-type, x-amz-meta-*, …) */
  metadata?: Record<string, unknown>
}

export interface VersionIndex {
  key: string
  /** newest first: versions[0] is the current version (in s3rver's layout unless it is a delete marker) */
  versions: VersionEntry[]
}

/** A new version id: 32 URL-safe characters, opaque, like S3's. */
export const newVersionId = (): string => randomBytes(24).toString('base64url')

const VERSION_ID = /^(null|[A-Za-z0-9._-]{1,1024})$/

export const isValidVersionId = (id: string): boolean => VERSION_ID.test(id)

/**
 * Non-current versions on disk: <root>/<bucket>/<sha256(key)>/index.json (the key's versions, newest first,
 * including the current one) and one file per non-current version's bytes, named by its version id (hard links
 * of the object file the version was, so keeping a version copies nothing). The current version stays in
 * s3rver's layout. Callers hold the key's lock (KeyLocks) around a read-modify-save of one index.
 */
export class VersionsStore {
  constructor(private readonly root: string) {}

  private bucketDir(bucket: string): string {
    return join(this.root, bucket)
  }

  private keyDir(bucket: string, key: string): string {
    return join(this.bucketDir(bucket), createHash('sha256').update(key).digest('hex'))
  }

  bytesPath(bucket: string, key: string, id: string): string {
    return join(this.keyDir(bucket, key), `v-${id}`)
  }

  async get(bucket: string, key: string): Promise<VersionIndex | undefined> {
    return readJsonFile<VersionIndex>(join(this.keyDir(bucket, key), 'index.json'))
  }

  /** Write the index; with no versions left the key's folder goes away. */
  async save(bucket: string, index: VersionIndex): Promise<void> {
    const dir = this.keyDir(bucket, index.key)
    if (index.versions.length === 0) {
      await rm(dir, {recursive: true, force: true})
      return
    }
    await mkdir(dir, {recursive: true})
    await writeJsonFile(join(dir, 'index.json'), index)
  }

  /** Keep `file` (the object file of a version about to be replaced) as that version's bytes. */
  async keep(bucket: string, key: string, id: string, file: string): Promise<void> {
    const dest = this.bytesPath(bucket, key, id)
    await mkdir(this.keyDir(bucket, key), {recursive: true})
    await rm(dest, {force: true})
    await link(file, dest)
  }

  async dropBytes(bucket: string, key: string, id: string): Promise<void> {
    await rm(this.bytesPath(bucket, key, id), {force: true})
  }

  /** Every index of a bucket (unordered). */
  async list(bucket: string): Promise<VersionIndex[]> {
    let names: string[]
    try {
      names = await readdir(this.bucketDir(bucket))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw error
    }
    const all = await Promise.all(names.map((n) => readJsonFile<VersionIndex>(join(this.bucketDir(bucket), n, 'index.json')).catch(() => undefined)))
    return all.filter((x): x is VersionIndex => x !== undefined && x.versions.length > 0)
  }

  /** True when some key of the bucket has a non-current version or a delete marker. */
  async hasNonCurrent(bucket: string): Promise<boolean> {
    return (await this.list(bucket)).some((i) => i.versions.length > 1 || i.versions[0].deleteMarker === true)
  }

  async removeBucket(bucket: string): Promise<void> {
    await rm(this.bucketDir(bucket), {recursive: true, force: true})
  }
}
