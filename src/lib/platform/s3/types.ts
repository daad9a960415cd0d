import type {IncomingMessage, ServerResponse} from 'node:http'
import type {Readable} from 'node:stream'

import type {PolicyDocument} from '../auth/policy.js'

export type {PolicyDocument}

/** What the S3 service asks the platform to authorize for one request (see platform-contracts.md). */
export interface AuthorizeCheck {
  action: string
  resource: string
  context: Record<string, string>
  bucket?: string
  key?: string
  /** the bucket policy of `bucket` (null/absent when it has none or the bucket does not exist) */
  bucketPolicy?: PolicyDocument
}

/** Resolves when allowed; rejects with AuthError('AccessDenied', …, 403) (any error with `code` + `status`) when not. */
export type Authorize = (req: IncomingMessage, check: AuthorizeCheck) => Promise<void>

/** One record of an S3 event notification, shaped like AWS's (event version 2.1). */
export interface S3EventRecord {
  eventVersion: '2.1'
  eventSource: 'aws:s3'
  awsRegion: string
  eventTime: string
  /** e.g. ObjectCreated:Put, ObjectCreated:Copy, ObjectCreated:CompleteMultipartUpload, ObjectRemoved:Delete */
  eventName: string
  userIdentity: {principalId: string}
  requestParameters: {sourceIPAddress: string}
  responseElements: {'x-amz-request-id': string; 'x-amz-id-2': string}
  s3: {
    s3SchemaVersion: '1.0'
    configurationId: string
    bucket: {name: string; ownerIdentity: {principalId: string}; arn: string}
    /** key is URL-encoded like AWS does (spaces as '+'): decode with decodeURIComponent(key.replace(/\+/g, ' ')) */
    object: {key: string; size?: number; eTag?: string; sequencer: string}
  }
}

export interface S3Event {
  Records: S3EventRecord[]
}

export interface S3Notification {
  functionArn: string
  event: S3Event
}

export interface S3ServiceOptions {
  /** <data>/s3 — objects live in <dataDir>/buckets (s3rver's layout), bucket configs in <dataDir>/bucket-config */
  dataDir: string
  authorize: Authorize
  /** Called (asynchronously, errors swallowed) once per matching Lambda notification configuration. */
  onNotify?: (n: S3Notification) => void | Promise<void>
  /** Region reported in events and GetBucketLocation. Default us-east-1. */
  region?: string
  /** Account id used as the bucket owner in events. Default 000000000000. */
  accountId?: string
}

/** A Lambda notification configuration as the CloudFormation provisioners describe it. */
export interface LambdaNotificationInput {
  id?: string
  functionArn: string
  /** e.g. ['s3:ObjectCreated:*'] */
  events: string[]
  prefix?: string
  suffix?: string
}

/**
 * Bucket settings for putBucketSetting, in the S3 API (SDK) shapes:
 *   versioning        {Status?: 'Enabled'|'Suspended', MFADelete?: 'Enabled'|'Disabled'}
 *   encryption        {Rules: [{ApplyServerSideEncryptionByDefault: {SSEAlgorithm, KMSMasterKeyID?}, BucketKeyEnabled?}]}
 *                     (CloudFormation's {ServerSideEncryptionConfiguration: [{ServerSideEncryptionByDefault, BucketKeyEnabled}]} is accepted too)
 *   publicAccessBlock {BlockPublicAcls?, IgnorePublicAcls?, BlockPublicPolicy?, RestrictPublicBuckets?} (booleans or 'true'/'false')
 *   tags              [{Key, Value}] (or {TagSet: [...]})
 * null/undefined removes the setting.
 */
export type BucketSettingKind = 'versioning' | 'encryption' | 'publicAccessBlock' | 'tags'

export interface S3Service {
  /** Serve one S3 REST request (the router verified SigV4 and attached the principal). */
  handle(req: IncomingMessage, res: ServerResponse): void
  // Internal API (no HTTP, no authorization) — used by the CloudFormation provisioners. Errors are CapeErrors whose
  // `code` is the S3 error code (NoSuchBucket, BucketNotEmpty, InvalidBucketName, BucketAlreadyOwnedByYou, NoSuchKey…).
  createBucket(name: string): Promise<void>
  deleteBucket(name: string, opts?: {force?: boolean}): Promise<void>
  bucketExists(name: string): Promise<boolean>
  isBucketEmpty(name: string): Promise<boolean>
  listBuckets(): Promise<string[]>
  putBucketPolicy(name: string, doc: PolicyDocument | null): Promise<void>
  getBucketPolicy(name: string): Promise<PolicyDocument | null>
  putNotifications(name: string, cfg: {lambda: LambdaNotificationInput[]}): Promise<void>
  getNotifications(name: string): Promise<{lambda: LambdaNotificationInput[]}>
  putBucketSetting(name: string, kind: BucketSettingKind, value: unknown): Promise<void>
  getBucketSetting(name: string, kind: BucketSettingKind): Promise<unknown>
  getObjectBytes(bucket: string, key: string): Promise<Buffer>
  /** Store an object; fires ObjectCreated:Put notifications like an HTTP PutObject. `meta`: content-type etc.; other names become x-amz-meta-*. */
  putObjectBytes(bucket: string, key: string, body: Buffer | Readable, meta?: Record<string, string>): Promise<{etag: string}>
  /** Request counts per S3 operation (GetObject, PutObject, ListObjectsV2, …). */
  stats(): Record<string, number>
  close(): Promise<void>
}
