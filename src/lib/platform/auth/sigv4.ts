/**
 * AWS Signature Version 4 for *incoming* requests: parse the Authorization header or the presigned-URL query
 * parameters, then recompute the signature with the caller's secret and compare.
 *
 * Pure (no I/O). The router resolves the access key id to a secret between `parseAuth` and `verifySignature`.
 *
 * Differences between services handled here:
 * - S3 canonicalizes the path as the key encoded once (no double encoding, no dot-segment normalization); every
 *   other service URI-encodes the already-encoded path a second time after normalizing it.
 * - S3 signs the payload hash sent in `x-amz-content-sha256` (hex, `UNSIGNED-PAYLOAD` or a `STREAMING-*` token) and
 *   requires that header for header auth; presigned S3 URLs always use `UNSIGNED-PAYLOAD`. Other services sign the
 *   hex SHA-256 of the body (`payloadHash`, which the router computes).
 * - Error codes follow the service: S3 answers `RequestTimeTooSkewed`, `AuthorizationHeaderMalformed`, …; the query
 *   services (IAM, STS, CloudFormation) answer `SignatureDoesNotMatch` ("Signature expired"), `IncompleteSignature`, ….
 */
import {createHash, createHmac, timingSafeEqual} from 'node:crypto'

export interface IncomingSignedRequest {
  method: string
  /** Path as received, still percent-encoded. */
  rawPath: string
  /** Query string as received, without '?'. */
  rawQuery: string
  headers: Record<string, string | string[] | undefined>
  /** Hex SHA-256 of the body, for query services. S3 uses x-amz-content-sha256. */
  payloadHash?: string
}

export interface ParsedAuth {
  kind: 'header' | 'presigned'
  accessKeyId: string
  /** Credential-scope date, yyyymmdd. */
  date: string
  region: string
  service: string
  signedHeaders: string[]
  signature: string
  /** Request time, ISO 8601 basic (yyyymmddThhmmssZ). */
  amzDate: string
  /** Presigned only: X-Amz-Expires in seconds. */
  expires?: number
  /** x-amz-security-token header or X-Amz-Security-Token query parameter, when present (temporary credentials). */
  sessionToken?: string
}

export class AuthError extends Error {
  readonly code: string
  readonly status: number
  /** Extra fields AWS puts in the error body (S3: StringToSign, CanonicalRequest, ServerTime, …). Never secrets. */
  readonly details?: Record<string, string>

  constructor(code: string, message: string, status = 403, details?: Record<string, string>) {
    super(message)
    this.name = 'AuthError'
    this.code = code
    this.status = status
    this.details = details
  }
}

export const ALGORITHM = 'AWS4-HMAC-SHA256'
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD'
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
/** Allowed difference between the request time and the server clock (AWS: 15 minutes). */
export const MAX_SKEW_MS = 15 * 60 * 1000
/** Longest validity of a presigned URL (AWS: 7 days). */
export const MAX_PRESIGN_EXPIRES = 604_800

const STREAMING_PAYLOADS = new Set([
  'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
  'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD',
  'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER',
])
const HEX64 = /^[0-9a-f]{64}$/
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/

const UNSUPPORTED_MECHANISM = 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.'

/** Read one header (Node lower-cases names; be tolerant of other callers). Multiple values are joined with ','. */
function header(headers: IncomingSignedRequest['headers'], name: string): string | undefined {
  let v = headers[name]
  if (v === undefined) {
    for (const k of Object.keys(headers)) {
      if (k.toLowerCase() === name) {
        v = headers[k]
        break
      }
    }
  }
  if (v === undefined) return undefined
  return Array.isArray(v) ? v.join(',') : v
}

/** Decode percent-escapes; a malformed escape is kept literally (AWS does not fail on it either). */
function decode(s: string): string {
  if (!s.includes('%')) return s
  try {
    return decodeURIComponent(s)
  } catch {
    return s.replace(/(?:%[0-9A-Fa-f]{2})+/g, (m) => {
      try {
        return decodeURIComponent(m)
      } catch {
        return m
      }
    })
  }
}

/** AWS UriEncode: everything but A-Z a-z 0-9 - . _ ~ is percent-encoded (upper-case hex). */
export function uriEncode(s: string, keepSlash = false): string {
  const e = encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
  return keepSlash ? e.replace(/%2F/g, '/') : e
}

interface QueryPair {
  key: string
  value: string
}

