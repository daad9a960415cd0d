import {CreateAccessKeyCommand, CreateRoleCommand, CreateUserCommand, ListUsersCommand, PutRolePolicyCommand, PutUserPolicyCommand, type IAMClient} from '@aws-sdk/client-iam'
import {AssumeRoleCommand, GetCallerIdentityCommand} from '@aws-sdk/client-sts'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {Platform} from '../../../../src/lib/platform/server.js'
import {iamClient, policy, removeDir, startTestPlatform, stsClient, type Creds} from '../iam/fixture.js'

describe('STS query service (real SDK v3 STSClient)', () => {
  let p: Platform
  let iam: IAMClient
  let alice: Creds
  let roleArn: string
  let roleId: string

  const newUser = async (name: string): Promise<Creds> => {
    await iam.send(new CreateUserCommand({UserName: name}))
    const {AccessKey} = await iam.send(new CreateAccessKeyCommand({UserName: name}))
    return {accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey!}
  }
  const assume = (c: Creds, input: Partial<ConstructorParameters<typeof AssumeRoleCommand>[0]> = {}) =>
    stsClient(p, c).send(new AssumeRoleCommand({RoleArn: roleArn, RoleSessionName: 'sess', ...input}))
  const asCreds = (r: Awaited<ReturnType<typeof assume>>): Creds =>
    ({accessKeyId: r.Credentials!.AccessKeyId!, secretAccessKey: r.Credentials!.SecretAccessKey!, sessionToken: r.Credentials!.SessionToken!})

  beforeAll(async () => {
    p = await startTestPlatform()
    iam = iamClient(p)
    alice = await newUser('alice')
    const {Role} = await iam.send(new CreateRoleCommand({RoleName: 'auditor', AssumeRolePolicyDocument: policy([
      {Effect: 'Allow', Principal: {AWS: `arn:aws:iam::${p.accountId}:root`}, Action: 'sts:AssumeRole'},
    ])}))
    roleArn = Role!.Arn!
    roleId = Role!.RoleId!
    await iam.send(new PutRolePolicyCommand({RoleName: 'auditor', PolicyName: 'list-users', PolicyDocument: policy([
      {Effect: 'Allow', Action: ['iam:ListUsers', 'iam:GetUser'], Resource: '*'},
    ])}))
  })
  afterAll(async () => {
    await p.close()
    removeDir(p.dataDir)
  })

  it('GetCallerIdentity answers root, users and assumed roles', async () => {
    expect(await stsClient(p).send(new GetCallerIdentityCommand({}))).toMatchObject({Arn: `arn:aws:iam::${p.accountId}:root`, Account: p.accountId})
    const me = await stsClient(p, alice).send(new GetCallerIdentityCommand({}))
    expect(me).toMatchObject({Arn: `arn:aws:iam::${p.accountId}:user/alice`, Account: p.accountId, UserId: p.iam.getUser('alice').userId})
    const session = asCreds(await assume(p.adminCredentials, {RoleSessionName: 'who'}))
    const them = await stsClient(p, session).send(new GetCallerIdentityCommand({}))
    expect(them).toMatchObject({Arn: `arn:aws:sts::${p.accountId}:assumed-role/auditor/who`, UserId: `${roleId}:who`})
  })

  it('AssumeRole issues expiring ASIA… credentials with a session token', async () => {
    const before = Date.now()
    const r = await assume(p.adminCredentials, {DurationSeconds: 900})
    expect(r.Credentials!.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/)
    expect(r.Credentials!.SecretAccessKey).toHaveLength(40)
    expect(r.Credentials!.SessionToken!.length).toBeGreaterThan(100)
    const exp = r.Credentials!.Expiration!.getTime()
    expect(exp).toBeGreaterThanOrEqual(before + 899_000)
    expect(exp).toBeLessThanOrEqual(Date.now() + 901_000)
    expect(r.AssumedRoleUser).toEqual({AssumedRoleId: `${roleId}:sess`, Arn: `arn:aws:sts::${p.accountId}:assumed-role/auditor/sess`})
    const dflt = await assume(p.adminCredentials)
    expect(dflt.Credentials!.Expiration!.getTime() - Date.now()).toBeGreaterThan(3500_000)
    await expect(assume(p.adminCredentials, {DurationSeconds: 7200})).rejects.toMatchObject({name: 'ValidationError'})
    await expect(assume(p.adminCredentials, {DurationSeconds: 60})).rejects.toMatchObject({name: 'ValidationError'})
  })

  it('the assumed role gets the role policies, narrowed by a session policy', async () => {
    const session = asCreds(await assume(p.adminCredentials))
    const asRole = iamClient(p, session)
    expect((await asRole.send(new ListUsersCommand({}))).Users!.map((u) => u.UserName)).toContain('alice')
    await expect(asRole.send(new CreateUserCommand({UserName: 'nope'}))).rejects.toMatchObject({name: 'AccessDenied', $metadata: {httpStatusCode: 403}})
    const narrowed = asCreds(await assume(p.adminCredentials, {Policy: policy([{Effect: 'Allow', Action: 'iam:GetUser', Resource: '*'}])}))
    await expect(iamClient(p, narrowed).send(new ListUsersCommand({}))).rejects.toMatchObject({name: 'AccessDenied'})
  })

  it('requires the session token, refuses a wrong one and an expired session', async () => {
    const session = asCreds(await assume(p.adminCredentials))
    const {sessionToken: _, ...noToken} = session
    await expect(stsClient(p, noToken).send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({name: 'InvalidClientTokenId', $metadata: {httpStatusCode: 403}})
    const wrong = {...session, sessionToken: session.sessionToken!.slice(0, -4) + 'AAAA'}
    await expect(stsClient(p, wrong).send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({name: 'InvalidClientTokenId'})
    const expired = p.iam.createSession({roleName: 'auditor', sessionName: 'old', durationSeconds: -60})
    const old = {accessKeyId: expired.accessKeyId, secretAccessKey: expired.secretAccessKey, sessionToken: expired.sessionToken}
    await expect(stsClient(p, old).send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({name: 'ExpiredToken', $metadata: {httpStatusCode: 400}})
  })

  it('a user needs the trust policy and an identity Allow for sts:AssumeRole (unless the trust names the user)', async () => {
    const bob = await newUser('bob')
    await expect(assume(bob)).rejects.toMatchObject({name: 'AccessDenied', $metadata: {httpStatusCode: 403}})
    await iam.send(new PutUserPolicyCommand({UserName: 'bob', PolicyName: 'assume', PolicyDocument: policy([{Effect: 'Allow', Action: 'sts:AssumeRole', Resource: roleArn}])}))
    expect((await assume(bob)).AssumedRoleUser!.Arn).toBe(`arn:aws:sts::${p.accountId}:assumed-role/auditor/sess`)

    // a role trusting only the Lambda service cannot be assumed by anyone here, not even with an identity Allow
    const {Role} = await iam.send(new CreateRoleCommand({RoleName: 'fn', AssumeRolePolicyDocument: policy([{Effect: 'Allow', Principal: {Service: 'lambda.amazonaws.com'}, Action: 'sts:AssumeRole'}])}))
    await iam.send(new PutUserPolicyCommand({UserName: 'bob', PolicyName: 'assume-all', PolicyDocument: policy([{Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*'}])}))
    await expect(assume(bob, {RoleArn: Role!.Arn})).rejects.toMatchObject({name: 'AccessDenied'})
    await expect(assume(p.adminCredentials, {RoleArn: Role!.Arn})).rejects.toMatchObject({name: 'AccessDenied'})

    // a trust policy naming the user directly is enough on its own
    const carol = await newUser('carol')
    const {Role: direct} = await iam.send(new CreateRoleCommand({RoleName: 'for-carol', AssumeRolePolicyDocument: policy([
      {Effect: 'Allow', Principal: {AWS: `arn:aws:iam::${p.accountId}:user/carol`}, Action: 'sts:AssumeRole'},
    ])}))
    expect((await assume(carol, {RoleArn: direct!.Arn})).AssumedRoleUser!.Arn).toBe(`arn:aws:sts::${p.accountId}:assumed-role/for-carol/sess`)
    await expect(assume(alice, {RoleArn: direct!.Arn})).rejects.toMatchObject({name: 'AccessDenied'})

    // unknown roles look the same as forbidden ones
    await expect(assume(p.adminCredentials, {RoleArn: `arn:aws:iam::${p.accountId}:role/missing`})).rejects.toMatchObject({name: 'AccessDenied'})
  })

  it('issues credentials for the platform itself (Lambda roles) without a caller', async () => {
    const t = p.assumeRole(roleArn, 'internal')
    const who = await stsClient(p, {accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey, sessionToken: t.sessionToken}).send(new GetCallerIdentityCommand({}))
    expect(who.Arn).toBe(`arn:aws:sts::${p.accountId}:assumed-role/auditor/internal`)
  })
})
