/**
 * IAM policy evaluation for the local platform (pure, no I/O).
 *
 * A small evaluator rather than `pbac`: pbac answers true/false only (no explicit vs implicit deny, no matched
 * statements), evaluates only the first key of a condition operator, turns missing keys into their own names, and
 * has no account-level Principal matching. This module implements the IAM rules cape relies on:
 *
 * - explicit Deny anywhere (identity or resource policy) wins; else an Allow from an identity policy, or from a
 *   resource policy whose Principal matches, allows; else implicit deny. Root is allowed unless explicitly denied.
 * - Action (case-insensitive) / NotAction, Resource / NotResource (case-sensitive), wildcards `*` and `?`.
 *   A statement without Resource/NotResource (trust policies) applies to any resource.
 * - Principal / NotPrincipal: "*", {AWS: "*" | ARN | account id | arn:aws:iam::<acct>:root}. A role ARN also matches
 *   that role's assumed-role sessions. Principal is only looked at in resource policies.
 * - Policy variables `${aws:username}`, `${aws:userid}`, `${aws:PrincipalArn}`, any context key, the escapes
 *   `${*}` `${?}` `${$}`, and defaults `${key, 'value'}` — in Resource/NotResource and in condition values.
 *   A Resource entry whose variable cannot be resolved does not match.
 * - Conditions: String(Not)Equals(IgnoreCase), String(Not)Like, Bool, Arn(Not)Equals, Arn(Not)Like, Numeric*,
 *   Date*, Null, with the `ForAnyValue:` / `ForAllValues:` prefixes and the `IfExists` suffix. Operators, keys and
 *   values combine as in IAM: AND across operators and keys, OR across the values of one key (NOR for negated
 *   operators). A missing key makes a positive operator false and a negated one true.
 *   IpAddress/NotIpAddress are not supported and never match (so an Allow using them does not allow and a
 *   Deny using them does not deny).
 *
 * Context defaults: aws:SecureTransport is "true" unless the caller says otherwise (the local platform listens on
 * loopback only, which it treats as secure transport); aws:PrincipalArn, aws:PrincipalAccount and, for IAM users,
 * aws:username are derived from the request when the caller does not set them.
 */

export type Decision = 'allowed' | 'explicitDeny' | 'implicitDeny'

export type PrincipalElement = '*' | {AWS?: string | string[]; Service?: string | string[]; Federated?: string | string[]; CanonicalUser?: string | string[]}

export interface PolicyStatement {
  Sid?: string
  Effect: 'Allow' | 'Deny'
  Principal?: PrincipalElement
  NotPrincipal?: PrincipalElement
  Action?: string | string[]
  NotAction?: string | string[]
  Resource?: string | string[]
  NotResource?: string | string[]
  Condition?: Record<string, Record<string, ConditionValue | ConditionValue[]>>
}

type ConditionValue = string | number | boolean

export interface PolicyDocument {
  Version?: string
  Id?: string
  Statement: PolicyStatement | PolicyStatement[]
}

export type ContextValue = string | string[] | boolean | number

export interface AuthzRequest {
  action: string
  resource: string
  /** ARN of the caller; '' (or 'anonymous') for unauthenticated requests, which match only Principal "*". */
  principalArn: string
  /** Account of the caller; '' for anonymous. */
  accountId: string
  context?: Record<string, ContextValue>
}

export interface MatchedStatement {
  source: 'identity' | 'resource'
  policyIndex: number
  sid?: string
  effect: 'Allow' | 'Deny'
}

export interface EvaluateInput {
  identityPolicies: PolicyDocument[]
  resourcePolicies?: PolicyDocument[]
  request: AuthzRequest
  isRoot?: boolean
}

export interface EvaluateResult {
  decision: Decision
  matchedStatements: MatchedStatement[]
}

/** Context keyed by lower-cased key name (IAM condition keys are case-insensitive). */
type Ctx = Map<string, ContextValue>

