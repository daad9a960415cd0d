import {
  AddUserToGroupCommand, AttachGroupPolicyCommand, AttachRolePolicyCommand, AttachUserPolicyCommand, CreateAccessKeyCommand,
  CreateGroupCommand, CreatePolicyCommand, CreatePolicyVersionCommand, DeletePolicyVersionCommand, ListPolicyVersionsCommand, CreateRoleCommand, CreateUserCommand, DeleteAccessKeyCommand, DeleteGroupCommand,
  DeleteGroupPolicyCommand, DeletePolicyCommand, DeleteRoleCommand, DeleteRolePolicyCommand, DeleteUserCommand, DeleteUserPolicyCommand,
  DetachGroupPolicyCommand, DetachRolePolicyCommand, DetachUserPolicyCommand, GetAccountSummaryCommand, GetGroupCommand,
  GetGroupPolicyCommand, GetPolicyCommand, GetPolicyVersionCommand, GetRoleCommand, GetRolePolicyCommand, GetUserCommand,
  GetUserPolicyCommand, ListAccessKeysCommand, ListAttachedGroupPoliciesCommand, ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand, ListGroupPoliciesCommand, ListGroupsCommand, ListGroupsForUserCommand, ListPoliciesCommand,
  ListRolePoliciesCommand, ListRolesCommand, ListUserPoliciesCommand, ListUsersCommand, PutGroupPolicyCommand, PutRolePolicyCommand,
  PutUserPolicyCommand, RemoveUserFromGroupCommand, SimulatePrincipalPolicyCommand, UpdateAccessKeyCommand, paginateListUsers,
  type IAMClient,
} from '@aws-sdk/client-iam'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {Platform} from '../../../../src/lib/platform/server.js'
import {iamClient, policy, removeDir, startTestPlatform} from './fixture.js'

