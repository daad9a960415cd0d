import S3Error from 's3rver/lib/models/error.js'

import type {BucketConfigStore} from './bucket-config.js'
import type {KeyLocks} from './conditions.js'
import {s3Err} from './extension.js'
import type {ObjectInfo, ObjectStore} from './objects.js'
import {isValidVersionId, newVersionId, type VersionEntry, type VersionsStore} from './versions-store.js'

/**
 * S3 object versioning over s3rver's layout: the current version stays where s3rver keeps it; versions it replaces
 * are kept by the VersionsStore (hard links). A bucket whose versioning was never set keeps no index at all; an object
 * without an index is one version with id `null`. Every change to a key's index happens under the key's lock.
 */

export interface DeleteOutcome {
  existed: boolean
  versionId?: string
  deleteMarker?: boolean
}

/** What a read by version resolves to: the bytes' path and the object info to answer with. */
export interface ResolvedVersion {
  versionId: string
  path: string
  info: ObjectInfo
}

const entryOf = (id: string, info: ObjectInfo): VersionEntry => ({
  id,
  etag: info.etag,
  size: info.size,
  lastModified: info.lastModified.toISOString(),
  metadata: {...info.metadata},
})

const infoOf = (v: VersionEntry): ObjectInfo => ({
  size: v.size,
  etag: v.etag,
  lastModified: new Date(v.lastModified),
  metadata: (v.metadata ?? {}) as ObjectInfo['metadata'],
})

export function checkVersionId(id: string): void {
  if (!isValidVersionId(id)) throw s3Err('InvalidArgument', 'Invalid version id specified', 400, {ArgumentName: 'versionId', ArgumentValue: id})
}

export class Versioning {
  constructor(
    private readonly objects: ObjectStore,
    private readonly versions: VersionsStore,
    private readonly configs: BucketConfigStore,
    readonly locks: KeyLocks,
  ) {}

  status(bucket: string): 'Enabled' | 'Suspended' | undefined {
    const s = this.configs.get(bucket).versioning?.Status
    return s === 'Enabled' || s === 'Suspended' ? s : undefined
  }

  /** A key's versions, newest first (an object without an index: one `null` version). */
  async entries(bucket: string, key: string): Promise<VersionEntry[]> {
    const index = await this.versions.get(bucket, key)
    if (index) return index.versions
    const info = await this.objects.head(bucket, key)
    return info ? [entryOf('null', info)] : []
  }

  /** The current version's id for response headers (undefined: bucket never versioned, nothing to say). */
  async currentId(bucket: string, key: string): Promise<string | undefined> {
    const index = await this.versions.get(bucket, key)
    if (index) return index.versions[0]?.id
    return this.status(bucket) ? 'null' : undefined
  }

  /** The current version when it is a delete marker. */
  async currentMarker(bucket: string, key: string): Promise<VersionEntry | undefined> {
    const first = (await this.versions.get(bucket, key))?.versions[0]
    return first?.deleteMarker ? first : undefined
  }

  /** Run a write of bucket/key (the caller holds the key's lock): keep the version it replaces, record the new one. */
  async record<T>(bucket: string, key: string, write: () => Promise<T>): Promise<{result: T; versionId?: string}> {
    const status = this.status(bucket)
    if (!status) return {result: await write()}
    const id = status === 'Enabled' ? newVersionId() : 'null'
    const before = await this.keepCurrent(bucket, key, id)
    const result = await write()
    const info = await this.objects.head(bucket, key)
    if (!info) throw new Error(`versioning: ${bucket}/${key} vanished after a write`)
    await this.versions.save(bucket, {key, versions: [entryOf(id, info), ...before]})
    return {result, versionId: status === 'Enabled' ? id : undefined}
  }

  /** Keep the current version's bytes before it is replaced by version `id`; the versions that stay, newest first. */
  private async keepCurrent(bucket: string, key: string, id: string): Promise<VersionEntry[]> {
    const before = await this.entries(bucket, key)
    const current = before[0]
    if (current && !current.deleteMarker && current.id !== id) {
      await this.versions.keep(bucket, key, current.id, this.objects.objectPath(bucket, key))
    }
    if (id !== 'null') return before
    // a new `null` version replaces the previous `null` one (S3, versioning suspended)
    for (const v of before.slice(1)) if (v.id === 'null' && !v.deleteMarker) await this.versions.dropBytes(bucket, key, 'null')
    return before.filter((v) => v.id !== 'null')
  }

