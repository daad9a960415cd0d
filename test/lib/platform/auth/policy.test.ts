import {describe, expect, it} from 'vitest'
import {checkPolicyDocument, evaluate, wildcardMatch, type AuthzRequest, type PolicyDocument} from '../../../../src/lib/platform/auth/policy.js'

const ACCT = '123456789012'
const ALICE = `arn:aws:iam::${ACCT}:user/analysts/alice`
const BOB = `arn:aws:iam::${ACCT}:user/bob`
const RAW = 'arn:aws:s3:::cape-raw'

const req = (action: string, resource: string, principalArn = ALICE, context?: AuthzRequest['context']): AuthzRequest => ({
  action,
  resource,
  principalArn,
  accountId: ACCT,
  ...(context ? {context} : {}),
})

const readRaw: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [
    {Sid: 'Read', Effect: 'Allow', Action: ['s3:GetObject', 's3:ListBucket'], Resource: [RAW, `${RAW}/*`]},
  ],
}

describe('evaluate: identity policies', () => {
  it('allows what a statement allows, and reports the statement', () => {
    const r = evaluate({identityPolicies: [readRaw], request: req('s3:GetObject', `${RAW}/a b/c+d%2F#.csv`)})
    expect(r).toEqual({decision: 'allowed', matchedStatements: [{source: 'identity', policyIndex: 0, sid: 'Read', effect: 'Allow'}]})
  })

  it('denies implicitly what nothing allows', () => {
    expect(evaluate({identityPolicies: [readRaw], request: req('s3:PutObject', `${RAW}/x`)}).decision).toBe('implicitDeny')
    expect(evaluate({identityPolicies: [readRaw], request: req('s3:GetObject', 'arn:aws:s3:::cape-curated/x')}).decision).toBe('implicitDeny')
    expect(evaluate({identityPolicies: [], request: req('s3:GetObject', `${RAW}/x`)})).toEqual({decision: 'implicitDeny', matchedStatements: []})
  })

  it('explicit deny wins over allow, in any order and any policy', () => {
    const deny: PolicyDocument = {Statement: {Sid: 'NoSecrets', Effect: 'Deny', Action: 's3:*', Resource: `${RAW}/secret/*`}}
    const all: PolicyDocument = {Statement: {Effect: 'Allow', Action: '*', Resource: '*'}}
    for (const policies of [[deny, all], [all, deny]]) {
      const r = evaluate({identityPolicies: policies, request: req('s3:GetObject', `${RAW}/secret/k`)})
      expect(r.decision).toBe('explicitDeny')
      expect(r.matchedStatements.map((m) => m.effect).sort()).toEqual(['Allow', 'Deny'])
    }
    expect(evaluate({identityPolicies: [deny, all], request: req('s3:GetObject', `${RAW}/public/k`)}).decision).toBe('allowed')
  })

  it('matches actions case-insensitively with * and ?, resources case-sensitively', () => {
    const p: PolicyDocument = {Statement: {Effect: 'Allow', Action: ['S3:get*', 'iam:?etUser'], Resource: `${RAW}/data/*.csv`}}
    expect(evaluate({identityPolicies: [p], request: req('s3:GetObjectTagging', `${RAW}/data/x/y.csv`)}).decision).toBe('allowed')
    expect(evaluate({identityPolicies: [p], request: req('iam:GetUser', `${RAW}/data/y.csv`)}).decision).toBe('allowed')
    expect(evaluate({identityPolicies: [p], request: req('iam:ListUsers', `${RAW}/data/y.csv`)}).decision).toBe('implicitDeny')
    expect(evaluate({identityPolicies: [p], request: req('s3:GetObject', `${RAW}/DATA/y.csv`)}).decision).toBe('implicitDeny')
    expect(evaluate({identityPolicies: [p], request: req('s3:GetObject', `${RAW}/data/y.parquet`)}).decision).toBe('implicitDeny')
  })

  it('NotAction allows everything except the listed actions', () => {
    const p: PolicyDocument = {Statement: {Effect: 'Allow', NotAction: ['iam:*', 's3:Delete*'], Resource: '*'}}
    expect(evaluate({identityPolicies: [p], request: req('s3:PutObject', `${RAW}/k`)}).decision).toBe('allowed')
    expect(evaluate({identityPolicies: [p], request: req('s3:DeleteObject', `${RAW}/k`)}).decision).toBe('implicitDeny')
    expect(evaluate({identityPolicies: [p], request: req('iam:CreateUser', `arn:aws:iam::${ACCT}:user/x`)}).decision).toBe('implicitDeny')
    // Deny + NotAction: deny everything but reads
    const d: PolicyDocument = {Statement: [{Effect: 'Allow', Action: '*', Resource: '*'}, {Effect: 'Deny', NotAction: 's3:Get*', Resource: `${RAW}/*`}]}
    expect(evaluate({identityPolicies: [d], request: req('s3:PutObject', `${RAW}/k`)}).decision).toBe('explicitDeny')
    expect(evaluate({identityPolicies: [d], request: req('s3:GetObject', `${RAW}/k`)}).decision).toBe('allowed')
  })

  it('NotResource', () => {
    const p: PolicyDocument = {Statement: {Effect: 'Deny', Action: 's3:*', NotResource: [RAW, `${RAW}/*`]}}
    const all: PolicyDocument = {Statement: {Effect: 'Allow', Action: 's3:*', Resource: '*'}}
    expect(evaluate({identityPolicies: [all, p], request: req('s3:GetObject', 'arn:aws:s3:::other/k')}).decision).toBe('explicitDeny')
    expect(evaluate({identityPolicies: [all, p], request: req('s3:GetObject', `${RAW}/k`)}).decision).toBe('allowed')
  })

  it('root is allowed unless explicitly denied', () => {
    expect(evaluate({identityPolicies: [], isRoot: true, request: req('iam:CreateUser', '*', `arn:aws:iam::${ACCT}:root`)}).decision).toBe('allowed')
    const bucketPolicy: PolicyDocument = {Statement: {Effect: 'Deny', Principal: '*', Action: 's3:DeleteBucket', Resource: RAW}}
    expect(evaluate({identityPolicies: [], resourcePolicies: [bucketPolicy], isRoot: true, request: req('s3:DeleteBucket', RAW, `arn:aws:iam::${ACCT}:root`)}).decision).toBe('explicitDeny')
  })
})

