import {evaluate, type Decision, type PolicyDocument} from '../auth/policy.js'
import type {Principal} from '../identity.js'
import type {IamStore} from './store.js'

/** The principal ARN used in policy evaluation for an unauthenticated request (matches only `Principal: "*"`). */
export const ANONYMOUS_ARN = 'anonymous'

export interface AuthzCheck {
  action: string
  resource: string
  context?: Record<string, string | string[] | boolean | number>
  /** e.g. the bucket policy */
  resourcePolicies?: PolicyDocument[]
}

/** Global condition keys the local platform supplies for every request. */
export function requestContext(principal: Principal | undefined, extra: AuthzCheck['context'] = {}): Record<string, string | string[] | boolean | number> {
  const ctx: Record<string, string | string[] | boolean | number> = {
    // the platform listens on loopback only: treated as secure transport (documented in platform-contracts.md)
    'aws:SecureTransport': 'true',
  }
  if (principal) {
    ctx['aws:PrincipalArn'] = principal.type === 'assumed-role' && principal.roleName
      ? principal.arn.replace(/^arn:aws:sts::(\d+):assumed-role\/([^/]+)\/.*$/, 'arn:aws:iam::$1:role/$2')
      : principal.arn
    ctx['aws:PrincipalAccount'] = principal.accountId
    if (principal.userName) ctx['aws:username'] = principal.userName
  }
  return {...ctx, ...extra}
}

/**
 * Decide whether `principal` (undefined = anonymous) may do `check.action` on `check.resource`: its identity policies
 * (user + groups, or the assumed role's) and the resource policies through evaluate(); root is allowed unless an
 * explicit Deny matches. Temporary credentials with a session policy additionally need that policy to allow.
 */
export function decide(iam: IamStore, principal: Principal | undefined, check: AuthzCheck): Decision {
  const context = requestContext(principal, check.context)
  const identityPolicies = principal ? iam.identityPoliciesFor(principal) : []
  const run = (principalArn: string, policies: PolicyDocument[], resourcePolicies: PolicyDocument[] = []) => evaluate({
    identityPolicies: policies,
    resourcePolicies,
    request: {action: check.action, resource: check.resource, principalArn, accountId: principal ? iam.accountId : '', context},
    isRoot: principal?.type === 'root',
  }).decision
  // (a resource policy naming the role ARN also matches its assumed-role sessions: evaluate() handles that)
  const decision = run(principal?.arn ?? ANONYMOUS_ARN, identityPolicies, check.resourcePolicies)
  if (decision !== 'allowed' || !principal) return decision
  const sessionPolicy = iam.sessionPolicyFor(principal)
  if (sessionPolicy) return run(principal.arn, [sessionPolicy])
  return decision
}