function parseQuery(rawQuery: string): QueryPair[] {
  const pairs: QueryPair[] = []
  if (!rawQuery) return pairs
  for (const part of rawQuery.split('&')) {
    if (part === '') continue
    const i = part.indexOf('=')
    pairs.push(i === -1 ? {key: decode(part), value: ''} : {key: decode(part.slice(0, i)), value: decode(part.slice(i + 1))})
  }
  return pairs
}

function queryParam(pairs: QueryPair[], name: string): string | undefined {
  for (const p of pairs) if (p.key === name) return p.value
  return undefined
}

function isoFromHttpDate(value: string): string | undefined {
  const t = Date.parse(value)
  if (Number.isNaN(t)) return undefined
  return new Date(t).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')
}

function amzDateToMs(amzDate: string): number {
  const m = AMZ_DATE.exec(amzDate)
  if (!m) return Number.NaN
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])
}

function parseCredential(credential: string): {accessKeyId: string; date: string; region: string; service: string; terminator: string} | null {
  // The access key id never contains '/', but be strict about the 5 parts.
  const parts = credential.split('/')
  if (parts.length !== 5 || parts.some((p) => p === '')) return null
  const [accessKeyId, date, region, service, terminator] = parts
  return {accessKeyId, date, region, service, terminator}
}

/**
 * Parse the SigV4 authentication of a request.
 * Returns null when the request carries no authentication at all (anonymous). Throws AuthError when it carries
 * authentication that is malformed or of an unsupported kind.
 */
export function parseAuth(req: IncomingSignedRequest): ParsedAuth | null {
  const authorization = header(req.headers, 'authorization')
  const query = parseQuery(req.rawQuery)
  const qAlgorithm = queryParam(query, 'X-Amz-Algorithm')
  const qCredential = queryParam(query, 'X-Amz-Credential')

  if (authorization !== undefined && (qAlgorithm !== undefined || qCredential !== undefined)) {
    throw new AuthError(
      'InvalidArgument',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
      400,
    )
  }
  if (authorization !== undefined) return parseHeaderAuth(req, authorization.trim())
  if (qAlgorithm !== undefined || qCredential !== undefined) return parsePresigned(req, query, qAlgorithm)
  if (queryParam(query, 'AWSAccessKeyId') !== undefined && queryParam(query, 'Signature') !== undefined) {
    throw new AuthError('InvalidRequest', UNSUPPORTED_MECHANISM, 400)
  }
  return null
}

function parseHeaderAuth(req: IncomingSignedRequest, authorization: string): ParsedAuth {
  const space = authorization.indexOf(' ')
  const scheme = space === -1 ? authorization : authorization.slice(0, space)
  if (scheme !== ALGORITHM) {
    if (scheme === 'AWS' || scheme.startsWith('AWS4-')) throw new AuthError('InvalidRequest', UNSUPPORTED_MECHANISM, 400)
    throw new AuthError('AuthorizationHeaderMalformed', 'The authorization header is malformed; the authorization header requires three components: Credential, SignedHeaders, and Signature.', 400)
  }
  const fields: Record<string, string> = {}
  for (const item of authorization.slice(space + 1).split(',')) {
    const s = item.trim()
    if (s === '') continue
    const eq = s.indexOf('=')
    if (eq === -1) continue
    fields[s.slice(0, eq).trim()] = s.slice(eq + 1).trim()
  }
  const credential = fields.Credential
  const signedHeaders = fields.SignedHeaders
  const signature = fields.Signature
  const cred = credential === undefined ? null : parseCredential(credential)
  const nonS3 = cred !== null && cred.service !== 's3'
  const malformed = (message: string) =>
    nonS3 ? new AuthError('IncompleteSignature', message, 400) : new AuthError('AuthorizationHeaderMalformed', message, 400)

  if (credential === undefined || signedHeaders === undefined || signature === undefined) {
    throw malformed('The authorization header is malformed; the authorization header requires three components: Credential, SignedHeaders, and Signature.')
  }
  if (!cred) throw malformed(`The authorization header is malformed; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`)
  if (cred.terminator !== 'aws4_request') throw malformed(`The authorization header is malformed; incorrect terminal "${cred.terminator}". This endpoint uses "aws4_request".`)
  if (!/^\d{8}$/.test(cred.date)) throw malformed(`The authorization header is malformed; Invalid credential date "${cred.date}".`)
  if (!/^[0-9a-f]{64}$/.test(signature)) throw malformed('The authorization header is malformed; the signature is not a 64-character hex string.')

  let amzDate = header(req.headers, 'x-amz-date')
  if (amzDate === undefined) {
    const httpDate = header(req.headers, 'date')
    amzDate = httpDate === undefined ? undefined : isoFromHttpDate(httpDate)
  }
  if (amzDate === undefined || Number.isNaN(amzDateToMs(amzDate))) {
    if (nonS3) throw new AuthError('IncompleteSignature', 'Authorization header requires existence of either a \'X-Amz-Date\' or a \'Date\' header.', 400)
    throw new AuthError('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header', 403)
  }
  if (amzDate.slice(0, 8) !== cred.date) {
    throw malformed(`The authorization header is malformed; Invalid credential date. Date is not the same as X-Amz-Date.`)
  }
  const headers = signedHeaders.split(';').map((h) => h.trim().toLowerCase())
  if (headers.some((h) => h === '') || !headers.includes('host')) {
    throw nonS3
      ? new AuthError('IncompleteSignature', 'SignedHeaders must contain host.', 400)
      : new AuthError('AccessDenied', 'There were headers present in the request which were not signed', 403, {HeadersNotSigned: 'host'})
  }
  const parsed: ParsedAuth = {
    kind: 'header',
    accessKeyId: cred.accessKeyId,
    date: cred.date,
    region: cred.region,
    service: cred.service,
    signedHeaders: headers,
    signature,
    amzDate,
  }
  const token = header(req.headers, 'x-amz-security-token')
  if (token !== undefined) parsed.sessionToken = token
  return parsed
}