describe('evaluate: resource policies and Principal', () => {
  const grant = (principal: any): PolicyDocument => ({
    Statement: [{Sid: 'Grant', Effect: 'Allow', Principal: principal, Action: 's3:GetObject', Resource: `${RAW}/*`}],
  })
  const get = (principalArn = ALICE, accountId = ACCT): AuthzRequest => ({action: 's3:GetObject', resource: `${RAW}/k`, principalArn, accountId})

  it('allows when the Principal matches, even without identity policies', () => {
    const cases = ['*', {AWS: '*'}, {AWS: ALICE}, {AWS: [BOB, ALICE]}, {AWS: ACCT}, {AWS: `arn:aws:iam::${ACCT}:root`}]
    for (const principal of cases) {
      const r = evaluate({identityPolicies: [], resourcePolicies: [grant(principal)], request: get()})
      expect(r.decision, JSON.stringify(principal)).toBe('allowed')
      expect(r.matchedStatements).toEqual([{source: 'resource', policyIndex: 0, sid: 'Grant', effect: 'Allow'}])
    }
  })

  it('does not allow other principals or accounts', () => {
    for (const principal of [{AWS: BOB}, {AWS: '999999999999'}, {AWS: 'arn:aws:iam::999999999999:root'}, {Service: 'lambda.amazonaws.com'}]) {
      expect(evaluate({identityPolicies: [], resourcePolicies: [grant(principal)], request: get()}).decision, JSON.stringify(principal)).toBe('implicitDeny')
    }
    // a statement without Principal in a resource policy never applies
    const noPrincipal: PolicyDocument = {Statement: {Effect: 'Allow', Action: 's3:*', Resource: '*'}}
    expect(evaluate({identityPolicies: [], resourcePolicies: [noPrincipal], request: get()}).decision).toBe('implicitDeny')
  })

  it('anonymous callers match only "*"', () => {
    expect(evaluate({identityPolicies: [], resourcePolicies: [grant('*')], request: get('', '')}).decision).toBe('allowed')
    expect(evaluate({identityPolicies: [], resourcePolicies: [grant({AWS: ACCT})], request: get('', '')}).decision).toBe('implicitDeny')
  })

  it('a role ARN matches its assumed-role sessions', () => {
    const session = `arn:aws:sts::${ACCT}:assumed-role/transform-role/lambda-1`
    expect(evaluate({identityPolicies: [], resourcePolicies: [grant({AWS: `arn:aws:iam::${ACCT}:role/service/transform-role`})], request: get(session)}).decision).toBe('allowed')
    expect(evaluate({identityPolicies: [], resourcePolicies: [grant({AWS: `arn:aws:iam::${ACCT}:role/other-role`})], request: get(session)}).decision).toBe('implicitDeny')
  })

  it('NotPrincipal with Deny denies everyone else', () => {
    const p: PolicyDocument = {Statement: {Effect: 'Deny', NotPrincipal: {AWS: [ALICE]}, Action: 's3:*', Resource: `${RAW}/*`}}
    const allowAll: PolicyDocument = {Statement: {Effect: 'Allow', Action: 's3:*', Resource: '*'}}
    expect(evaluate({identityPolicies: [allowAll], resourcePolicies: [p], request: get(ALICE)}).decision).toBe('allowed')
    expect(evaluate({identityPolicies: [allowAll], resourcePolicies: [p], request: get(BOB)}).decision).toBe('explicitDeny')
  })

  it('a resource-policy Deny beats an identity Allow', () => {
    const deny: PolicyDocument = {Statement: {Sid: 'D', Effect: 'Deny', Principal: {AWS: ALICE}, Action: 's3:GetObject', Resource: `${RAW}/*`}}
    const r = evaluate({identityPolicies: [readRaw], resourcePolicies: [deny], request: get()})
    expect(r.decision).toBe('explicitDeny')
    expect(r.matchedStatements).toContainEqual({source: 'resource', policyIndex: 0, sid: 'D', effect: 'Deny'})
  })
})

