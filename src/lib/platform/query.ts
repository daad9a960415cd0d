import {randomUUID} from 'node:crypto'
import type {ServerResponse} from 'node:http'
import type {Principal} from './identity.js'

/**
 * Shared helpers for the AWS "query" protocol services of the local platform (IAM, STS, CloudFormation):
 * form-body parameters (incl. list members such as `Tags.member.1.Key`), XML responses shaped like AWS, and
 * AWS-style error responses.
 */

// ---------------------------------------------------------------------------------------------------------------
// Errors

/** An error answered to the client as `<ErrorResponse>` with the given code and HTTP status. */
export class QueryError extends Error {
  readonly code: string
  readonly status: number
  readonly type: 'Sender' | 'Receiver'

  constructor(code: string, message: string, status = 400, type: 'Sender' | 'Receiver' = status >= 500 ? 'Receiver' : 'Sender') {
    super(message)
    this.name = 'QueryError'
    this.code = code
    this.status = status
    this.type = type
  }
}

export const isQueryError = (e: unknown): e is QueryError => e instanceof QueryError

/** `InvalidAction` for an action the local platform does not implement. */
export const notImplemented = (action: string) =>
  new QueryError('InvalidAction', `NotImplemented: ${action} is not implemented by the cape local platform`, 400)

export const validationError = (message: string) => new QueryError('ValidationError', message, 400)

// ---------------------------------------------------------------------------------------------------------------
// Parameters

/** A parameter tree: `A.member.1.B=x` becomes `{A: [{B: 'x'}]}`. */
export type ParamValue = string | ParamValue[] | {[key: string]: ParamValue}
export type ParamTree = {[key: string]: ParamValue}

/** Parse an `application/x-www-form-urlencoded` body (or raw query string) into a flat map (last value wins). */
export function parseFormParams(body: string | Buffer): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of new URLSearchParams(typeof body === 'string' ? body : body.toString('utf8'))) out[k] = v
  return out
}

const isIndex = (s: string | undefined) => s !== undefined && /^[1-9]\d*$/.test(s)

/**
 * Expand flat query parameters into a tree. `X.member.N…` and `X.entry.N…` become arrays (1-based N, order kept,
 * gaps dropped); other dots nest objects. `Attributes.entry.N.key/value` stays an array of `{key, value}`.
 */
export function expandParams(flat: Record<string, string>): ParamTree {
  const root: ParamTree = {}
  const sparse = new Set<ParamValue[]>()
  for (const [name, value] of Object.entries(flat)) {
    const parts = name.split('.')
    let node: ParamTree | ParamValue[] = root
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]
      const last = i === parts.length - 1
      let key: string | number = part
      if (Array.isArray(node)) {
        if (!isIndex(part)) break // malformed (e.g. X.member.foo): ignore the parameter
        key = Number(part) - 1
      }
      // `member`/`entry` followed by an index: the current container is an array
      if ((part === 'member' || part === 'entry') && isIndex(parts[i + 1]) && !Array.isArray(node)) continue
      const isArrayNext = (parts[i + 1] === 'member' || parts[i + 1] === 'entry') && isIndex(parts[i + 2])
      const container = node as any
      if (last) {
        container[key] = value
        break
      }
      let child = container[key]
      if (isArrayNext) {
        if (!Array.isArray(child)) {
          child = []
          container[key] = child
          sparse.add(child)
        }
        i++ // skip the `member` segment
      } else if (Array.isArray(child)) {
        break // `X.member.1=…` and `X.foo=…` together: ignore the malformed one
      } else if (child === undefined || typeof child !== 'object') {
        child = {}
        container[key] = child
      }
      node = child
    }
  }
  for (const arr of sparse) {
    const dense = arr.filter((v) => v !== undefined)
    arr.length = 0
    arr.push(...dense)
  }
  return root
}

/** Typed access to the parameters of one query request. */
export class QueryParams {
  readonly flat: Record<string, string>
  readonly tree: ParamTree

  constructor(flat: Record<string, string>) {
    this.flat = flat
    this.tree = expandParams(flat)
  }

  /** A scalar parameter, `undefined` when absent. */
  string(name: string): string | undefined {
    const v = this.flat[name]
    return v === undefined ? undefined : v
  }

  /** A scalar parameter that must be present and non-empty (else ValidationError like AWS). */
  required(name: string): string {
    const v = this.flat[name]
    if (v === undefined || v === '')
      throw validationError(`1 validation error detected: Value null at '${lowerFirst(name)}' failed to satisfy constraint: Member must not be null`)
    return v
  }

  int(name: string): number | undefined {
    const v = this.flat[name]
    if (v === undefined || v === '') return undefined
    const n = Number(v)
    if (!Number.isInteger(n)) throw validationError(`Invalid value for ${name}: ${v} is not an integer`)
    return n
  }

  bool(name: string): boolean | undefined {
    const v = this.flat[name]
    if (v === undefined || v === '') return undefined
    return v.toLowerCase() === 'true'
  }

  /** A list of scalars (`Name.member.N`). An empty list is sent as `Name=` and gives []. */
  list(name: string): string[] {
    const v = this.tree[name]
    if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string')
    return []
  }