function parsePresigned(req: IncomingSignedRequest, query: QueryPair[], algorithm: string | undefined): ParsedAuth {
  const credential = queryParam(query, 'X-Amz-Credential')
  const cred = credential === undefined ? null : parseCredential(credential)
  const nonS3 = cred !== null && cred.service !== 's3'
  const bad = (message: string) =>
    nonS3 ? new AuthError('IncompleteSignature', message, 400) : new AuthError('AuthorizationQueryParametersError', message, 400)

  if (algorithm !== ALGORITHM) throw bad('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"')
  const amzDate = queryParam(query, 'X-Amz-Date')
  const signedHeaders = queryParam(query, 'X-Amz-SignedHeaders')
  const signature = queryParam(query, 'X-Amz-Signature')
  const expiresRaw = queryParam(query, 'X-Amz-Expires')
  if (credential === undefined || amzDate === undefined || signedHeaders === undefined || signature === undefined || (!nonS3 && expiresRaw === undefined)) {
    throw bad('Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.')
  }
  if (!cred) throw bad(`Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`)
  if (cred.terminator !== 'aws4_request') throw bad(`Error parsing the X-Amz-Credential parameter; incorrect terminal "${cred.terminator}". This endpoint uses "aws4_request".`)
  if (Number.isNaN(amzDateToMs(amzDate))) throw bad(`X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`)
  if (amzDate.slice(0, 8) !== cred.date) throw bad(`Error parsing the X-Amz-Credential parameter; Invalid credential date. Date is not the same as X-Amz-Date.`)
  if (!/^[0-9a-f]{64}$/.test(signature)) throw bad('The X-Amz-Signature parameter is not a 64-character hex string.')
  let expires: number | undefined
  if (expiresRaw !== undefined) {
    if (!/^\d+$/.test(expiresRaw)) throw bad('X-Amz-Expires should be a number')
    expires = Number(expiresRaw)
    if (expires > MAX_PRESIGN_EXPIRES) throw bad('X-Amz-Expires must be less than a week (in seconds) that is 604800')
  }
  const headers = signedHeaders.split(';').map((h) => h.trim().toLowerCase())
  if (headers.some((h) => h === '') || !headers.includes('host')) throw bad('X-Amz-SignedHeaders must contain host.')
  const parsed: ParsedAuth = {
    kind: 'presigned',
    accessKeyId: cred.accessKeyId,
    date: cred.date,
    region: cred.region,
    service: cred.service,
    signedHeaders: headers,
    signature,
    amzDate,
  }
  if (expires !== undefined) parsed.expires = expires
  const token = queryParam(query, 'X-Amz-Security-Token') ?? header(req.headers, 'x-amz-security-token')
  if (token !== undefined) parsed.sessionToken = token
  return parsed
}

/** Canonical URI for S3: each segment decoded then encoded exactly once. */
function s3CanonicalPath(rawPath: string): string {
  const path = rawPath === '' ? '/' : rawPath
  return path
    .split('/')
    .map((seg) => uriEncode(decode(seg)))
    .join('/')
}