describe('evaluate: conditions and variables', () => {
  const tlsOnly: PolicyDocument = {
    Statement: [
      {Sid: 'DenyInsecure', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [RAW, `${RAW}/*`], Condition: {Bool: {'aws:SecureTransport': 'false'}}},
    ],
  }

  it('Bool aws:SecureTransport: defaults to true on the local platform; false triggers the deny', () => {
    expect(evaluate({identityPolicies: [readRaw], resourcePolicies: [tlsOnly], request: req('s3:GetObject', `${RAW}/k`)}).decision).toBe('allowed')
    expect(evaluate({identityPolicies: [readRaw], resourcePolicies: [tlsOnly], request: req('s3:GetObject', `${RAW}/k`, ALICE, {'aws:SecureTransport': false})}).decision).toBe('explicitDeny')
    const requireTls: PolicyDocument = {Statement: {Effect: 'Allow', Action: 's3:GetObject', Resource: '*', Condition: {Bool: {'aws:securetransport': true}}}}
    expect(evaluate({identityPolicies: [requireTls], request: req('s3:GetObject', `${RAW}/k`)}).decision).toBe('allowed')
    expect(evaluate({identityPolicies: [requireTls], request: req('s3:GetObject', `${RAW}/k`, ALICE, {'aws:SecureTransport': 'false'})}).decision).toBe('implicitDeny')
  })

  const homeDirs: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [
      {Sid: 'ListOwnHome', Effect: 'Allow', Action: 's3:ListBucket', Resource: RAW, Condition: {StringLike: {'s3:prefix': ['', 'home/', 'home/${aws:username}/*']}}},
      {Sid: 'RwOwnHome', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: `${RAW}/home/\${aws:username}/*`},
    ],
  }

  it('StringLike s3:prefix with ${aws:username}', () => {
    const list = (prefix: string, who = ALICE) => evaluate({identityPolicies: [homeDirs], request: req('s3:ListBucket', RAW, who, {'s3:prefix': prefix})}).decision
    expect(list('home/alice/2024/')).toBe('allowed')
    expect(list('home/')).toBe('allowed')
    expect(list('')).toBe('allowed')
    expect(list('home/bob/')).toBe('implicitDeny')
    expect(list('home/bob/', BOB)).toBe('allowed')
    expect(list('other/')).toBe('implicitDeny')
    // no s3:prefix key at all: a positive operator does not match
    expect(evaluate({identityPolicies: [homeDirs], request: req('s3:ListBucket', RAW)}).decision).toBe('implicitDeny')
  })

  it('${aws:username} in Resource, derived from the user ARN (path ignored)', () => {
    expect(evaluate({identityPolicies: [homeDirs], request: req('s3:PutObject', `${RAW}/home/alice/f.csv`)}).decision).toBe('allowed')
    expect(evaluate({identityPolicies: [homeDirs], request: req('s3:PutObject', `${RAW}/home/bob/f.csv`)}).decision).toBe('implicitDeny')
    // a role session has no aws:username: the variable does not resolve and the resource does not match
    const session = `arn:aws:sts::${ACCT}:assumed-role/r/alice`
    expect(evaluate({identityPolicies: [homeDirs], request: req('s3:PutObject', `${RAW}/home/alice/f.csv`, session)}).decision).toBe('implicitDeny')
    // explicit context wins over the derived value
    expect(evaluate({identityPolicies: [homeDirs], request: req('s3:PutObject', `${RAW}/home/carol/f.csv`, ALICE, {'aws:username': 'carol'})}).decision).toBe('allowed')
  })

  it('a substituted value is literal: wildcard characters in it are not wildcards', () => {
    const p: PolicyDocument = {Statement: {Effect: 'Allow', Action: 's3:GetObject', Resource: `${RAW}/\${aws:username}/\${*}/*`}}
    const weird = `arn:aws:iam::${ACCT}:user/a*`
    expect(evaluate({identityPolicies: [p], request: req('s3:GetObject', `${RAW}/a*/*/k`, weird)}).decision).toBe('allowed')
    expect(evaluate({identityPolicies: [p], request: req('s3:GetObject', `${RAW}/abc/*/k`, weird)}).decision).toBe('implicitDeny')
    expect(evaluate({identityPolicies: [p], request: req('s3:GetObject', `${RAW}/a*/x/k`, weird)}).decision).toBe('implicitDeny')
  })

  it('StringEquals / StringNotEquals / StringNotLike / IfExists / Null', () => {
    const p = (condition: any): PolicyDocument => ({Statement: {Effect: 'Allow', Action: 's3:ListBucket', Resource: RAW, Condition: condition}})
    const d = (condition: any, context?: AuthzRequest['context']) => evaluate({identityPolicies: [p(condition)], request: req('s3:ListBucket', RAW, ALICE, context)}).decision
    expect(d({StringEquals: {'s3:delimiter': '/'}}, {'s3:delimiter': '/'})).toBe('allowed')
    expect(d({StringEquals: {'s3:delimiter': '/'}}, {'s3:delimiter': '|'})).toBe('implicitDeny')
    expect(d({StringEquals: {'s3:delimiter': '/'}})).toBe('implicitDeny')
    expect(d({StringNotEquals: {'s3:delimiter': ['|', ',']}}, {'s3:delimiter': '/'})).toBe('allowed')
    expect(d({StringNotEquals: {'s3:delimiter': ['|', ',']}}, {'s3:delimiter': ','})).toBe('implicitDeny')
    expect(d({StringNotEquals: {'s3:delimiter': '|'}})).toBe('allowed') // missing key: negated operator matches
    expect(d({StringNotLike: {'s3:prefix': 'secret/*'}}, {'s3:prefix': 'public/x'})).toBe('allowed')
    expect(d({StringNotLike: {'s3:prefix': 'secret/*'}}, {'s3:prefix': 'secret/x'})).toBe('implicitDeny')
    expect(d({StringEqualsIfExists: {'s3:delimiter': '/'}})).toBe('allowed')
    expect(d({StringEqualsIfExists: {'s3:delimiter': '/'}}, {'s3:delimiter': '|'})).toBe('implicitDeny')
    expect(d({Null: {'s3:delimiter': 'true'}})).toBe('allowed')
    expect(d({Null: {'s3:delimiter': 'false'}})).toBe('implicitDeny')
    // all keys and operators must match (AND), any value of a key may match (OR)
    expect(d({StringEquals: {'s3:delimiter': ['|', '/'], 's3:max-keys': '10'}}, {'s3:delimiter': '/', 's3:max-keys': '10'})).toBe('allowed')
    expect(d({StringEquals: {'s3:delimiter': '/', 's3:max-keys': '10'}}, {'s3:delimiter': '/', 's3:max-keys': '11'})).toBe('implicitDeny')
    expect(d({StringEquals: {'s3:delimiter': '/'}, NumericLessThanEquals: {'s3:max-keys': 100}}, {'s3:delimiter': '/', 's3:max-keys': '1000'})).toBe('implicitDeny')
    expect(d({StringEquals: {'s3:delimiter': '/'}, NumericLessThanEquals: {'s3:max-keys': 100}}, {'s3:delimiter': '/', 's3:max-keys': '10'})).toBe('allowed')
  })

  it('ArnLike / ArnEquals on aws:PrincipalArn (derived from the request)', () => {
    const p = (op: string, v: string): PolicyDocument => ({Statement: {Effect: 'Allow', Action: 's3:GetObject', Resource: '*', Condition: {[op]: {'aws:PrincipalArn': v}}}})
    expect(evaluate({identityPolicies: [p('ArnLike', `arn:aws:iam::${ACCT}:user/analysts/*`)], request: req('s3:GetObject', `${RAW}/k`)}).decision).toBe('allowed')
    expect(evaluate({identityPolicies: [p('ArnLike', `arn:aws:iam::${ACCT}:user/analysts/*`)], request: req('s3:GetObject', `${RAW}/k`, BOB)}).decision).toBe('implicitDeny')
    expect(evaluate({identityPolicies: [p('ArnEquals', BOB)], request: req('s3:GetObject', `${RAW}/k`, BOB)}).decision).toBe('allowed')
    expect(evaluate({identityPolicies: [p('ArnNotLike', `arn:aws:iam::${ACCT}:user/analysts/*`)], request: req('s3:GetObject', `${RAW}/k`, BOB)}).decision).toBe('allowed')
  })

  it('ForAnyValue / ForAllValues on multi-valued keys', () => {
    const p = (op: string): PolicyDocument => ({Statement: {Effect: 'Allow', Action: 's3:PutObject', Resource: '*', Condition: {[op]: {'aws:TagKeys': ['team', 'zone']}}}})
    const d = (op: string, keys?: string[]) => evaluate({identityPolicies: [p(op)], request: req('s3:PutObject', `${RAW}/k`, ALICE, keys ? {'aws:TagKeys': keys} : {})}).decision
    expect(d('ForAllValues:StringEquals', ['team'])).toBe('allowed')
    expect(d('ForAllValues:StringEquals', ['team', 'owner'])).toBe('implicitDeny')
    expect(d('ForAllValues:StringEquals')).toBe('allowed')
    expect(d('ForAnyValue:StringEquals', ['owner', 'zone'])).toBe('allowed')
    expect(d('ForAnyValue:StringEquals', ['owner'])).toBe('implicitDeny')
    expect(d('ForAnyValue:StringEquals')).toBe('implicitDeny')
  })

  it('unsupported operators never match', () => {
    const p: PolicyDocument = {Statement: {Effect: 'Allow', Action: '*', Resource: '*', Condition: {IpAddress: {'aws:SourceIp': '127.0.0.0/8'}}}}
    expect(evaluate({identityPolicies: [p], request: req('s3:GetObject', `${RAW}/k`, ALICE, {'aws:SourceIp': '127.0.0.1'})}).decision).toBe('implicitDeny')
  })
})

