import {mkdirSync, statSync, chmodSync} from 'node:fs'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {AuthError, parseAuth, sha256Hex, splitUrl, verifySignature, type IncomingSignedRequest, type ParsedAuth} from './auth/sigv4.js'
import {decide} from './iam/authz.js'
import {createIamService} from './iam/service.js'
import {IamStore, safeEqual, type RootCredentials} from './iam/store.js'
import {awsId, getRequestPrincipal, newAccountId, newSecretAccessKey, setRequestPrincipal, type Principal} from './identity.js'
import {createLambdaRuntime, type Credentials as LambdaCredentials, type LambdaRuntime} from './lambda/index.js'
import {
  escapeXml, newRequestId, notImplemented, parseFormParams, QueryError, QueryParams, errorResponse, sendQueryResponse, type QueryHandler,
} from './query.js'
import {jsonErrorResponse, JsonError, type JsonHandler, type JsonHttpResponse} from './json.js'
import {createS3Service, type Authorize, type S3Service} from './s3/index.js'
import {readJsonFileSync, writeJsonFileSync} from './state-file.js'
import {createStsService, issueRoleCredentials, type TemporaryCredentials} from './sts/service.js'

/**
 * The local platform's one HTTP server (127.0.0.1 only). Every request is routed by its SigV4 credential scope:
 * `s3` (or no authentication at all) → the S3 service; `iam`, `sts`, `cloudformation` → query-protocol services.
 * The router verifies the signature, resolves the access key to a principal (root, IAM user, or assumed-role
 * session) and attaches it to the request; S3 authorization is a hook evaluating the principal's identity policies
 * and the bucket policy.
 */

export interface StartPlatformOptions {
  /** The platform's data folder (created when missing). */
  dataDir: string
  /** TCP port on 127.0.0.1; 0 (default) = an ephemeral port. */
  port?: number
  /** Region answered by the services; default: the one in platform.json, else us-east-1. */
  region?: string
  /** Lambda concurrency (default: the runtime's). */
  lambdaMaxConcurrent?: number
}

export interface AdminCredentials {
  accessKeyId: string
  secretAccessKey: string
}

/** A query-protocol (form body, XML answer) service by its SigV4 signing name, e.g. `cloudformation`, `sns`. */
export type QueryServiceName = string

/** One authenticated REST-JSON request (e.g. EventBridge Scheduler: `POST /schedules/<name>`), for registerRestService. */
export interface RestRequest {
  method: string
  rawPath: string
  rawQuery: string
  headers: IncomingMessage['headers']
  body: Buffer
  principal: Principal
  requestId: string
  accountId: string
  region: string
}
export type RestHandler = (req: RestRequest) => Promise<JsonHttpResponse>

export interface Platform {
  /** http://127.0.0.1:<port> */
  endpoint: string
  port: number
  accountId: string
  region: string
  dataDir: string
  /** The account root's key pair (also in <data>/admin-credentials.json, mode 0600). */
  adminCredentials: AdminCredentials
  iam: IamStore
  s3: S3Service
  lambda: LambdaRuntime
  /** Temporary credentials for a role, no authorization check (what AssumeRole issues; for platform internals). */
  assumeRole(roleArn: string, sessionName: string, durationSeconds?: number): TemporaryCredentials
  registerQueryService(service: QueryServiceName, handler: QueryHandler): void
  /** An awsJson1_1 service (X-Amz-Target) by its signing name: `glue`, `athena`, `ssm`, `secretsmanager`… */
  registerJsonService(service: string, handler: JsonHandler): void
  /** A REST-JSON service by its signing name (the handler routes on method + path): `scheduler`… */
  registerRestService(service: string, handler: RestHandler): void
  close(): Promise<void>
}

interface PlatformFile {
  accountId: string
  region: string
  createdAt: string
}