/** Canonical URI for every other service: dot segments removed, then the (encoded) path encoded again. */
function doubleEncodedPath(rawPath: string): string {
  const path = rawPath === '' ? '/' : rawPath
  const segments: string[] = []
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue
    if (seg === '..') segments.pop()
    else segments.push(seg)
  }
  const normalized = `${path.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`
  return uriEncode(normalized, true)
}

function canonicalQuery(pairs: QueryPair[], presigned: boolean): string {
  const encoded: Array<[string, string]> = []
  for (const p of pairs) {
    if (presigned && p.key === 'X-Amz-Signature') continue
    encoded.push([uriEncode(p.key), uriEncode(p.value)])
  }
  encoded.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
  return encoded.map(([k, v]) => `${k}=${v}`).join('&')
}

function canonicalHeaderValue(value: string | undefined): string {
  if (value === undefined) return ''
  return value.replace(/[\r\n]/g, ' ').replace(/[ \t]+/g, ' ').trim()
}

/** The payload hash the client signed, validated per service. */
function signedPayloadHash(req: IncomingSignedRequest, parsed: ParsedAuth): string {
  const contentSha = header(req.headers, 'x-amz-content-sha256')
  if (parsed.service === 's3') {
    if (parsed.kind === 'presigned') return UNSIGNED_PAYLOAD
    if (contentSha === undefined) throw new AuthError('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256', 400)
    if (!HEX64.test(contentSha) && contentSha !== UNSIGNED_PAYLOAD && !STREAMING_PAYLOADS.has(contentSha)) {
      throw new AuthError('InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, or a valid sha256 value.', 400)
    }
    return contentSha
  }
  // Other services hash the body they received; x-amz-content-sha256 (if sent) is only a signed header there.
  return req.payloadHash ?? contentSha ?? EMPTY_SHA256
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

/** kSigning = HMAC chain over date, region, service, 'aws4_request'. */
const signingKeys = new Map<string, Buffer>()

/** The derived key for one secret, day, region and service (4 HMACs), memoized: it changes once a day. */
export function signingKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  const id = `${secretAccessKey}\n${date}\n${region}\n${service}`
  let key = signingKeys.get(id)
  if (!key) {
    if (signingKeys.size > 1000) signingKeys.clear()
    key = deriveSigningKey(secretAccessKey, date, region, service)
    signingKeys.set(id, key)
  }
  return key
}

function deriveSigningKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  const kDate = createHmac('sha256', 'AWS4' + secretAccessKey).update(date).digest()
  const kRegion = createHmac('sha256', kDate).update(region).digest()
  const kService = createHmac('sha256', kRegion).update(service).digest()
  return createHmac('sha256', kService).update('aws4_request').digest()
}

export interface CanonicalForm {
  canonicalRequest: string
  stringToSign: string
}

/** Build the canonical request and string to sign for a parsed request, with an explicit canonical URI. */
function canonicalForm(req: IncomingSignedRequest, parsed: ParsedAuth, canonicalUri: string, query: QueryPair[], payloadHash: string): CanonicalForm {
  const headerLines = parsed.signedHeaders.map((h) => `${h}:${canonicalHeaderValue(header(req.headers, h))}\n`).join('')
  const canonicalRequest = [
    req.method.toUpperCase(),
    canonicalUri,
    canonicalQuery(query, parsed.kind === 'presigned'),
    headerLines,
    parsed.signedHeaders.join(';'),
    payloadHash,
  ].join('\n')
  const scope = `${parsed.date}/${parsed.region}/${parsed.service}/aws4_request`
  const stringToSign = `${ALGORITHM}\n${parsed.amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`
  return {canonicalRequest, stringToSign}
}