  /** A list of structures (`Name.member.N.Field`). */
  structs(name: string): Array<Record<string, ParamValue>> {
    const v = this.tree[name]
    if (Array.isArray(v)) return v.filter((x): x is Record<string, ParamValue> => typeof x === 'object' && x !== null && !Array.isArray(x))
    return []
  }

  /** `Tags.member.N.Key/Value` as a list of {Key, Value}. */
  tags(name = 'Tags'): Array<{Key: string; Value: string}> {
    return this.structs(name).map((t) => ({Key: String(t.Key ?? ''), Value: typeof t.Value === 'string' ? t.Value : ''}))
  }
}

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1)

// ---------------------------------------------------------------------------------------------------------------
// XML

/** Pre-rendered XML, inserted as-is (e.g. `<entry><key>…</key><value>…</value></entry>` maps). */
export class RawXml {
  constructor(readonly xml: string) {}
}

/** `<entry><key>k</key><value>v</value></entry>` for each pair: the query protocol's map shape (e.g. SummaryMap). */
export const xmlMap = (entries: Record<string, string | number>) =>
  new RawXml(Object.entries(entries).map(([k, v]) => `<entry><key>${escapeXml(k)}</key><value>${escapeXml(String(v))}</value></entry>`).join(''))

/** A value rendered as XML: objects become elements, arrays become `<member>` lists, Dates ISO 8601. */
export type XmlValue = string | number | boolean | Date | RawXml | null | undefined | XmlValue[] | {[key: string]: XmlValue}

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;'})[c] as string)
}

function renderValue(value: XmlValue): string {
  if (value === null || value === undefined) return ''
  if (value instanceof Date) return escapeXml(value.toISOString())
  if (value instanceof RawXml) return value.xml
  if (Array.isArray(value)) return value.map((v) => `<member>${renderValue(v)}</member>`).join('')
  if (typeof value === 'object') return Object.entries(value).map(([k, v]) => toXml(k, v)).join('')
  return escapeXml(String(value))
}

/** One element: `<name>…</name>`; nothing for null/undefined. */
export function toXml(name: string, value: XmlValue): string {
  if (value === null || value === undefined) return ''
  return `<${name}>${renderValue(value)}</${name}>`
}

/** The success body of a query action: `<ActionResponse xmlns><ActionResult>…</ActionResult><ResponseMetadata>`. */
export function queryResponseXml(action: string, namespace: string, result: XmlValue, requestId: string): string {
  const resultXml = result === undefined || result === null ? '' : toXml(`${action}Result`, result)
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${escapeXml(namespace)}">${resultXml}` +
    `<ResponseMetadata><RequestId>${escapeXml(requestId)}</RequestId></ResponseMetadata></${action}Response>\n`
}

/** The AWS query-protocol error body. */
export function queryErrorXml(code: string, message: string, requestId: string, type: 'Sender' | 'Receiver' = 'Sender'): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>${type}</Type><Code>${escapeXml(code)}</Code>` +
    `<Message>${escapeXml(message)}</Message></Error><RequestId>${escapeXml(requestId)}</RequestId></ErrorResponse>\n`
}

// ---------------------------------------------------------------------------------------------------------------
// Services

/** One authenticated query request, as the router hands it to a service. */
export interface QueryRequest {
  action: string
  params: QueryParams
  principal: Principal
  requestId: string
  accountId: string
  region: string
}

export interface QueryHttpResponse {
  status: number
  body: string
  headers?: Record<string, string>
}

/** What `registerQueryService` accepts: answers one request (errors included) with status + XML body. */
export type QueryHandler = (req: QueryRequest) => Promise<QueryHttpResponse>

/** One action: returns the content of `<ActionResult>` (or undefined for an empty result); throws QueryError. */
export type QueryAction = (req: QueryRequest) => Promise<XmlValue | void> | XmlValue | void

export const newRequestId = () => randomUUID()

export function errorResponse(error: unknown, requestId: string): QueryHttpResponse {
  if (isQueryError(error)) return {status: error.status, body: queryErrorXml(error.code, error.message, requestId, error.type)}
  // a bug in the platform: say so, without leaking a stack
  const message = error instanceof Error ? error.message : String(error)
  return {status: 500, body: queryErrorXml('InternalFailure', `Internal error in the cape local platform: ${message}`, requestId, 'Receiver')}
}

/**
 * Build a QueryHandler from a table of actions. Unknown actions answer 400 InvalidAction
 * ("NotImplemented: X is not implemented by the cape local platform"); QueryErrors become AWS error responses.
 */
export function createQueryHandler(options: {namespace: string; actions: Record<string, QueryAction>}): QueryHandler {
  return async (req) => {
    const action = Object.hasOwn(options.actions, req.action) ? options.actions[req.action] : undefined
    try {
      if (!action) throw notImplemented(req.action || '(no Action)')
      const result = (await action(req)) ?? undefined
      return {status: 200, body: queryResponseXml(req.action, options.namespace, result, req.requestId)}
    } catch (error) {
      return errorResponse(error, req.requestId)
    }
  }
}

/** Write a query response to an HTTP response. */
export function sendQueryResponse(res: ServerResponse, r: QueryHttpResponse, requestId: string): void {
  const body = Buffer.from(r.body, 'utf8')
  res.writeHead(r.status, {
    'content-type': 'text/xml',
    'content-length': String(body.length),
    'x-amzn-requestid': requestId,
    ...r.headers,
  })
  res.end(body)
}