const HOST = '127.0.0.1'
/** Request counters for tests and benchmarks (not an AWS API; `_` cannot start a bucket name, so no clash). */
export const STATS_PATH = '/_cape/stats'
const MAX_QUERY_BODY = 8 * 1024 * 1024
const DEFAULT_REGION = 'us-east-1'

/** platform.json: account id (generated once) and region. */
function loadPlatformFile(dataDir: string, region: string | undefined): PlatformFile {
  const path = join(dataDir, 'platform.json')
  const existing = readJsonFileSync<PlatformFile>(path)
  if (existing && /^\d{12}$/.test(existing.accountId)) return {...existing, region: region ?? existing.region ?? DEFAULT_REGION}
  const created: PlatformFile = {accountId: newAccountId(), region: region ?? DEFAULT_REGION, createdAt: new Date().toISOString()}
  writeJsonFileSync(path, created)
  return created
}

/** admin-credentials.json (mode 0600): the root key pair, generated once. */
function loadAdminCredentials(dataDir: string): AdminCredentials {
  const path = join(dataDir, 'admin-credentials.json')
  const existing = readJsonFileSync<AdminCredentials>(path)
  if (existing?.accessKeyId && existing.secretAccessKey) {
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600)
    return {accessKeyId: existing.accessKeyId, secretAccessKey: existing.secretAccessKey}
  }
  const created: AdminCredentials = {accessKeyId: awsId('AKIA', 16), secretAccessKey: newSecretAccessKey()}
  writeJsonFileSync(path, created, {mode: 0o600})
  return created
}

// ---------------------------------------------------------------------------------------------------------------
// error bodies

function sendS3Error(req: IncomingMessage, res: ServerResponse, requestId: string, status: number, code: string, message: string, details: Record<string, string> = {}): void {
  const extra = Object.entries(details).map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`).join('')
  const body = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message>${extra}` +
    `<RequestId>${requestId}</RequestId><HostId>${requestId}</HostId></Error>\n`)
  res.writeHead(status, {'content-type': 'application/xml', 'x-amz-request-id': requestId, 'content-length': String(req.method === 'HEAD' ? 0 : body.length)})
  res.end(req.method === 'HEAD' ? undefined : body)
}

function sendQueryError(res: ServerResponse, requestId: string, error: QueryError): void {
  sendQueryResponse(res, errorResponse(error, requestId), requestId)
}

/** The credential-scope service of a request whose auth could not be parsed (to answer in the right format). */
function sniffService(req: IncomingMessage, rawQuery: string): string | undefined {
  const auth = req.headers.authorization ?? ''
  const fromHeader = /Credential=[^/,\s]+\/\d{8}\/[^/,\s]+\/([^/,\s]+)\//.exec(auth)
  if (fromHeader) return fromHeader[1]
  const cred = new URLSearchParams(rawQuery).get('X-Amz-Credential')
  return cred?.split('/')[3]
}

const QUERY_SERVICES = new Set(['iam', 'sts', 'cloudformation', 'sns'])

function sendJson(res: ServerResponse, requestId: string, response: JsonHttpResponse): void {
  const body = Buffer.from(response.body)
  res.writeHead(response.status, {
    'content-type': 'application/x-amz-json-1.1',
    'x-amzn-requestid': requestId,
    'content-length': String(body.length),
    ...response.headers,
  })
  res.end(body)
}

/** An unauthenticated query-protocol call (POST / with a form body, or ?Action=) rather than an anonymous S3 request. */
function looksLikeQuery(req: IncomingMessage, rawPath: string, rawQuery: string): boolean {
  if (rawPath !== '/' && rawPath !== '') return false
  if (/(^|&)Action=/.test(rawQuery)) return true
  return req.method === 'POST' && String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > limit) {
        reject(new QueryError('RequestEntityTooLarge', `Request body larger than ${limit} bytes`, 413))
        req.destroy()
        return
      }
      chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

// ---------------------------------------------------------------------------------------------------------------