const ROLE_SESSION = /^arn:aws:sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/
const USER_ARN = /^arn:aws:iam::\d{12}:user\/(?:.*\/)?([^/]+)$/

function asArray<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v]
}

/**
 * Wildcard match: `*` any sequence (including '/' and ':'), `?` exactly one character. Linear-time greedy matcher
 * with single-star backtracking, no regex.
 */
export function wildcardMatch(pattern: string, value: string): boolean {
  let p = 0
  let v = 0
  let star = -1
  let mark = 0
  while (v < value.length) {
    const c = pattern.charCodeAt(p)
    if (p < pattern.length && (c === 63 /* ? */ || c === value.charCodeAt(v))) {
      p++
      v++
    } else if (p < pattern.length && c === 42 /* * */) {
      star = p++
      mark = v
    } else if (star !== -1) {
      p = star + 1
      v = ++mark
    } else {
      return false
    }
  }
  while (p < pattern.length && pattern.charCodeAt(p) === 42) p++
  return p === pattern.length
}

function contextString(v: ContextValue): string {
  return typeof v === 'string' ? v : String(v)
}

/**
 * Resolve `${...}` policy variables. Returns a pattern whose literal parts are escaped for `globToRegExp`, or null
 * when a variable has no value (then the element does not match). Only called when the string contains '${'.
 */
function resolveVariables(pattern: string, ctx: Ctx): {regex: RegExp; literal: string} | null {
  let source = ''
  let literal = ''
  let i = 0
  while (i < pattern.length) {
    const start = pattern.indexOf('${', i)
    const end = start === -1 ? -1 : pattern.indexOf('}', start + 2)
    const chunk = start === -1 || end === -1 ? pattern.slice(i) : pattern.slice(i, start)
    source += globChunk(chunk)
    literal += chunk
    if (start === -1 || end === -1) break
    const expr = pattern.slice(start + 2, end)
    let value: string | undefined
    if (expr === '*' || expr === '?' || expr === '$') {
      value = expr
    } else {
      const comma = expr.indexOf(',')
      const name = (comma === -1 ? expr : expr.slice(0, comma)).trim().toLowerCase()
      const v = ctx.get(name)
      if (v !== undefined && !Array.isArray(v)) value = contextString(v)
      else if (comma !== -1) {
        const def = /^\s*'([^']*)'\s*$/.exec(expr.slice(comma + 1))
        if (def) value = def[1]
      }
    }
    if (value === undefined) return null
    source += escapeRegExp(value)
    literal += value
    i = end + 1
  }
  return {regex: new RegExp(`^${source}$`, 's'), literal}
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}

function globChunk(s: string): string {
  let out = ''
  for (const ch of s) out += ch === '*' ? '.*' : ch === '?' ? '.' : escapeRegExp(ch)
  return out
}

/** Match a Resource/condition pattern (wildcards, variables) against a value. */
function patternMatch(pattern: string, value: string, ctx: Ctx, ignoreCase = false): boolean {
  if (!pattern.includes('${')) {
    return ignoreCase ? wildcardMatch(pattern.toLowerCase(), value.toLowerCase()) : wildcardMatch(pattern, value)
  }
  const resolved = resolveVariables(pattern, ctx)
  if (!resolved) return false
  return ignoreCase ? new RegExp(resolved.regex.source, 'si').test(value) : resolved.regex.test(value)
}

/** Substitute variables for exact-comparison operators. Null → unresolvable. */
function substitute(value: string, ctx: Ctx): string | null {
  if (!value.includes('${')) return value
  const resolved = resolveVariables(value, ctx)
  return resolved ? resolved.literal : null
}

function matchesAction(patterns: string[], actionLower: string): boolean {
  for (const p of patterns) if (wildcardMatch(p.toLowerCase(), actionLower)) return true
  return false
}

