import {CapeError, isCapeError} from '../cli/errors.js'
import {ExitCode} from '../cli/exit-codes.js'

interface SdkLikeError {
  name?: string
  Code?: string
  code?: string
  message?: string
  $metadata?: {httpStatusCode?: number; requestId?: string}
  $fault?: 'client' | 'server'
}

const AUTH = new Set([
  'InvalidClientTokenId',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'UnrecognizedClientException',
  'ExpiredToken',
  'ExpiredTokenException',
  'RequestExpired',
  'MissingAuthenticationToken',
  'IncompleteSignature',
  'CredentialsProviderError',
  'TokenProviderError',
  'RequestTimeTooSkewed',
])
const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'AllAccessDisabled'])
const NOT_FOUND = new Set(['NoSuchBucket', 'NoSuchKey', 'NotFound', 'NoSuchEntity', 'NoSuchUpload', 'ChangeSetNotFound', 'StackNotFound'])
const NETWORK = new Set(['ECONNREFUSED', 'ENOTFOUND', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT', 'EAI_AGAIN'])

export interface MapContext {
  /** What cape was doing, e.g. "listing s3://bucket/prefix". */
  doing?: string
  /** Extra hints to append. */
  hints?: string[]
}

/**
 * The one function that turns an AWS SDK (or network) error into a CapeError.
 * The service's own message is kept; the code is `AWS_<ServiceCode>` so scripts can match it.
 */
export function mapAwsError(err: unknown, context: MapContext = {}): CapeError {
  if (isCapeError(err)) return err
  const e = (err ?? {}) as SdkLikeError & {errno?: number; syscall?: string; cause?: unknown}
  const code = e.Code ?? e.name ?? 'Error'
  const status = e.$metadata?.httpStatusCode
  const prefix = context.doing ? `${context.doing}: ` : ''
  const message = `${prefix}${e.message && e.message !== 'UnknownError' ? e.message : code}${status ? ` (${code}, HTTP ${status})` : ''}`
  const hints = [...(context.hints ?? [])]
  const data = e.$metadata?.requestId ? {requestId: e.$metadata.requestId, service: code} : {service: code}

  const netCode = (e.code ?? (e.cause as {code?: string} | undefined)?.code) as string | undefined
  if (netCode && NETWORK.has(netCode)) {
    return new CapeError('ENDPOINT_UNREACHABLE', `${prefix}cannot reach the endpoint (${netCode}).`, {
      exit: ExitCode.config,
      hints: ['Check --endpoint-url / AWS_ENDPOINT_URL and your network.', 'For the local environment, `cape local status` shows the platform.', ...hints],
      cause: err,
    })
  }
  if (AUTH.has(code)) {
    return new CapeError(`AWS_${code}`, message, {
      exit: ExitCode.config,
      hints: ['Check the credentials in use: `cape config show` names the profile and where it came from.', ...hints],
      cause: err,
      data,
    })
  }
  if (DENIED.has(code)) {
    return new CapeError(`AWS_${code}`, message, {
      exit: ExitCode.config,
      hints: ['The identity in use lacks this permission; `cape access check` shows who can reach what.', ...hints],
      cause: err,
      data,
    })
  }
  if (NOT_FOUND.has(code) || status === 404 || /does not exist/i.test(e.message ?? '')) {
    return new CapeError(`AWS_${code}`, message, {exit: ExitCode.notFound, hints, cause: err, data})
  }
  if (e.$fault === 'client' && status && status < 500) {
    return new CapeError(`AWS_${code}`, message, {exit: ExitCode.remoteFailed, hints, cause: err, data})
  }
  if (e.$metadata || e.$fault) {
    return new CapeError(`AWS_${code}`, message, {exit: ExitCode.remoteFailed, hints, cause: err, data})
  }
  return new CapeError('UNEXPECTED', (err as Error)?.message ?? String(err), {
    exit: ExitCode.unexpected,
    hints: ['This is a bug in cape; please report it with the command you ran (use --debug for a stack trace).', ...hints],
    cause: err,
  })
}
