import type {Principal} from './identity.js'

/**
 * Shared helpers for the AWS JSON-protocol services of the local platform (awsJson1_1: Glue, Athena, SSM, Secrets
 * Manager…). A request is `POST /` with `X-Amz-Target: <Prefix>.<Operation>` and a JSON body; the answer is JSON
 * (`application/x-amz-json-1.1`); an error is `{"__type": code, "Message": …}` with its HTTP status, as AWS sends it.
 * Services are registered on the router by their SigV4 signing name (`platform.registerJsonService('glue', …)`).
 */

/** An error answered as `{"__type": code, "Message": message, ...extra}` with the given HTTP status. */
export class JsonError extends Error {
  readonly code: string
  readonly status: number
  readonly extra: Record<string, unknown>

  constructor(code: string, message: string, status = 400, extra: Record<string, unknown> = {}) {
    super(message)
    this.name = 'JsonError'
    this.code = code
    this.status = status
    this.extra = extra
  }
}

export const isJsonError = (e: unknown): e is JsonError => e instanceof JsonError

/** One authenticated JSON-protocol request, as the router hands it to a service. */
export interface JsonRequest {
  /** The operation from `X-Amz-Target` (after the last dot), e.g. `GetTables`. */
  operation: string
  /** The whole target header, e.g. `AWSGlue.GetTables`. */
  target: string
  /** The parsed JSON body (`{}` for an empty body). */
  input: Record<string, unknown>
  principal: Principal
  requestId: string
  accountId: string
  region: string
}

export interface JsonHttpResponse {
  status: number
  body: string
  headers?: Record<string, string>
}

/** What `registerJsonService` accepts: answers one request (errors included). */
export type JsonHandler = (req: JsonRequest) => Promise<JsonHttpResponse>

/** One operation: returns the output object (or undefined for `{}`); throws JsonError. */
export type JsonOperation = (req: JsonRequest) => Promise<object | void> | object | void

export function jsonErrorResponse(error: unknown): JsonHttpResponse {
  if (isJsonError(error)) {
    return {
      status: error.status,
      body: JSON.stringify({__type: error.code, Message: error.message, ...error.extra}),
      headers: {'x-amzn-errortype': error.code},
    }
  }
  const message = error instanceof Error ? error.message : String(error)
  return {
    status: 500,
    body: JSON.stringify({__type: 'InternalServerException', Message: `Internal error in the cape local platform: ${message}`}),
    headers: {'x-amzn-errortype': 'InternalServerException'},
  }
}

/**
 * Build a JsonHandler from a table of operations. An unknown operation answers 400 `UnknownOperationException`
 * (what AWS answers for a target it does not know), naming the platform; JsonErrors become AWS error responses.
 */
export function createJsonHandler(operations: Record<string, JsonOperation>): JsonHandler {
  return async (req) => {
    const op = Object.hasOwn(operations, req.operation) ? operations[req.operation] : undefined
    try {
      if (!op) throw new JsonError('UnknownOperationException', `NotImplemented: ${req.target || '(no X-Amz-Target)'} is not implemented by the cape local platform`)
      const output = (await op(req)) ?? {}
      return {status: 200, body: JSON.stringify(output)}
    } catch (error) {
      return jsonErrorResponse(error)
    }
  }
}