function matchesResource(patterns: string[], resource: string, ctx: Ctx): boolean {
  for (const p of patterns) if (patternMatch(p, resource, ctx)) return true
  return false
}

function principalMatches(element: PrincipalElement | undefined, req: AuthzRequest): boolean {
  if (element === undefined) return false
  if (element === '*') return true
  const anonymous = req.principalArn === '' || req.principalArn === 'anonymous' || req.accountId === ''
  for (const entry of asArray(element.AWS)) {
    if (entry === '*') return true
    if (anonymous) continue
    if (/^\d{12}$/.test(entry)) {
      if (entry === req.accountId) return true
      continue
    }
    if (entry === `arn:aws:iam::${req.accountId}:root`) return true
    if (entry === req.principalArn) return true
    const session = ROLE_SESSION.exec(req.principalArn)
    if (session) {
      const role = /^arn:aws:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(entry)
      if (role && role[1] === session[1] && role[2] === session[2]) return true
    }
  }
  return false
}

// ---------------------------------------------------------------------------------------------------------------
// Conditions

type Compare = (ctxValue: string, policyValue: string, ctx: Ctx) => boolean

const numeric = (f: (a: number, b: number) => boolean): Compare => (a, b) => {
  const x = Number(a)
  const y = Number(b)
  return a.trim() !== '' && b.trim() !== '' && !Number.isNaN(x) && !Number.isNaN(y) && f(x, y)
}
const date = (f: (a: number, b: number) => boolean): Compare => (a, b) => {
  const x = toEpochMs(a)
  const y = toEpochMs(b)
  return !Number.isNaN(x) && !Number.isNaN(y) && f(x, y)
}
function toEpochMs(s: string): number {
  return /^\d+$/.test(s) ? Number(s) * 1000 : Date.parse(s)
}

const stringEquals: Compare = (a, b, ctx) => {
  const v = substitute(b, ctx)
  return v !== null && a === v
}
const stringEqualsIgnoreCase: Compare = (a, b, ctx) => {
  const v = substitute(b, ctx)
  return v !== null && a.toLowerCase() === v.toLowerCase()
}
const stringLike: Compare = (a, b, ctx) => patternMatch(b, a, ctx)
const arnLike: Compare = (a, b, ctx) => patternMatch(b, a, ctx)

/** Base operators: [comparison, negated]. */
const OPERATORS: Record<string, [Compare, boolean]> = {
  stringequals: [stringEquals, false],
  stringnotequals: [stringEquals, true],
  stringequalsignorecase: [stringEqualsIgnoreCase, false],
  stringnotequalsignorecase: [stringEqualsIgnoreCase, true],
  stringlike: [stringLike, false],
  stringnotlike: [stringLike, true],
  arnequals: [arnLike, false],
  arnlike: [arnLike, false],
  arnnotequals: [arnLike, true],
  arnnotlike: [arnLike, true],
  bool: [(a, b) => a.toLowerCase() === b.toLowerCase(), false],
  numericequals: [numeric((a, b) => a === b), false],
  numericnotequals: [numeric((a, b) => a === b), true],
  numericlessthan: [numeric((a, b) => a < b), false],
  numericlessthanequals: [numeric((a, b) => a <= b), false],
  numericgreaterthan: [numeric((a, b) => a > b), false],
  numericgreaterthanequals: [numeric((a, b) => a >= b), false],
  dateequals: [date((a, b) => a === b), false],
  datenotequals: [date((a, b) => a === b), true],
  datelessthan: [date((a, b) => a < b), false],
  datelessthanequals: [date((a, b) => a <= b), false],
  dategreaterthan: [date((a, b) => a > b), false],
  dategreaterthanequals: [date((a, b) => a >= b), false],
}

/** Does one context value match any of the policy values? */
function anyPolicyValue(cmp: Compare, ctxValue: string, policyValues: string[], ctx: Ctx): boolean {
  for (const pv of policyValues) if (cmp(ctxValue, pv, ctx)) return true
  return false
}