describe('wildcardMatch', () => {
  it('handles * and ? including backtracking', () => {
    expect(wildcardMatch('a*b*c', 'aXbYbZc')).toBe(true)
    expect(wildcardMatch('a*b*c', 'aXbYbZ')).toBe(false)
    expect(wildcardMatch('*', '')).toBe(true)
    expect(wildcardMatch('?', '')).toBe(false)
    expect(wildcardMatch('a?c', 'abc')).toBe(true)
    expect(wildcardMatch('arn:aws:s3:::b/*', 'arn:aws:s3:::b/x/y:z')).toBe(true)
    expect(wildcardMatch('arn:aws:s3:::b/*', 'arn:aws:s3:::bb/x')).toBe(false)
    expect(wildcardMatch('abc', 'abcd')).toBe(false)
  })
})

describe('checkPolicyDocument', () => {
  it('accepts valid documents and names the problems of invalid ones', () => {
    expect(checkPolicyDocument(readRaw)).toEqual([])
    expect(checkPolicyDocument({Statement: {Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: '*'}}, 'resource')).toEqual([])
    expect(checkPolicyDocument({Statement: {Effect: 'Allow', Principal: {AWS: ACCT}, Action: 'sts:AssumeRole'}}, 'trust')).toEqual([])
    expect(checkPolicyDocument({Statement: {Effect: 'Allow', Action: 's3:GetObject', Resource: '*'}}, 'resource')).toEqual(['Statement 1: Missing required field Principal'])
    expect(checkPolicyDocument({Statement: [{Effect: 'Maybe', Action: 's3:GetObject'}]})).toHaveLength(2)
    expect(checkPolicyDocument('nope')).toHaveLength(1)
  })
})

describe('evaluate: speed', () => {
  it('evaluates a realistic request in well under 50 µs on average', () => {
    const policies: PolicyDocument[] = [readRaw, {
      Statement: [
        {Effect: 'Allow', Action: ['s3:ListBucket'], Resource: RAW, Condition: {StringLike: {'s3:prefix': ['home/${aws:username}/*']}}},
        {Effect: 'Deny', Action: 's3:*', Resource: `${RAW}/secret/*`},
      ],
    }]
    const n = 20_000
    const t0 = performance.now()
    for (let i = 0; i < n; i++) evaluate({identityPolicies: policies, request: req('s3:ListBucket', RAW, ALICE, {'s3:prefix': 'home/alice/x'})})
    const perCall = ((performance.now() - t0) * 1000) / n
    expect(perCall).toBeLessThan(50)
  })
})
