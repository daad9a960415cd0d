import {readdir, rm} from 'node:fs/promises'
import {join} from 'node:path'

import {readJsonFile, writeJsonFile} from '../state-file.js'
import type {AclGrant} from './acl.js'
import type {PolicyDocument} from './types.js'

/** One notification target (Lambda function, SQS queue or SNS topic) with its event patterns and key filter. */
export interface NotificationTarget {
  id: string
  arn: string
  events: string[]
  prefix?: string
  suffix?: string
}

export interface NotificationSettings {
  lambda: NotificationTarget[]
  queue: NotificationTarget[]
  topic: NotificationTarget[]
  eventBridge?: boolean
}

export interface VersioningSetting {
  Status?: string
  MFADelete?: string
}
export interface EncryptionSetting {
  Rules: Array<{
    ApplyServerSideEncryptionByDefault?: {SSEAlgorithm: string; KMSMasterKeyID?: string}
    BucketKeyEnabled?: boolean
  }>
}
export interface PublicAccessBlockSetting {
  BlockPublicAcls?: boolean
  IgnorePublicAcls?: boolean
  BlockPublicPolicy?: boolean
  RestrictPublicBuckets?: boolean
}
export type TagSet = Array<{Key: string; Value: string}>

/** Everything this service stores about a bucket beyond its objects: <data>/s3/bucket-config/<bucket>.json */
export interface BucketConfig {
  policy?: PolicyDocument
  notifications?: NotificationSettings
  versioning?: VersioningSetting
  encryption?: EncryptionSetting
  publicAccessBlock?: PublicAccessBlockSetting
  tags?: TagSet
  /** bucket ACL grants (absent = private) and object ownership (BucketOwnerEnforced, …): see acl.ts */
  acl?: AclGrant[]
  ownership?: string
}

/** Bucket configs cached in memory, each change written atomically (and in order) to its JSON file. */
export class BucketConfigStore {
  private readonly cache = new Map<string, BucketConfig>()
  private readonly writes = new Map<string, Promise<void>>()

  constructor(private readonly dir: string) {}

  async load(): Promise<void> {
    let names: string[] = []
    try {
      names = await readdir(this.dir)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
    for (const name of names) {
      if (!name.endsWith('.json')) continue
      const config = await readJsonFile<BucketConfig>(join(this.dir, name))
      if (config) this.cache.set(name.slice(0, -'.json'.length), config)
    }
  }

  get(bucket: string): BucketConfig {
    return this.cache.get(bucket) ?? {}
  }

  /** Replace one field (undefined deletes it) and persist. */
  async set<K extends keyof BucketConfig>(bucket: string, field: K, value: BucketConfig[K] | undefined): Promise<void> {
    const next: BucketConfig = {...this.get(bucket)}
    if (value === undefined) delete next[field]
    else next[field] = value
    this.cache.set(bucket, next)
    await this.enqueue(bucket, () => writeJsonFile(this.path(bucket), next))
  }

  /** Forget a bucket's config (bucket deleted or created afresh). */
  async remove(bucket: string): Promise<void> {
    this.cache.delete(bucket)
    await this.enqueue(bucket, () => rm(this.path(bucket), {force: true}))
  }

  /** Wait for pending writes. */
  async flush(): Promise<void> {
    await Promise.all([...this.writes.values()])
  }

  private path(bucket: string): string {
    return join(this.dir, `${bucket}.json`)
  }

  private enqueue(bucket: string, op: () => Promise<void>): Promise<void> {
    const previous = this.writes.get(bucket) ?? Promise.resolve()
    const run = previous.catch(() => undefined).then(op)
    this.writes.set(bucket, run)
    void run.finally(() => {
      if (this.writes.get(bucket) === run) this.writes.delete(bucket)
    }).catch(() => undefined)
    return run
  }
}
