import {Agent as HttpAgent, request as httpRequest, type IncomingMessage} from 'node:http'
import {Agent as HttpsAgent, request as httpsRequest} from 'node:https'
import {S3ServiceException, type S3Client} from '@aws-sdk/client-s3'
import {SignatureV4} from '@smithy/signature-v4'

/** What a small GetObject returns: the bytes and the headers the pull verifies against. */
export interface SmallObject {
  bytes: Buffer
  ETag?: string
  /** x-amz-meta-* (names lowercased, prefix removed), as the SDK's `Metadata`. */
  Metadata: Record<string, string>
  ServerSideEncryption?: string
  SSECustomerAlgorithm?: string
}

export interface DirectGetOptions {
  ifMatch?: string
  signal?: AbortSignal
}

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
// the SDK's retry classification (@smithy/core retry: isThrottlingError / isTransientError / isServerError)
const THROTTLING = new Set([
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'TransactionInProgressException',
])
const TRANSIENT_CODES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException'])
const TRANSIENT_STATUS = new Set([500, 502, 503, 504])
const TRANSIENT_NET = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'])

type ErrorLike = {name?: string; code?: string; $metadata?: {httpStatusCode?: number}}
type RetryErrorType = 'THROTTLING' | 'TRANSIENT' | 'SERVER_ERROR' | 'CLIENT_ERROR'

function retryErrorType(error: ErrorLike): RetryErrorType {
  const status = error.$metadata?.httpStatusCode
  if (status === 429 || THROTTLING.has(error.name ?? '')) return 'THROTTLING'
  if (error.name === 'AbortError') return 'CLIENT_ERROR'
  if (TRANSIENT_CODES.has(error.name ?? '') || TRANSIENT_NET.has(error.code ?? '') || TRANSIENT_STATUS.has(status ?? 0)) return 'TRANSIENT'
  if (status !== undefined && status >= 500 && status <= 599) return 'SERVER_ERROR'
  return 'CLIENT_ERROR'
}

/** The SDK's extendedEncodeURIComponent: encodeURIComponent, plus !'()* (S3 keys keep their `/`). */
const encodeSegment = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
export const encodeKeyPath = (key: string) => key.split('/').map(encodeSegment).join('/')

const XML_ENTITIES: Record<string, string> = {amp: '&', lt: '<', gt: '>', quot: '"', apos: "'"}
const xmlText = (s: string) =>
  s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e: string) =>
    e[0] === '#' ? String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1))) : (XML_ENTITIES[e] ?? m),
  )
const xmlField = (xml: string, name: string) => {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)
  return m ? xmlText(m[1]) : undefined
}

type Retry = {
  acquireInitialRetryToken(scope: string): Promise<RetryToken>
  refreshRetryTokenForRetry(token: RetryToken, info: {error: unknown; errorType: RetryErrorType}): Promise<RetryToken>
  recordSuccess(token: RetryToken): void
}
type RetryToken = {getRetryDelay(): number}

/**
 * GetObject of small objects as one signed `GET` on a keep-alive agent, without the SDK's middleware stack (its
 * per-request cost dominates the CPU time of pulling many small objects). Only for what it can address exactly as
 * the SDK does: a custom endpoint with path-style addressing (`http(s)://endpoint[/base]/bucket/key`); for real AWS
 * endpoints (virtual hosts, FIPS, dual-stack, access points, S3 Express…) `create` returns undefined and the SDK is
 * used. Signed by the SDK's own SigV4 signer with the client's credentials, region, clock offset; retried by the
 * client's own retry strategy; errors are S3ServiceExceptions shaped as the SDK's (name = S3 error code, $fault,
 * $metadata) so they map to the same CapeError codes and messages.
 */
export class DirectGetter {
  private constructor(
    private readonly s3: S3Client,
    private readonly base: URL,
    private readonly signer: SignatureV4,
    private readonly agent: HttpAgent,
  ) {}

  static async create(s3: S3Client, sockets: number): Promise<DirectGetter | undefined> {
    const config = s3.config as typeof s3.config & {isCustomEndpoint?: boolean; forcePathStyle?: boolean; useAccelerateEndpoint?: boolean}
    if (!config.isCustomEndpoint || config.forcePathStyle !== true || config.useAccelerateEndpoint) return undefined
    const ep = await config.endpoint?.()
    if (!ep || (ep.protocol !== 'http:' && ep.protocol !== 'https:') || (ep.query && Object.keys(ep.query).length > 0)) return undefined
    const base = new URL(`${ep.protocol}//${ep.hostname}${ep.port ? `:${ep.port}` : ''}`)
    base.pathname = ep.path ?? '/'
    const signer = new SignatureV4({credentials: config.credentials, region: await config.region(), service: 's3', sha256: config.sha256, uriEscapePath: false})
    const options = {keepAlive: true, maxSockets: sockets, scheduling: 'lifo' as const}
    const agent = ep.protocol === 'https:' ? new HttpsAgent(options) : new HttpAgent(options)
    return new DirectGetter(s3, base, signer, agent)
  }

