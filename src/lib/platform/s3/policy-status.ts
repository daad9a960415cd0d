import type {PolicyDocument} from '../auth/policy.js'
import {type ExtDeps, type ExtHandler, s3Err} from './extension.js'

/**
 * GetBucketPolicyStatus: a policy is public when one of its Allow statements names the principal "*" (or AWS "*")
 * without a condition pinning the caller (source IP, VPC, ARN, account, organization), as S3 judges it.
 */

const RESTRICTING_KEYS = /^aws:(sourceip|sourcevpc|sourcevpce|sourcearn|sourceaccount|sourceowner|principalaccount|principalarn|principalorgid|principalorgpaths|userid)$|^s3:dataaccesspointaccount$/i

const asList = (x: unknown): unknown[] => (Array.isArray(x) ? x : x === undefined ? [] : [x])

function isPublicStatement(st: Record<string, any>): boolean {
  if (st.Effect !== 'Allow' || st.NotPrincipal !== undefined) return false
  const p = st.Principal
  const everyone = p === '*' || (typeof p === 'object' && p !== null && asList(p.AWS).includes('*'))
  if (!everyone) return false
  const conditions = (st.Condition ?? {}) as Record<string, Record<string, unknown>>
  const restricted = Object.values(conditions).some((block) =>
    Object.entries(block ?? {}).some(([key, value]) => RESTRICTING_KEYS.test(key) && !asList(value).includes('*')),
  )
  return !restricted
}

export function isPublicPolicy(policy: PolicyDocument): boolean {
  return asList((policy as {Statement?: unknown}).Statement).some((st) => typeof st === 'object' && st !== null && isPublicStatement(st as Record<string, any>))
}

export function policyStatusHandlers(deps: ExtDeps): Record<string, ExtHandler> {
  return {
    async GetBucketPolicyStatus(r) {
      const bucket = await deps.requireBucket(r.bucket)
      const policy = deps.configs.get(bucket).policy
      if (!policy) throw s3Err('NoSuchBucketPolicy', 'The bucket policy does not exist', 404, {BucketName: bucket})
      deps.sendXml(r.ctx, 'PolicyStatus', {IsPublic: isPublicPolicy(policy)})
    },
  }
}
