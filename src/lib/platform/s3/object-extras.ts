import {rm} from 'node:fs/promises'
import type {FilesystemStore} from 's3rver'

import {readJsonFile, writeJsonFile} from '../state-file.js'
import type {AclGrant} from './acl.js'

/** What this service keeps about an object beyond its bytes and s3rver's metadata: <key>._S3rver_cape.json */
export interface ObjectExtrasData {
  /** the object's ACL grants (absent = private: owner FULL_CONTROL) */
  acl?: AclGrant[]
  tags?: Array<{Key: string; Value: string}>
  /** part sizes of a multipart object, in part order (kept at CompleteMultipartUpload) */
  parts?: number[]
}

export const EXTRAS_RESOURCE = 'cape.json'

/**
 * Per-object extras (ACL, tags, part boundaries) in one JSON sidecar next to the object. The ObjectStore removes the
 * sidecar whenever it writes or deletes the object (S3 semantics: a PUT replaces tags and ACL); the S3 service writes
 * it again after the write from the request's headers.
 */
export class ObjectExtras {
  constructor(private readonly store: FilesystemStore) {}

  private path(bucket: string, key: string): string {
    return this.store.getResourcePath(bucket, key, EXTRAS_RESOURCE)
  }

  async get(bucket: string, key: string): Promise<ObjectExtrasData> {
    return (await readJsonFile<ObjectExtrasData>(this.path(bucket, key))) ?? {}
  }

  /** Merge fields into the sidecar (an undefined field is removed); no file when nothing is left. */
  async update(bucket: string, key: string, patch: Partial<ObjectExtrasData>): Promise<void> {
    const next: Record<string, unknown> = {...(await this.get(bucket, key))}
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) delete next[k]
      else next[k] = v
    }
    if (Object.keys(next).length === 0) await rm(this.path(bucket, key), {force: true})
    else await writeJsonFile(this.path(bucket, key), next)
  }
}