function evaluateConditionKey(operatorName: string, key: string, rawValues: ConditionValue | ConditionValue[], ctx: Ctx): boolean {
  let op = operatorName
  let setMode: 'any' | 'all' | undefined
  const lower = op.toLowerCase()
  if (lower.startsWith('foranyvalue:')) {
    setMode = 'any'
    op = op.slice('ForAnyValue:'.length)
  } else if (lower.startsWith('forallvalues:')) {
    setMode = 'all'
    op = op.slice('ForAllValues:'.length)
  }
  let opLower = op.toLowerCase()
  let ifExists = false
  if (opLower !== 'null' && opLower.endsWith('ifexists')) {
    ifExists = true
    opLower = opLower.slice(0, -'ifexists'.length)
  }
  const policyValues = asArray(rawValues).map((v) => String(v))
  const present = ctx.get(key.toLowerCase())

  if (opLower === 'null') {
    const absent = present === undefined || (Array.isArray(present) && present.length === 0)
    return policyValues.some((v) => v.toLowerCase() === String(absent))
  }
  const entry = OPERATORS[opLower]
  if (!entry) return false // unsupported operator (IpAddress, Binary…): the condition does not match
  const [cmp, negated] = entry
  const ctxValues = present === undefined ? [] : Array.isArray(present) ? present : [contextString(present)]

  if (setMode === 'all') {
    // every context value satisfies the operator; vacuously true for a missing/empty key
    return ctxValues.every((cv) => anyPolicyValue(cmp, cv, policyValues, ctx) !== negated)
  }
  if (setMode === 'any') {
    return ctxValues.some((cv) => anyPolicyValue(cmp, cv, policyValues, ctx) !== negated)
  }
  if (ctxValues.length === 0) return ifExists || negated
  if (negated) return ctxValues.every((cv) => !anyPolicyValue(cmp, cv, policyValues, ctx))
  return ctxValues.some((cv) => anyPolicyValue(cmp, cv, policyValues, ctx))
}

function conditionsMatch(condition: PolicyStatement['Condition'], ctx: Ctx): boolean {
  if (!condition) return true
  for (const operatorName of Object.keys(condition)) {
    const block = condition[operatorName]
    for (const key of Object.keys(block)) {
      if (!evaluateConditionKey(operatorName, key, block[key], ctx)) return false
    }
  }
  return true
}

// ---------------------------------------------------------------------------------------------------------------

function buildContext(req: AuthzRequest): Ctx {
  const ctx: Ctx = new Map()
  ctx.set('aws:securetransport', 'true')
  if (req.principalArn && req.principalArn !== 'anonymous') ctx.set('aws:principalarn', req.principalArn)
  if (req.accountId) ctx.set('aws:principalaccount', req.accountId)
  const user = USER_ARN.exec(req.principalArn)
  if (user) ctx.set('aws:username', user[1])
  for (const [k, v] of Object.entries(req.context ?? {})) {
    const value = typeof v === 'boolean' || typeof v === 'number' ? String(v) : v
    ctx.set(k.toLowerCase(), value)
  }
  return ctx
}

function statementApplies(st: PolicyStatement, source: 'identity' | 'resource', req: AuthzRequest, actionLower: string, ctx: Ctx): boolean {
  if (st.Effect !== 'Allow' && st.Effect !== 'Deny') return false
  if (source === 'resource') {
    if (st.Principal !== undefined) {
      if (!principalMatches(st.Principal, req)) return false
    } else if (st.NotPrincipal !== undefined) {
      if (principalMatches(st.NotPrincipal, req)) return false
    } else {
      return false
    }
  }
  if (st.Action !== undefined) {
    if (!matchesAction(asArray(st.Action), actionLower)) return false
  } else if (st.NotAction !== undefined) {
    if (matchesAction(asArray(st.NotAction), actionLower)) return false
  } else {
    return false
  }
  if (st.Resource !== undefined) {
    if (!matchesResource(asArray(st.Resource), req.resource, ctx)) return false
  } else if (st.NotResource !== undefined) {
    if (matchesResource(asArray(st.NotResource), req.resource, ctx)) return false
  }
  return conditionsMatch(st.Condition, ctx)
}