/** Start the local platform: load/create its state under `dataDir`, start S3, Lambda, IAM, STS, listen on 127.0.0.1. */
export async function startPlatform(options: StartPlatformOptions): Promise<Platform> {
  const {dataDir} = options
  mkdirSync(dataDir, {recursive: true})
  const {accountId, region} = loadPlatformFile(dataDir, options.region)
  const adminCredentials = loadAdminCredentials(dataDir)
  const root: RootCredentials = adminCredentials
  const iam = IamStore.open({file: join(dataDir, 'iam', 'state.json'), accountId, root})
  const queryServices = new Map<string, QueryHandler>([
    ['iam', createIamService({iam})],
    ['sts', createStsService({iam})],
  ])
  const jsonServices = new Map<string, JsonHandler>()
  const restServices = new Map<string, RestHandler>()
  let endpoint = ''

  // Lambda functions run with their role's temporary credentials (cached until 15 minutes before they expire)
  const lambdaCredentials = new Map<string, TemporaryCredentials>()
  const credentialsFor = async (roleArn: string): Promise<LambdaCredentials> => {
    const cached = lambdaCredentials.get(roleArn)
    if (cached && cached.expiration.getTime() - Date.now() > 15 * 60_000 && iam.resolveAccessKey(cached.accessKeyId)) return cached
    const issued = issueRoleCredentials(iam, roleArn, {sessionName: 'cape-local-lambda', durationSeconds: 3600})
    lambdaCredentials.set(roleArn, issued)
    return issued
  }
  const lambda = await createLambdaRuntime({
    dataDir: join(dataDir, 'lambda'),
    endpoint: () => endpoint,
    region,
    credentialsFor,
    ...(options.lambdaMaxConcurrent ? {maxConcurrent: options.lambdaMaxConcurrent} : {}),
  })

  const authorize: Authorize = async (req, check) => {
    const principal = getRequestPrincipal(req)
    const decision = decide(iam, principal, {
      action: check.action,
      resource: check.resource,
      context: check.context,
      resourcePolicies: check.bucketPolicy ? [check.bucketPolicy] : [],
    })
    if (decision !== 'allowed') throw new AuthError('AccessDenied', 'Access Denied', 403)
  }
  let s3: S3Service
  try {
    s3 = await createS3Service({
      dataDir: join(dataDir, 's3'),
      authorize,
      onNotify: async ({functionArn, event}) => { await lambda.invoke(functionArn, event) },
      region,
      accountId,
    })
  } catch (error) {
    await lambda.close()
    throw error
  }

  /** Resolve and verify the caller; throws AuthError/QueryError with the service's error code. */
  const authenticate = (signed: IncomingSignedRequest, parsed: ParsedAuth, isS3: boolean): Principal => {
    const resolved = iam.resolveAccessKey(parsed.accessKeyId)
    if (!resolved || resolved.status !== 'Active' || (resolved.sessionToken !== undefined && parsed.sessionToken === undefined)) {
      throw isS3
        ? new AuthError('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', 403, {AWSAccessKeyId: parsed.accessKeyId})
        : new AuthError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403)
    }
    if (resolved.sessionToken !== undefined) {
      if (!safeEqual(resolved.sessionToken, parsed.sessionToken ?? '')) {
        throw isS3
          ? new AuthError('InvalidToken', 'The provided token is malformed or otherwise invalid.', 400)
          : new AuthError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403)
      }
      if (resolved.expiration && resolved.expiration.getTime() <= Date.now()) {
        throw isS3
          ? new AuthError('ExpiredToken', 'The provided token has expired.', 400)
          : new AuthError('ExpiredToken', 'The security token included in the request is expired', 400)
      }
    } else if (parsed.sessionToken !== undefined && isS3) {
      throw new AuthError('InvalidToken', 'The provided token is malformed or otherwise invalid.', 400)
    }
    verifySignature(signed, parsed, resolved.secretAccessKey)
    return resolved.principal
  }

  const handleS3 = (req: IncomingMessage, res: ServerResponse, requestId: string, signed: IncomingSignedRequest, parsed: ParsedAuth | null) => {
    if (parsed) {
      try {
        setRequestPrincipal(req, authenticate(signed, parsed, true))
      } catch (error) {
        const e = error instanceof AuthError ? error : new AuthError('InternalError', String(error), 500)
        sendS3Error(req, res, requestId, e.status, e.code, e.message, e.details)
        req.resume()
        return
      }
    }
    s3.handle(req, res)
  }

  const handleQuery = async (req: IncomingMessage, res: ServerResponse, requestId: string, signed: IncomingSignedRequest, parsed: ParsedAuth | null, service: string | undefined) => {
    try {
      const body = await readBody(req, MAX_QUERY_BODY)
      if (!parsed) throw new QueryError('MissingAuthenticationToken', 'Request is missing Authentication Token', 403)
      const handler = service ? queryServices.get(service) : undefined
      let principal: Principal
      try {
        principal = authenticate({...signed, payloadHash: sha256Hex(body)}, parsed, false)
      } catch (error) {
        if (error instanceof AuthError) throw new QueryError(error.code, error.message, error.status)
        throw error
      }
      const contentType = String(req.headers['content-type'] ?? '')
      const params = {
        ...parseFormParams(signed.rawQuery),
        ...(body.length > 0 && (contentType === '' || contentType.startsWith('application/x-www-form-urlencoded')) ? parseFormParams(body) : {}),
      }
      const action = params.Action ?? ''
      if (!handler) throw notImplemented(`${service}:${action}`)
      const response = await handler({action, params: new QueryParams(params), principal, requestId, accountId, region})
      sendQueryResponse(res, response, requestId)
    } catch (error) {
      sendQueryResponse(res, errorResponse(error, requestId), requestId)
    }
  }

  /** Authenticate a JSON/REST request's body-signed call; AuthErrors become JsonErrors of the same code. */
  const authenticateBody = (signed: IncomingSignedRequest, parsed: ParsedAuth | null, body: Buffer): Principal => {
    if (!parsed) throw new JsonError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403)
    try {
      return authenticate({...signed, payloadHash: sha256Hex(body)}, parsed, false)
    } catch (error) {
      if (error instanceof AuthError) {
        const code = error.code === 'InvalidClientTokenId' ? 'UnrecognizedClientException' : error.code === 'SignatureDoesNotMatch' ? 'InvalidSignatureException' : error.code
        throw new JsonError(code, error.message, error.status)
      }
      throw error
    }
  }

  const handleJson = async (req: IncomingMessage, res: ServerResponse, requestId: string, signed: IncomingSignedRequest, parsed: ParsedAuth | null, service: string) => {
    try {
      const body = await readBody(req, MAX_QUERY_BODY)
      const principal = authenticateBody(signed, parsed, body)
      const target = String(req.headers['x-amz-target'] ?? '')
      const handler = jsonServices.get(service)
      if (!handler) throw new JsonError('UnknownOperationException', `NotImplemented: ${service} (${target}) is not implemented by the cape local platform`)
      let input: Record<string, unknown>
      try {
        input = body.length === 0 ? {} : JSON.parse(body.toString('utf8')) as Record<string, unknown>
      } catch {
        throw new JsonError('SerializationException', 'The request body is not valid JSON')
      }
      const operation = target.slice(target.lastIndexOf('.') + 1)
      sendJson(res, requestId, await handler({operation, target, input: input ?? {}, principal, requestId, accountId, region}))
    } catch (error) {
      sendJson(res, requestId, jsonErrorResponse(error))
    }
  }

  const handleRest = async (req: IncomingMessage, res: ServerResponse, requestId: string, signed: IncomingSignedRequest, parsed: ParsedAuth | null, handler: RestHandler) => {
    try {
      const body = await readBody(req, MAX_QUERY_BODY)
      const principal = authenticateBody(signed, parsed, body)
      sendJson(res, requestId, await handler({method: signed.method, rawPath: signed.rawPath, rawQuery: signed.rawQuery, headers: req.headers, body, principal, requestId, accountId, region}))
    } catch (error) {
      sendJson(res, requestId, jsonErrorResponse(error))
    }
  }

  /** GET /_cape/stats (S3-signed, account root only): per-operation request counters of the S3 service, as JSON. */
  const handleStats = (req: IncomingMessage, res: ServerResponse, requestId: string, signed: IncomingSignedRequest, parsed: ParsedAuth | null) => {
    req.resume()
    try {
      if (!parsed) throw new AuthError('AccessDenied', 'Access Denied', 403)
      if (authenticate(signed, parsed, true).type !== 'root') throw new AuthError('AccessDenied', 'Access Denied', 403)
    } catch (error) {
      const e = error instanceof AuthError ? error : new AuthError('InternalError', String(error), 500)
      sendS3Error(req, res, requestId, e.status, e.code, e.message, e.details)
      return
    }
    const body = JSON.stringify({s3: s3.stats()})
    res.writeHead(200, {'content-type': 'application/json', 'x-amz-request-id': requestId, 'content-length': String(Buffer.byteLength(body))})
    res.end(body)
  }

  const server: Server = createServer((req, res) => {
    const requestId = newRequestId().replace(/-/g, '').slice(0, 16).toUpperCase()
    const {rawPath, rawQuery} = splitUrl(req.url ?? '/')
    const signed: IncomingSignedRequest = {method: req.method ?? 'GET', rawPath, rawQuery, headers: req.headers}
    let parsed: ParsedAuth | null
    try {
      parsed = parseAuth(signed)
    } catch (error) {
      const e = error instanceof AuthError ? error : new AuthError('InvalidRequest', String(error), 400)
      const service = sniffService(req, rawQuery)
      if (service && QUERY_SERVICES.has(service)) sendQueryError(res, requestId, new QueryError(e.code, e.message, e.status))
      else sendS3Error(req, res, requestId, e.status, e.code, e.message, e.details)
      req.resume()
      return
    }
    const service = parsed ? parsed.service : looksLikeQuery(req, rawPath, rawQuery) ? undefined : 's3'
    if (rawPath === STATS_PATH && req.method === 'GET') {
      handleStats(req, res, requestId, signed, parsed)
      return
    }
    if (service === 's3') {
      handleS3(req, res, requestId, signed, parsed)
      return
    }
    if (service && req.headers['x-amz-target'] !== undefined) {
      void handleJson(req, res, requestId, signed, parsed, service)
      return
    }
    const rest = service ? restServices.get(service) : undefined
    if (rest) {
      void handleRest(req, res, requestId, signed, parsed, rest)
      return
    }
    void handleQuery(req, res, requestId, signed, parsed, service)
  })
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')
  })

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port ?? 0, HOST, () => {
        server.off('error', reject)
        resolve()
      })
    })
  } catch (error) {
    await Promise.allSettled([s3.close(), lambda.close()])
    throw error
  }
  const port = (server.address() as AddressInfo).port
  endpoint = `http://${HOST}:${port}`

  let closing: Promise<void> | undefined
  return {
    endpoint,
    port,
    accountId,
    region,
    dataDir,
    adminCredentials,
    iam,
    s3,
    lambda,
    assumeRole: (roleArn, sessionName, durationSeconds) => issueRoleCredentials(iam, roleArn, {sessionName, durationSeconds}),
    registerQueryService(name, handler) {
      queryServices.set(name, handler)
    },
    registerJsonService(name, handler) {
      jsonServices.set(name, handler)
    },
    registerRestService(name, handler) {
      restServices.set(name, handler)
    },
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve())
          server.closeAllConnections()
        })
        await Promise.allSettled([s3.close(), lambda.close()])
      })()
      return closing
    },
  }
}