function checkTime(parsed: ParsedAuth, now: Date): void {
  const requestMs = amzDateToMs(parsed.amzDate)
  const nowMs = now.getTime()
  const serverTime = now.toISOString().replace(/\.\d{3}Z$/, 'Z')
  if (parsed.kind === 'presigned') {
    if (parsed.expires !== undefined && nowMs > requestMs + parsed.expires * 1000) {
      const expiresAt = new Date(requestMs + parsed.expires * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')
      if (parsed.service !== 's3') throw new AuthError('SignatureDoesNotMatch', `Signature expired: ${parsed.amzDate} is now earlier than ${amzDateOf(new Date(nowMs - parsed.expires * 1000))} (${amzDateOf(now)} - ${parsed.expires} sec.)`, 403)
      throw new AuthError('AccessDenied', 'Request has expired', 403, {'X-Amz-Expires': String(parsed.expires), Expires: expiresAt, ServerTime: serverTime})
    }
    if (requestMs - nowMs > MAX_SKEW_MS) {
      if (parsed.service !== 's3') throw new AuthError('SignatureDoesNotMatch', `Signature not yet current: ${parsed.amzDate} is still later than ${amzDateOf(new Date(nowMs + MAX_SKEW_MS))} (${amzDateOf(now)} + 15 min.)`, 403)
      throw new AuthError('AccessDenied', 'Request is not valid yet', 403, {RequestTime: parsed.amzDate, ServerTime: serverTime})
    }
    return
  }
  if (Math.abs(nowMs - requestMs) > MAX_SKEW_MS) {
    if (parsed.service === 's3') {
      throw new AuthError('RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', 403, {
        RequestTime: parsed.amzDate,
        ServerTime: serverTime,
        MaxAllowedSkewMilliseconds: String(MAX_SKEW_MS),
      })
    }
    const message = requestMs < nowMs
      ? `Signature expired: ${parsed.amzDate} is now earlier than ${amzDateOf(new Date(nowMs - MAX_SKEW_MS))} (${amzDateOf(now)} - 15 min.)`
      : `Signature not yet current: ${parsed.amzDate} is still later than ${amzDateOf(new Date(nowMs + MAX_SKEW_MS))} (${amzDateOf(now)} + 15 min.)`
    throw new AuthError('SignatureDoesNotMatch', message, 403)
  }
}

function amzDateOf(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')
}

function sameSignature(expectedHex: string, providedHex: string): boolean {
  const a = Buffer.from(expectedHex, 'utf8')
  const b = Buffer.from(providedHex, 'utf8')
  return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * Verify the signature of a request parsed by `parseAuth` with the secret of its access key.
 * Checks the request time first (clock skew for header auth, expiry for presigned URLs), then the signature.
 * Throws AuthError; returns nothing on success.
 *
 * For S3 the body itself is not hashed here: the S3 service compares the received body with x-amz-content-sha256
 * (see `checkPayloadHash`).
 */
export function verifySignature(req: IncomingSignedRequest, parsed: ParsedAuth, secretAccessKey: string, opts: {now?: Date} = {}): void {
  checkTime(parsed, opts.now ?? new Date())
  const query = parseQuery(req.rawQuery)
  const payloadHash = signedPayloadHash(req, parsed)
  const key = signingKey(secretAccessKey, parsed.date, parsed.region, parsed.service)
  const candidates: string[] = []
  if (parsed.service === 's3') {
    // AWS canonicalizes the decoded key encoded once; clients sign the path they send, which is the same string
    // when they encode like the SDKs do. Accept the as-sent path too, for clients that encode differently.
    const canonical = s3CanonicalPath(req.rawPath)
    candidates.push(canonical)
    const asSent = req.rawPath === '' ? '/' : req.rawPath
    if (asSent !== canonical) candidates.push(asSent)
  } else {
    candidates.push(doubleEncodedPath(req.rawPath))
  }
  let first: CanonicalForm | undefined
  for (const uri of candidates) {
    const form = canonicalForm(req, parsed, uri, query, payloadHash)
    first ??= form
    const expected = createHmac('sha256', key).update(form.stringToSign).digest('hex')
    if (sameSignature(expected, parsed.signature)) return
  }
  const message = parsed.service === 's3'
    ? 'The request signature we calculated does not match the signature you provided. Check your key and signing method.'
    : 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.'
  throw new AuthError('SignatureDoesNotMatch', message, 403, {
    AWSAccessKeyId: parsed.accessKeyId,
    StringToSign: first!.stringToSign,
    SignatureProvided: parsed.signature,
    CanonicalRequest: first!.canonicalRequest,
  })
}

/**
 * S3: compare the hex SHA-256 of the received body with what the client declared in x-amz-content-sha256.
 * No-op for UNSIGNED-PAYLOAD and STREAMING-* declarations. Throws AuthError('XAmzContentSHA256Mismatch', 400).
 */
export function checkPayloadHash(declared: string | undefined, actualHex: string): void {
  if (declared === undefined || !HEX64.test(declared)) return
  if (declared !== actualHex) {
    throw new AuthError('XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", 400, {
      ClientComputedContentSHA256: declared,
      S3ComputedContentSHA256: actualHex,
    })
  }
}

/** Split a request URL (`/path?query`) into the rawPath / rawQuery pair `IncomingSignedRequest` wants. */
export function splitUrl(url: string): {rawPath: string; rawQuery: string} {
  const q = url.indexOf('?')
  return q === -1 ? {rawPath: url, rawQuery: ''} : {rawPath: url.slice(0, q), rawQuery: url.slice(q + 1)}
}