const readRaw = policy([{Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::raw/*'}])
const trust = (acct: string) => policy([{Effect: 'Allow', Principal: {AWS: `arn:aws:iam::${acct}:root`}, Action: 'sts:AssumeRole'}])

describe('IAM query service (real SDK v3 IAMClient)', () => {
  let p: Platform
  let iam: IAMClient

  beforeAll(async () => {
    p = await startTestPlatform()
    iam = iamClient(p)
  })
  afterAll(async () => {
    await p.close()
    removeDir(p.dataDir)
  })

  it('creates, gets, lists (PathPrefix, pagination) and deletes users', async () => {
    const {User} = await iam.send(new CreateUserCommand({UserName: 'ana', Path: '/cape/', Tags: [{Key: 'team', Value: 'data'}]}))
    expect(User).toMatchObject({UserName: 'ana', Path: '/cape/', Arn: `arn:aws:iam::${p.accountId}:user/cape/ana`, Tags: [{Key: 'team', Value: 'data'}]})
    expect(User!.UserId).toMatch(/^AIDA[A-Z2-7]{17}$/)
    expect(User!.CreateDate).toBeInstanceOf(Date)
    await iam.send(new CreateUserCommand({UserName: 'ben'}))
    await iam.send(new CreateUserCommand({UserName: 'cy', Path: '/cape/ops/'}))
    await expect(iam.send(new CreateUserCommand({UserName: 'ANA'}))).rejects.toMatchObject({name: 'EntityAlreadyExistsException', $metadata: {httpStatusCode: 409}})
    await expect(iam.send(new CreateUserCommand({UserName: 'bad name!'}))).rejects.toMatchObject({name: 'ValidationError'})

    expect((await iam.send(new GetUserCommand({UserName: 'ana'}))).User?.Arn).toBe(User!.Arn)
    const all = (await iam.send(new ListUsersCommand({}))).Users!.map((u) => u.UserName)
    expect(all).toEqual(['ana', 'ben', 'cy'])
    const cape = (await iam.send(new ListUsersCommand({PathPrefix: '/cape/'}))).Users!.map((u) => u.UserName)
    expect(cape).toEqual(['ana', 'cy'])
    const pages: string[][] = []
    for await (const page of paginateListUsers({client: iam, pageSize: 2}, {})) pages.push(page.Users!.map((u) => u.UserName!))
    expect(pages).toEqual([['ana', 'ben'], ['cy']])

    await iam.send(new DeleteUserCommand({UserName: 'cy'}))
    await expect(iam.send(new GetUserCommand({UserName: 'cy'}))).rejects.toMatchObject({name: 'NoSuchEntityException', $metadata: {httpStatusCode: 404}})
  })

  it('refuses DeleteUser while the user has keys, policies or groups (DeleteConflict), like AWS', async () => {
    await iam.send(new CreateUserCommand({UserName: 'dora'}))
    await iam.send(new CreateGroupCommand({GroupName: 'g-dora'}))
    const {AccessKey} = await iam.send(new CreateAccessKeyCommand({UserName: 'dora'}))
    await iam.send(new PutUserPolicyCommand({UserName: 'dora', PolicyName: 'inline', PolicyDocument: readRaw}))
    await iam.send(new AddUserToGroupCommand({GroupName: 'g-dora', UserName: 'dora'}))
    const del = () => iam.send(new DeleteUserCommand({UserName: 'dora'}))
    await expect(del()).rejects.toMatchObject({name: 'DeleteConflictException', $metadata: {httpStatusCode: 409}, message: expect.stringMatching(/access keys/)})
    await iam.send(new DeleteAccessKeyCommand({UserName: 'dora', AccessKeyId: AccessKey!.AccessKeyId}))
    await expect(del()).rejects.toMatchObject({name: 'DeleteConflictException', message: expect.stringMatching(/policies/)})
    await iam.send(new DeleteUserPolicyCommand({UserName: 'dora', PolicyName: 'inline'}))
    await expect(del()).rejects.toMatchObject({name: 'DeleteConflictException', message: expect.stringMatching(/group/)})
    await expect(iam.send(new DeleteGroupCommand({GroupName: 'g-dora'}))).rejects.toMatchObject({name: 'DeleteConflictException'})
    await iam.send(new RemoveUserFromGroupCommand({GroupName: 'g-dora', UserName: 'dora'}))
    await del()
    await iam.send(new DeleteGroupCommand({GroupName: 'g-dora'}))
    await expect(iam.send(new GetGroupCommand({GroupName: 'g-dora'}))).rejects.toMatchObject({name: 'NoSuchEntityException'})
  })

  it('manages groups and memberships', async () => {
    const {Group} = await iam.send(new CreateGroupCommand({GroupName: 'analysts', Path: '/cape/'}))
    expect(Group).toMatchObject({GroupName: 'analysts', Arn: `arn:aws:iam::${p.accountId}:group/cape/analysts`})
    expect(Group!.GroupId).toMatch(/^AGPA/)
    await iam.send(new CreateGroupCommand({GroupName: 'ops'}))
    await iam.send(new CreateUserCommand({UserName: 'eve'}))
    await iam.send(new AddUserToGroupCommand({GroupName: 'analysts', UserName: 'eve'}))
    await iam.send(new AddUserToGroupCommand({GroupName: 'ops', UserName: 'eve'}))
    const got = await iam.send(new GetGroupCommand({GroupName: 'analysts'}))
    expect(got.Group?.GroupName).toBe('analysts')
    expect(got.Users!.map((u) => u.UserName)).toEqual(['eve'])
    expect((await iam.send(new ListGroupsCommand({}))).Groups!.map((g) => g.GroupName)).toEqual(expect.arrayContaining(['analysts', 'ops']))
    expect((await iam.send(new ListGroupsCommand({PathPrefix: '/cape/'}))).Groups!.map((g) => g.GroupName)).toEqual(['analysts'])
    expect((await iam.send(new ListGroupsForUserCommand({UserName: 'eve'}))).Groups!.map((g) => g.GroupName)).toEqual(['analysts', 'ops'])
    await iam.send(new RemoveUserFromGroupCommand({GroupName: 'ops', UserName: 'eve'}))
    expect((await iam.send(new ListGroupsForUserCommand({UserName: 'eve'}))).Groups!.map((g) => g.GroupName)).toEqual(['analysts'])
    await expect(iam.send(new RemoveUserFromGroupCommand({GroupName: 'ops', UserName: 'eve'}))).rejects.toMatchObject({name: 'NoSuchEntityException'})
    await expect(iam.send(new AddUserToGroupCommand({GroupName: 'nope', UserName: 'eve'}))).rejects.toMatchObject({name: 'NoSuchEntityException'})
  })

  it('puts, gets (URL-encoded document like AWS), lists and deletes inline user, group and role policies', async () => {
    await iam.send(new CreateUserCommand({UserName: 'fay'}))
    await iam.send(new CreateGroupCommand({GroupName: 'g-fay'}))
    await iam.send(new CreateRoleCommand({RoleName: 'r-fay', AssumeRolePolicyDocument: trust(p.accountId)}))
    const cases = [
      {put: new PutUserPolicyCommand({UserName: 'fay', PolicyName: 'p1', PolicyDocument: readRaw}), get: new GetUserPolicyCommand({UserName: 'fay', PolicyName: 'p1'}),
        list: new ListUserPoliciesCommand({UserName: 'fay'}), del: new DeleteUserPolicyCommand({UserName: 'fay', PolicyName: 'p1'}), holder: {UserName: 'fay'}},
      {put: new PutGroupPolicyCommand({GroupName: 'g-fay', PolicyName: 'p1', PolicyDocument: readRaw}), get: new GetGroupPolicyCommand({GroupName: 'g-fay', PolicyName: 'p1'}),
        list: new ListGroupPoliciesCommand({GroupName: 'g-fay'}), del: new DeleteGroupPolicyCommand({GroupName: 'g-fay', PolicyName: 'p1'}), holder: {GroupName: 'g-fay'}},
      {put: new PutRolePolicyCommand({RoleName: 'r-fay', PolicyName: 'p1', PolicyDocument: readRaw}), get: new GetRolePolicyCommand({RoleName: 'r-fay', PolicyName: 'p1'}),
        list: new ListRolePoliciesCommand({RoleName: 'r-fay'}), del: new DeleteRolePolicyCommand({RoleName: 'r-fay', PolicyName: 'p1'}), holder: {RoleName: 'r-fay'}},
    ]
    for (const c of cases) {
      await iam.send(c.put as any)
      const got = (await iam.send(c.get as any)) as {PolicyName: string; PolicyDocument: string}
      expect(got).toMatchObject({...c.holder, PolicyName: 'p1'})
      expect(JSON.parse(decodeURIComponent(got.PolicyDocument))).toEqual(JSON.parse(readRaw))
      expect(((await iam.send(c.list as any)) as {PolicyNames: string[]}).PolicyNames).toEqual(['p1'])
      await iam.send(c.del as any)
      expect(((await iam.send(c.list as any)) as {PolicyNames: string[]}).PolicyNames).toEqual([])
      await expect(iam.send(c.get as any)).rejects.toMatchObject({name: 'NoSuchEntityException'})
    }
    await expect(iam.send(new PutUserPolicyCommand({UserName: 'fay', PolicyName: 'bad', PolicyDocument: '{"Statement": "nope"'}))).rejects.toMatchObject({name: 'MalformedPolicyDocumentException'})
    await expect(iam.send(new PutUserPolicyCommand({UserName: 'fay', PolicyName: 'bad', PolicyDocument: policy([{Effect: 'Maybe', Action: '*', Resource: '*'}])}))).rejects.toMatchObject({name: 'MalformedPolicyDocumentException'})
  })

  it('creates managed policies, attaches/detaches them to users, groups and roles, and refuses deleting attached ones', async () => {
    const {Policy} = await iam.send(new CreatePolicyCommand({PolicyName: 'raw-read', Path: '/cape/', PolicyDocument: readRaw, Description: 'read raw'}))
    const arn = `arn:aws:iam::${p.accountId}:policy/cape/raw-read`
    expect(Policy).toMatchObject({PolicyName: 'raw-read', Arn: arn, DefaultVersionId: 'v1', AttachmentCount: 0, IsAttachable: true})
    await expect(iam.send(new CreatePolicyCommand({PolicyName: 'raw-read', PolicyDocument: readRaw}))).rejects.toMatchObject({name: 'EntityAlreadyExistsException'})
    expect((await iam.send(new GetPolicyCommand({PolicyArn: arn}))).Policy?.Description).toBe('read raw')
    const version = (await iam.send(new GetPolicyVersionCommand({PolicyArn: arn, VersionId: 'v1'}))).PolicyVersion!
    expect(version).toMatchObject({VersionId: 'v1', IsDefaultVersion: true})
    expect(JSON.parse(decodeURIComponent(version.Document!))).toEqual(JSON.parse(readRaw))

    const readAll = policy([{Effect: 'Allow', Action: 's3:GetObject', Resource: '*'}])
    const v2 = (await iam.send(new CreatePolicyVersionCommand({PolicyArn: arn, PolicyDocument: readAll, SetAsDefault: true}))).PolicyVersion!
    expect(v2).toMatchObject({VersionId: 'v2', IsDefaultVersion: true})
    expect((await iam.send(new GetPolicyCommand({PolicyArn: arn}))).Policy?.DefaultVersionId).toBe('v2')
    await expect(iam.send(new DeletePolicyVersionCommand({PolicyArn: arn, VersionId: 'v2'}))).rejects.toMatchObject({name: 'DeleteConflictException'})
    await iam.send(new DeletePolicyVersionCommand({PolicyArn: arn, VersionId: 'v1'}))
    expect((await iam.send(new ListPolicyVersionsCommand({PolicyArn: arn}))).Versions!.map((v) => v.VersionId)).toEqual(['v2'])

    await iam.send(new CreateUserCommand({UserName: 'gus'}))
    await iam.send(new CreateGroupCommand({GroupName: 'g-gus'}))
    await iam.send(new CreateRoleCommand({RoleName: 'r-gus', AssumeRolePolicyDocument: trust(p.accountId)}))
    await iam.send(new AttachUserPolicyCommand({UserName: 'gus', PolicyArn: arn}))
    await iam.send(new AttachGroupPolicyCommand({GroupName: 'g-gus', PolicyArn: arn}))
    await iam.send(new AttachRolePolicyCommand({RoleName: 'r-gus', PolicyArn: arn}))
    await iam.send(new AttachRolePolicyCommand({RoleName: 'r-gus', PolicyArn: 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'}))
    await expect(iam.send(new AttachUserPolicyCommand({UserName: 'gus', PolicyArn: `arn:aws:iam::${p.accountId}:policy/missing`}))).rejects.toMatchObject({name: 'NoSuchEntityException'})
    expect((await iam.send(new ListAttachedUserPoliciesCommand({UserName: 'gus'}))).AttachedPolicies).toEqual([{PolicyName: 'raw-read', PolicyArn: arn}])
    expect((await iam.send(new ListAttachedGroupPoliciesCommand({GroupName: 'g-gus'}))).AttachedPolicies).toEqual([{PolicyName: 'raw-read', PolicyArn: arn}])
    expect((await iam.send(new ListAttachedRolePoliciesCommand({RoleName: 'r-gus'}))).AttachedPolicies!.map((a) => a.PolicyName)).toEqual(['raw-read', 'AWSLambdaBasicExecutionRole'])
    expect((await iam.send(new GetPolicyCommand({PolicyArn: arn}))).Policy?.AttachmentCount).toBe(3)

    const local = (await iam.send(new ListPoliciesCommand({Scope: 'Local'}))).Policies!.map((x) => x.Arn)
    expect(local).toEqual([arn])
    const aws = (await iam.send(new ListPoliciesCommand({Scope: 'AWS'}))).Policies!.map((x) => x.PolicyName)
    expect(aws).toContain('AdministratorAccess')
    expect((await iam.send(new ListPoliciesCommand({OnlyAttached: true, Scope: 'Local', PathPrefix: '/cape/'}))).Policies!.map((x) => x.Arn)).toEqual([arn])

    await expect(iam.send(new DeletePolicyCommand({PolicyArn: arn}))).rejects.toMatchObject({name: 'DeleteConflictException'})
    await expect(iam.send(new DeleteRoleCommand({RoleName: 'r-gus'}))).rejects.toMatchObject({name: 'DeleteConflictException'})
    await iam.send(new DetachUserPolicyCommand({UserName: 'gus', PolicyArn: arn}))
    await iam.send(new DetachGroupPolicyCommand({GroupName: 'g-gus', PolicyArn: arn}))
    await iam.send(new DetachRolePolicyCommand({RoleName: 'r-gus', PolicyArn: arn}))
    await expect(iam.send(new DetachUserPolicyCommand({UserName: 'gus', PolicyArn: arn}))).rejects.toMatchObject({name: 'NoSuchEntityException'})
    expect((await iam.send(new ListAttachedUserPoliciesCommand({UserName: 'gus'}))).AttachedPolicies).toEqual([])
    await iam.send(new DeletePolicyCommand({PolicyArn: arn}))
    await expect(iam.send(new GetPolicyCommand({PolicyArn: arn}))).rejects.toMatchObject({name: 'NoSuchEntityException'})
  })

  it('creates, gets, lists and deletes roles', async () => {
    const {Role} = await iam.send(new CreateRoleCommand({RoleName: 'transform', Path: '/cape/', AssumeRolePolicyDocument: trust(p.accountId), Description: 'transform lambda', MaxSessionDuration: 7200}))
    expect(Role).toMatchObject({RoleName: 'transform', Arn: `arn:aws:iam::${p.accountId}:role/cape/transform`, Description: 'transform lambda', MaxSessionDuration: 7200})
    expect(Role!.RoleId).toMatch(/^AROA/)
    const got = (await iam.send(new GetRoleCommand({RoleName: 'transform'}))).Role!
    expect(JSON.parse(decodeURIComponent(got.AssumeRolePolicyDocument!))).toEqual(JSON.parse(trust(p.accountId)))
    expect((await iam.send(new ListRolesCommand({PathPrefix: '/cape/'}))).Roles!.map((r) => r.RoleName)).toEqual(['transform'])
    await expect(iam.send(new CreateRoleCommand({RoleName: 'transform', AssumeRolePolicyDocument: trust(p.accountId)}))).rejects.toMatchObject({name: 'EntityAlreadyExistsException'})
    await iam.send(new DeleteRoleCommand({RoleName: 'transform'}))
    await expect(iam.send(new GetRoleCommand({RoleName: 'transform'}))).rejects.toMatchObject({name: 'NoSuchEntityException'})
  })

  it('creates, lists, updates and deletes access keys (at most 2 per user)', async () => {
    await iam.send(new CreateUserCommand({UserName: 'hal'}))
    const a = (await iam.send(new CreateAccessKeyCommand({UserName: 'hal'}))).AccessKey!
    expect(a).toMatchObject({UserName: 'hal', Status: 'Active'})
    expect(a.AccessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/)
    expect(a.SecretAccessKey).toHaveLength(40)
    const b = (await iam.send(new CreateAccessKeyCommand({UserName: 'hal'}))).AccessKey!
    await expect(iam.send(new CreateAccessKeyCommand({UserName: 'hal'}))).rejects.toMatchObject({name: 'LimitExceededException'})
    await iam.send(new UpdateAccessKeyCommand({UserName: 'hal', AccessKeyId: b.AccessKeyId, Status: 'Inactive'}))
    const listed = (await iam.send(new ListAccessKeysCommand({UserName: 'hal'}))).AccessKeyMetadata!
    expect(listed.map((k) => [k.AccessKeyId, k.Status])).toEqual(expect.arrayContaining([[a.AccessKeyId, 'Active'], [b.AccessKeyId, 'Inactive']]))
    expect(listed).toHaveLength(2)
    expect(JSON.stringify(listed)).not.toContain(a.SecretAccessKey)
    await iam.send(new DeleteAccessKeyCommand({UserName: 'hal', AccessKeyId: a.AccessKeyId}))
    await expect(iam.send(new DeleteAccessKeyCommand({UserName: 'hal', AccessKeyId: a.AccessKeyId}))).rejects.toMatchObject({name: 'NoSuchEntityException'})
    expect((await iam.send(new ListAccessKeysCommand({UserName: 'hal'}))).AccessKeyMetadata!.map((k) => k.AccessKeyId)).toEqual([b.AccessKeyId])
  })

  it('lets a user manage its own keys only when its policies allow it (iam:<Action> is authorized)', async () => {
    await iam.send(new CreateUserCommand({UserName: 'ivy'}))
    const k = (await iam.send(new CreateAccessKeyCommand({UserName: 'ivy'}))).AccessKey!
    const asIvy = iamClient(p, {accessKeyId: k.AccessKeyId!, secretAccessKey: k.SecretAccessKey!})
    await expect(asIvy.send(new ListAccessKeysCommand({}))).rejects.toMatchObject({name: 'AccessDenied', $metadata: {httpStatusCode: 403}})
    await expect(asIvy.send(new CreateUserCommand({UserName: 'mallory'}))).rejects.toMatchObject({name: 'AccessDenied'})
    await iam.send(new PutUserPolicyCommand({UserName: 'ivy', PolicyName: 'self-keys', PolicyDocument: policy([
      {Effect: 'Allow', Action: ['iam:ListAccessKeys', 'iam:GetUser'], Resource: 'arn:aws:iam::*:user/${aws:username}'},
    ])}))
    const own = (await asIvy.send(new ListAccessKeysCommand({}))).AccessKeyMetadata!
    expect(own.map((x) => x.AccessKeyId)).toEqual([k.AccessKeyId])
    expect((await asIvy.send(new GetUserCommand({}))).User?.UserName).toBe('ivy')
    await expect(asIvy.send(new ListAccessKeysCommand({UserName: 'hal'}))).rejects.toMatchObject({name: 'AccessDenied'})
  })

  it('simulates principal policies for users (incl. group policies), groups and roles, with context and resource policies', async () => {
    await iam.send(new CreateUserCommand({UserName: 'jo'}))
    await iam.send(new CreateGroupCommand({GroupName: 'readers'}))
    await iam.send(new AddUserToGroupCommand({GroupName: 'readers', UserName: 'jo'}))
    await iam.send(new PutGroupPolicyCommand({GroupName: 'readers', PolicyName: 'read-raw', PolicyDocument: readRaw}))
    await iam.send(new PutUserPolicyCommand({UserName: 'jo', PolicyName: 'no-secret', PolicyDocument: policy([
      {Sid: 'DenySecret', Effect: 'Deny', Action: 's3:*', Resource: 'arn:aws:s3:::raw/secret/*'},
      {Sid: 'ListWithPrefix', Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::raw', Condition: {StringLike: {'s3:prefix': ['public/*']}}},
    ])}))
    const userArn = `arn:aws:iam::${p.accountId}:user/jo`
    const sim = (input: Partial<ConstructorParameters<typeof SimulatePrincipalPolicyCommand>[0]>) =>
      iam.send(new SimulatePrincipalPolicyCommand({PolicySourceArn: userArn, ActionNames: [], ...input}))

    const r = await sim({ActionNames: ['s3:GetObject', 's3:PutObject'], ResourceArns: ['arn:aws:s3:::raw/a.csv', 'arn:aws:s3:::raw/secret/x', 'arn:aws:s3:::curated/a']})
    const decisions = Object.fromEntries(r.EvaluationResults!.map((e) => [`${e.EvalActionName} ${e.EvalResourceName}`, e.EvalDecision]))
    expect(decisions).toEqual({
      's3:GetObject arn:aws:s3:::raw/a.csv': 'allowed',
      's3:GetObject arn:aws:s3:::raw/secret/x': 'explicitDeny',
      's3:GetObject arn:aws:s3:::curated/a': 'implicitDeny',
      's3:PutObject arn:aws:s3:::raw/a.csv': 'implicitDeny',
      's3:PutObject arn:aws:s3:::raw/secret/x': 'explicitDeny',
      's3:PutObject arn:aws:s3:::curated/a': 'implicitDeny',
    })
    const allowed = r.EvaluationResults!.find((e) => e.EvalResourceName === 'arn:aws:s3:::raw/a.csv' && e.EvalActionName === 's3:GetObject')!
    expect(allowed.MatchedStatements).toEqual([expect.objectContaining({SourcePolicyId: 'read-raw', SourcePolicyType: 'group'})])

    const ctx = (prefix: string) => sim({ActionNames: ['s3:ListBucket'], ResourceArns: ['arn:aws:s3:::raw'],
      ContextEntries: [{ContextKeyName: 's3:prefix', ContextKeyValues: [prefix], ContextKeyType: 'string'}]})
    expect((await ctx('public/2024/')).EvaluationResults![0].EvalDecision).toBe('allowed')
    expect((await ctx('private/')).EvaluationResults![0].EvalDecision).toBe('implicitDeny')

    // group as the source: only the group's policies
    const g = await sim({PolicySourceArn: `arn:aws:iam::${p.accountId}:group/readers`, ActionNames: ['s3:GetObject'], ResourceArns: ['arn:aws:s3:::raw/secret/x']})
    expect(g.EvaluationResults![0].EvalDecision).toBe('allowed')

    // role source, with a resource (bucket) policy granting the role
    await iam.send(new CreateRoleCommand({RoleName: 'extractor', AssumeRolePolicyDocument: trust(p.accountId)}))
    const roleArn = `arn:aws:iam::${p.accountId}:role/extractor`
    const noPolicy = await sim({PolicySourceArn: roleArn, ActionNames: ['s3:PutObject'], ResourceArns: ['arn:aws:s3:::results/x']})
    expect(noPolicy.EvaluationResults![0].EvalDecision).toBe('implicitDeny')
    const bucketPolicy = policy([{Effect: 'Allow', Principal: {AWS: roleArn}, Action: 's3:PutObject', Resource: 'arn:aws:s3:::results/*'}])
    const withResource = await sim({PolicySourceArn: roleArn, ActionNames: ['s3:PutObject'], ResourceArns: ['arn:aws:s3:::results/x'], ResourcePolicy: bucketPolicy})
    expect(withResource.EvaluationResults![0]).toMatchObject({EvalDecision: 'allowed', MatchedStatements: [expect.objectContaining({SourcePolicyType: 'resource'})]})

    await expect(sim({PolicySourceArn: `arn:aws:iam::${p.accountId}:user/nobody`, ActionNames: ['s3:GetObject']})).rejects.toMatchObject({name: 'NoSuchEntityException'})
  })

  it('answers GetAccountSummary', async () => {
    const {SummaryMap} = await iam.send(new GetAccountSummaryCommand({}))
    expect(SummaryMap?.Users).toBe(p.iam.listUsers().length)
    expect(SummaryMap?.AccessKeysPerUserQuota).toBe(2)
  })
})