  /** DeleteObject / one DeleteObjects entry, under the key's lock. */
  async delete(bucket: string, key: string, versionId?: string): Promise<DeleteOutcome> {
    return this.locks.run(bucket, key, async () => {
      if (versionId !== undefined) return this.deleteVersion(bucket, key, versionId)
      const status = this.status(bucket)
      if (!status) return {existed: await this.objects.delete(bucket, key)}
      const id = status === 'Enabled' ? newVersionId() : 'null'
      const before = await this.keepCurrent(bucket, key, id)
      await this.objects.delete(bucket, key)
      const marker: VersionEntry = {id, etag: '', size: 0, lastModified: new Date().toISOString(), deleteMarker: true}
      await this.versions.save(bucket, {key, versions: [marker, ...before]})
      return {existed: true, versionId: id, deleteMarker: true}
    })
  }

  private async deleteVersion(bucket: string, key: string, versionId: string): Promise<DeleteOutcome> {
    checkVersionId(versionId)
    const index = await this.versions.get(bucket, key)
    if (!index) {
      if (versionId !== 'null') return {existed: false, versionId}
      return {existed: await this.objects.delete(bucket, key), versionId}
    }
    const i = index.versions.findIndex((v) => v.id === versionId)
    if (i < 0) return {existed: false, versionId}
    const [gone] = index.versions.splice(i, 1)
    if (i === 0) {
      if (!gone.deleteMarker) await this.objects.delete(bucket, key)
      const next = index.versions[0]
      if (next && !next.deleteMarker) {
        const file = this.versions.bytesPath(bucket, key, next.id)
        await this.objects.adopt(bucket, key, file, next.metadata ?? {}, JSON.parse(next.etag) as string)
      }
    } else if (!gone.deleteMarker) {
      await this.versions.dropBytes(bucket, key, gone.id)
    }
    await this.versions.save(bucket, index)
    return {existed: true, versionId, ...(gone.deleteMarker ? {deleteMarker: true} : {})}
  }

  /** GET/HEAD/copy source by version id: NoSuchVersion 404; a delete marker: MethodNotAllowed 405. */
  async resolve(bucket: string, key: string, versionId: string): Promise<ResolvedVersion | {marker: VersionEntry}> {
    checkVersionId(versionId)
    const all = await this.entries(bucket, key)
    const i = all.findIndex((v) => v.id === versionId)
    if (i < 0) throw s3Err('NoSuchVersion', 'The specified version does not exist.', 404, {Key: key, VersionId: versionId})
    const v = all[i]
    if (v.deleteMarker) return {marker: v}
    if (i === 0) {
      const info = await this.objects.head(bucket, key)
      if (!info) throw new S3Error('NoSuchKey', 'The specified key does not exist.', {Key: key})
      return {versionId, path: this.objects.objectPath(bucket, key), info}
    }
    return {versionId, path: this.versions.bytesPath(bucket, key, v.id), info: infoOf(v)}
  }

  /** Every key with at least one version (current objects and indexed keys), with its versions newest first. */
  async allVersions(bucket: string, prefix: string): Promise<Map<string, VersionEntry[]>> {
    const out = new Map<string, VersionEntry[]>()
    for (const index of await this.versions.list(bucket)) if (index.key.startsWith(prefix)) out.set(index.key, index.versions)
    for (const key of await this.objects.listKeys(bucket, prefix)) {
      if (out.has(key)) continue
      const info = await this.objects.head(bucket, key)
      if (info) out.set(key, [entryOf('null', info)])
    }
    return out
  }

  hasNonCurrent(bucket: string): Promise<boolean> {
    return this.versions.hasNonCurrent(bucket)
  }

  removeBucket(bucket: string): Promise<void> {
    return this.versions.removeBucket(bucket)
  }
}