  destroy(): void {
    this.agent.destroy()
  }

  /** GetObject of a whole object (its bytes in memory), with the SDK's retries. */
  async get(bucket: string, key: string, options: DirectGetOptions = {}): Promise<SmallObject> {
    const strategy = (await this.s3.config.retryStrategy()) as unknown as Retry
    let token = await strategy.acquireInitialRetryToken('')
    let attempts = 0
    let totalRetryDelay = 0
    for (;;) {
      attempts++
      try {
        const out = await this.once(bucket, key, options)
        strategy.recordSuccess(token)
        return out
      } catch (error) {
        const e = error as ErrorLike & {$metadata?: Record<string, unknown>}
        const errorType = retryErrorType(e)
        const aborted = options.signal?.aborted || e.name === 'AbortError'
        if (!aborted) {
          try {
            token = await strategy.refreshRetryTokenForRetry(token, {error, errorType})
            totalRetryDelay += token.getRetryDelay()
            continue
          } catch {
            // no more attempts
          }
        }
        // as the SDK's retry middleware does: every error leaves with the attempt count
        if (e && typeof e === 'object') e.$metadata = {...e.$metadata, attempts, totalRetryDelay}
        throw error
      }
    }
  }

  private async once(bucket: string, key: string, options: DirectGetOptions): Promise<SmallObject> {
    const {base} = this
    const path = `${base.pathname.endsWith('/') ? base.pathname : `${base.pathname}/`}${encodeSegment(bucket)}/${encodeKeyPath(key)}`
    const headers: Record<string, string> = {host: base.host, 'x-amz-content-sha256': EMPTY_SHA256}
    if (options.ifMatch) headers['if-match'] = options.ifMatch
    const offset = (this.s3.config as {systemClockOffset?: number}).systemClockOffset ?? 0
    const signed = await this.signer.sign(
      {method: 'GET', protocol: base.protocol, hostname: base.hostname, port: base.port ? Number(base.port) : undefined, path, query: {}, headers},
      {signingDate: new Date(Date.now() + offset)},
    )
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const send = base.protocol === 'https:' ? httpsRequest : httpRequest
      const req = send({agent: this.agent, hostname: base.hostname, port: base.port || undefined, path, method: 'GET', headers: signed.headers, signal: options.signal}, resolve)
      req.on('error', reject)
      req.end()
    })
    const chunks: Buffer[] = []
    let length = 0
    await new Promise<void>((resolve, reject) => {
      res.on('data', (c: Buffer) => {
        chunks.push(c)
        length += c.length
      })
      res.on('end', resolve)
      res.on('error', reject)
    })
    const bytes = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, length)
    const h = res.headers
    const status = res.statusCode ?? 0
    if (status < 200 || status >= 300) throw serviceError(status, h, bytes.toString('utf8'))
    const declared = h['content-length']
    if (declared !== undefined && Number(declared) !== length) {
      throw Object.assign(new Error(`the response ended after ${length} of ${declared} bytes`), {code: 'ECONNRESET'})
    }
    const Metadata: Record<string, string> = {}
    for (const name in h) {
      if (name.startsWith('x-amz-meta-')) Metadata[name.slice(11)] = String(h[name])
    }
    return {
      bytes,
      ETag: h.etag,
      Metadata,
      ServerSideEncryption: h['x-amz-server-side-encryption'] as string | undefined,
      SSECustomerAlgorithm: h['x-amz-server-side-encryption-customer-algorithm'] as string | undefined,
    }
  }
}

/** An S3 error response as the SDK (rest-xml) turns it into an exception. */
function serviceError(status: number, headers: IncomingMessage['headers'], body: string): S3ServiceException {
  const code = xmlField(body, 'Code')
  const message = xmlField(body, 'Message')
  const name = code ?? (status === 404 ? 'NotFound' : 'Unknown')
  const error = new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: {
      httpStatusCode: status,
      requestId: (headers['x-amz-request-id'] as string | undefined) ?? xmlField(body, 'RequestId'),
      extendedRequestId: headers['x-amz-id-2'] as string | undefined,
      cfId: headers['x-amz-cf-id'] as string | undefined,
    },
    message: message ?? 'UnknownError',
  })
  if (code !== undefined) Object.assign(error, {Code: code})
  return error
}