/** Evaluate one request against identity and resource policies (see the module comment for the rules). */
export function evaluate(input: EvaluateInput): EvaluateResult {
  const {request} = input
  const ctx = buildContext(request)
  const actionLower = request.action.toLowerCase()
  const matchedStatements: MatchedStatement[] = []
  let deny = false
  let allow = false
  const scan = (docs: PolicyDocument[] | undefined, source: 'identity' | 'resource') => {
    if (!docs) return
    for (let policyIndex = 0; policyIndex < docs.length; policyIndex++) {
      const doc = docs[policyIndex]
      if (!doc) continue
      for (const st of asArray(doc.Statement)) {
        if (!st || !statementApplies(st, source, request, actionLower, ctx)) continue
        matchedStatements.push({source, policyIndex, ...(st.Sid === undefined ? {} : {sid: st.Sid}), effect: st.Effect})
        if (st.Effect === 'Deny') deny = true
        else allow = true
      }
    }
  }
  scan(input.identityPolicies, 'identity')
  scan(input.resourcePolicies, 'resource')
  const decision: Decision = deny ? 'explicitDeny' : allow || input.isRoot ? 'allowed' : 'implicitDeny'
  return {decision, matchedStatements}
}

/**
 * Structural check of a policy document, for MalformedPolicyDocument (IAM) / MalformedPolicy (S3) answers.
 * Returns the problems found ([] = acceptable). `kind: 'resource'` requires Principal/NotPrincipal in every statement;
 * 'identity' forbids them; 'trust' requires them but not Resource.
 */
export function checkPolicyDocument(doc: unknown, kind: 'identity' | 'resource' | 'trust' = 'identity'): string[] {
  const problems: string[] = []
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return ['Policy document must be a JSON object']
  const d = doc as Record<string, unknown>
  if (d.Version !== undefined && d.Version !== '2012-10-17' && d.Version !== '2008-10-17') problems.push(`The policy must contain a valid version string`)
  const statements = d.Statement === undefined ? undefined : Array.isArray(d.Statement) ? d.Statement : [d.Statement]
  if (!statements || statements.length === 0) return [...problems, 'Missing required field Statement']
  statements.forEach((raw, i) => {
    const where = `Statement ${i + 1}`
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      problems.push(`${where}: must be an object`)
      return
    }
    const s = raw as Record<string, unknown>
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') problems.push(`${where}: Effect must be Allow or Deny`)
    if ((s.Action === undefined) === (s.NotAction === undefined)) problems.push(`${where}: exactly one of Action or NotAction is required`)
    if (kind !== 'trust' && (s.Resource === undefined) === (s.NotResource === undefined)) problems.push(`${where}: exactly one of Resource or NotResource is required`)
    const hasPrincipal = s.Principal !== undefined || s.NotPrincipal !== undefined
    if (kind === 'identity' && hasPrincipal) problems.push(`${where}: Principal is not allowed in an identity-based policy`)
    if (kind !== 'identity' && !hasPrincipal) problems.push(`${where}: Missing required field Principal`)
    for (const field of ['Action', 'NotAction', 'Resource', 'NotResource'] as const) {
      const v = s[field]
      if (v !== undefined && !(typeof v === 'string' || (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string')))) {
        problems.push(`${where}: ${field} must be a string or a non-empty array of strings`)
      }
    }
    if (s.Condition !== undefined && (typeof s.Condition !== 'object' || s.Condition === null || Array.isArray(s.Condition))) {
      problems.push(`${where}: Condition must be an object`)
    }
  })
  return problems
}
