// Type declarations for the parts of s3rver 3.7.1 (CommonJS, untyped) that the S3 service uses.
// Only what src/lib/platform/s3 touches is declared; see node_modules/s3rver/lib for the source.

declare module 's3rver' {
  import type {EventEmitter} from 'node:events'
  import type {IncomingHttpHeaders, IncomingMessage, ServerResponse} from 'node:http'

  /** The Koa context as s3rver's middleware sees it (Koa 2; no @types/koa in this project). */
  export interface KoaContext {
    req: IncomingMessage
    res: ServerResponse
    app: S3rver
    method: string
    /** Path as received (percent-encoded), after s3rver's vhost rewrite. */
    path: string
    querystring: string
    headers: IncomingHttpHeaders
    status: number
    body: unknown
    type: string
    length: number | undefined
    ip: string
    state: Record<string, unknown>
    headerSent: boolean
    set(field: string, value: string | number): void
    get(field: string): string
    remove(field: string): void
  }

  export type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void> | void

  export interface StoredMetadata {
    etag: string
    'last-modified': string
    'content-length': number
    [header: string]: string | number
  }

  export interface FilesystemStore {
    rootDirectory: string
    getBucketPath(bucket: string): string
    getResourcePath(bucket: string, key: string | undefined, resource: string): string
    getMetadata(bucket: string, key: string): Promise<StoredMetadata>
    putMetadata(bucket: string, key: string, metadata: Record<string, unknown>, md5?: string): Promise<void>
    listBuckets(): Promise<Array<{name: string; creationDate: Date}>>
    getBucket(bucket: string): Promise<{name: string; creationDate: Date} | null>
    putBucket(bucket: string): Promise<unknown>
    deleteBucket(bucket: string): Promise<void>
    existsObject(bucket: string, key: string): Promise<boolean>
    copyObject(
      srcBucket: string,
      srcKey: string,
      destBucket: string,
      destKey: string,
      replacementMetadata: Record<string, unknown> | null,
    ): Promise<StoredMetadata>
    deleteObject(bucket: string, key: string): Promise<void>
  }

  export interface S3rverOptions {
    directory: string
    silent?: boolean
    vhostBuckets?: boolean
    resetOnClose?: boolean
    allowMismatchedSignatures?: boolean
  }

  class S3rver extends EventEmitter {
    constructor(options: S3rverOptions)
    middleware: Middleware[]
    store: FilesystemStore
    silent: boolean
    callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>
  }
  export default S3rver
}

declare module 's3rver/lib/models/error.js' {
  class S3Error extends Error {
    static fromError(err: unknown): S3Error
    constructor(code: string, message?: string, detail?: Record<string, unknown>)
    code: string
    detail: Record<string, unknown>
    status: number
    expose: boolean
    toXML(): string
  }
  export default S3Error
}
