import {evaluate} from '../auth/policy.js'
import {assumedRoleArn, rootArn, type Principal} from '../identity.js'
import {QueryError, createQueryHandler, validationError, type QueryHandler, type QueryRequest} from '../query.js'
import {decide, requestContext} from '../iam/authz.js'
import {parsePolicy, validatePolicyDocument, type IamStore} from '../iam/store.js'

/** The STS query API of the local platform (namespace https://sts.amazonaws.com/doc/2011-06-15/). */
export const STS_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/'

export interface TemporaryCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken: string
  expiration: Date
  /** `<roleId>:<sessionName>` */
  assumedRoleId: string
  /** arn:aws:sts::<acct>:assumed-role/<role>/<session> */
  arn: string
}

const SESSION_NAME_RE = /^[\w+=,.@-]{2,64}$/

/**
 * Issue temporary credentials (ASIA… key, secret, session token) for a role, without any authorization check: the
 * platform's own callers (the Lambda runtime) use this. They are persisted in the IAM state, so they survive a
 * restart until they expire.
 */
export function issueRoleCredentials(iam: IamStore, roleArn: string, options: {sessionName: string; durationSeconds?: number; policy?: string}): TemporaryCredentials {
  const role = iam.roleByArn(roleArn)
  const session = iam.createSession({roleName: role.name, sessionName: options.sessionName, durationSeconds: options.durationSeconds ?? 3600, policy: options.policy})
  return {
    accessKeyId: session.accessKeyId,
    secretAccessKey: session.secretAccessKey,
    sessionToken: session.sessionToken,
    expiration: new Date(session.expiration),
    assumedRoleId: `${role.roleId}:${session.sessionName}`,
    arn: assumedRoleArn(iam.accountId, role.name, session.sessionName),
  }
}

/** UserId and Arn of a principal, as GetCallerIdentity answers them. */
export function callerIdentity(iam: IamStore, principal: Principal): {UserId: string; Account: string; Arn: string} {
  if (principal.type === 'root') return {UserId: iam.accountId, Account: iam.accountId, Arn: rootArn(iam.accountId)}
  if (principal.type === 'user') return {UserId: iam.findUser(principal.userName ?? '')?.userId ?? principal.accessKeyId, Account: iam.accountId, Arn: principal.arn}
  const session = iam.session(principal.accessKeyId)
  const roleId = iam.listRoles().find((r) => r.name === principal.roleName)?.roleId ?? principal.roleName ?? ''
  return {UserId: `${roleId}:${session?.sessionName ?? ''}`, Account: iam.accountId, Arn: principal.arn}
}

function accessDenied(req: QueryRequest, resource: string): QueryError {
  return new QueryError('AccessDenied', `User: ${req.principal.arn} is not authorized to perform: sts:AssumeRole on resource: ${resource}`, 403)
}

/**
 * AssumeRole authorization, same-account rules: the role's trust policy must allow the caller, and either the
 * caller's identity policies allow sts:AssumeRole on the role or the trust policy names the caller itself. An
 * explicit Deny anywhere refuses. (Unlike AWS, the account root may assume a role whose trust policy allows the
 * account: the local platform's admin credentials are the root.)
 */
function authorizeAssumeRole(iam: IamStore, req: QueryRequest, roleArn: string, trustText: string, context: Record<string, string>): void {
  const trust = parsePolicy(trustText)
  const ctx = requestContext(req.principal, context)
  const trustDecision = (accountId: string) => evaluate({
    identityPolicies: [],
    resourcePolicies: [trust],
    request: {action: 'sts:AssumeRole', resource: roleArn, principalArn: req.principal.arn, accountId, context: ctx},
  }).decision
  if (trustDecision(iam.accountId) !== 'allowed') throw accessDenied(req, roleArn)
  const identity = decide(iam, req.principal, {action: 'sts:AssumeRole', resource: roleArn, context})
  if (identity === 'allowed') return
  if (identity === 'explicitDeny') throw accessDenied(req, roleArn)
  // no identity Allow: enough only when the trust policy names this very principal (not just its account)
  if (trustDecision('not-this-account') !== 'allowed') throw accessDenied(req, roleArn)
}

export function createStsService({iam}: {iam: IamStore}): QueryHandler {
  return createQueryHandler({
    namespace: STS_NAMESPACE,
    actions: {
      // never needs a permission, like on AWS
      GetCallerIdentity: (req) => callerIdentity(iam, req.principal),
      AssumeRole: (req) => {
        const roleArn = req.params.required('RoleArn')
        const sessionName = req.params.required('RoleSessionName')
        if (!SESSION_NAME_RE.test(sessionName))
          throw validationError(`1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]* and have length 2..64`)
        const m = /^arn:aws:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(roleArn)
        if (!m) throw validationError(`${roleArn} is invalid`)
        const role = iam.listRoles().find((r) => r.arn === roleArn)
        if (!role || m[1] !== iam.accountId) throw accessDenied(req, roleArn) // AWS does not reveal whether the role exists
        const context: Record<string, string> = {'sts:RoleSessionName': sessionName}
        const externalId = req.params.string('ExternalId')
        if (externalId) context['sts:ExternalId'] = externalId
        authorizeAssumeRole(iam, req, roleArn, role.assumeRolePolicyDocument, context)
        const duration = req.params.int('DurationSeconds') ?? 3600
        const max = req.principal.type === 'assumed-role' ? 3600 : role.maxSessionDuration // role chaining: 1 hour at most
        if (duration < 900)
          throw validationError(`1 validation error detected: Value '${duration}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900`)
        if (duration > max) throw validationError('The requested DurationSeconds exceeds the MaxSessionDuration set for this role.')
        const policyText = req.params.string('Policy')
        const policy = policyText ? validatePolicyDocument(policyText) : undefined
        const creds = issueRoleCredentials(iam, roleArn, {sessionName, durationSeconds: duration, policy})
        return {
          Credentials: {AccessKeyId: creds.accessKeyId, SecretAccessKey: creds.secretAccessKey, SessionToken: creds.sessionToken, Expiration: creds.expiration},
          AssumedRoleUser: {AssumedRoleId: creds.assumedRoleId, Arn: creds.arn},
          ...(policy ? {PackedPolicySize: Math.min(100, Math.ceil(policy.length / 20))} : {}),
        }
      },
    },
  })
}
