import {
  AddUserToGroupCommand, CreateAccessKeyCommand, CreateGroupCommand, CreateRoleCommand, CreateUserCommand, GetUserCommand, PutGroupPolicyCommand,
  PutRolePolicyCommand, UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam'
import {CreateBucketCommand, GetObjectCommand, ListBucketsCommand, PutBucketPolicyCommand, PutObjectCommand} from '@aws-sdk/client-s3'
import {AssumeRoleCommand, GetCallerIdentityCommand} from '@aws-sdk/client-sts'
import {zipSync, strToU8} from 'fflate'
import {readFileSync, statSync} from 'node:fs'
import {connect} from 'node:net'
import {networkInterfaces} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {startPlatform, type Platform} from '../../../src/lib/platform/server.js'
import {iamClient, policy, removeDir, s3Client, startTestPlatform, stsClient, type Creds} from './iam/fixture.js'

const mode = (path: string) => statSync(path).mode & 0o777

/** Resolve true when a TCP connection to host:port succeeds. */
const canConnect = (host: string, port: number) => new Promise<boolean>((resolve) => {
  const s = connect({host, port})
  s.once('connect', () => { s.destroy(); resolve(true) })
  s.once('error', () => resolve(false))
})

describe('startPlatform', () => {
  const started: Platform[] = []
  const start = async (dir?: string) => {
    const p = await startTestPlatform(dir)
    started.push(p)
    return p
  }
  afterEach(async () => {
    for (const p of started.splice(0)) {
      await p.close()
      removeDir(p.dataDir)
    }
  })

  it('listens on 127.0.0.1 only and writes platform.json and the admin credentials (0600) once', async () => {
    const p = await start()
    expect(p.endpoint).toBe(`http://127.0.0.1:${p.port}`)
    expect(p.accountId).toMatch(/^[1-9]\d{11}$/)
    expect(p.region).toBe('us-east-1')
    expect(p.adminCredentials.accessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/)
    expect(p.adminCredentials.secretAccessKey).toHaveLength(40)
    const platformJson = JSON.parse(readFileSync(join(p.dataDir, 'platform.json'), 'utf8'))
    expect(platformJson).toMatchObject({accountId: p.accountId, region: 'us-east-1'})
    const adminFile = join(p.dataDir, 'admin-credentials.json')
    expect(JSON.parse(readFileSync(adminFile, 'utf8'))).toEqual(p.adminCredentials)
    expect(mode(adminFile)).toBe(0o600)
    expect(mode(join(p.dataDir, 'iam', 'state.json'))).toBe(0o600)
    expect(await canConnect('127.0.0.1', p.port)).toBe(true)
    // any other local address (if the machine has one) must not answer
    const others = Object.values(networkInterfaces()).flat().filter((i) => i && i.family === 'IPv4' && !i.internal)
    for (const i of others) expect(await canConnect(i!.address, p.port)).toBe(false)
  })

  it('answers STS for the admin credentials as the account root', async () => {
    const p = await start()
    const id = await stsClient(p).send(new GetCallerIdentityCommand({}))
    expect(id).toMatchObject({Account: p.accountId, Arn: `arn:aws:iam::${p.accountId}:root`, UserId: p.accountId})
  })

  it('refuses a wrong secret with SignatureDoesNotMatch (query services and S3)', async () => {
    const p = await start()
    const wrong = {accessKeyId: p.adminCredentials.accessKeyId, secretAccessKey: 'x'.repeat(40)}
    await expect(stsClient(p, wrong).send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({name: 'SignatureDoesNotMatch', $metadata: {httpStatusCode: 403}})
    await expect(iamClient(p, wrong).send(new GetUserCommand({UserName: 'x'}))).rejects.toMatchObject({name: 'SignatureDoesNotMatch'})
    await expect(s3Client(p, wrong).send(new ListBucketsCommand({}))).rejects.toMatchObject({name: 'SignatureDoesNotMatch', $metadata: {httpStatusCode: 403}})
  })

  it('refuses an unknown access key: InvalidClientTokenId (query) / InvalidAccessKeyId (S3)', async () => {
    const p = await start()
    const unknown = {accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'y'.repeat(40)}
    await expect(stsClient(p, unknown).send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({name: 'InvalidClientTokenId', $metadata: {httpStatusCode: 403}})
    await expect(iamClient(p, unknown).send(new GetUserCommand({UserName: 'x'}))).rejects.toMatchObject({name: 'InvalidClientTokenId'})
    await expect(s3Client(p, unknown).send(new ListBucketsCommand({}))).rejects.toMatchObject({name: 'InvalidAccessKeyId', $metadata: {httpStatusCode: 403}})
  })

  it('refuses an inactive access key and accepts it again once reactivated', async () => {
    const p = await start()
    const iam = iamClient(p)
    await iam.send(new CreateUserCommand({UserName: 'alice'}))
    const {AccessKey} = await iam.send(new CreateAccessKeyCommand({UserName: 'alice'}))
    const creds = {accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey!}
    expect((await stsClient(p, creds).send(new GetCallerIdentityCommand({}))).Arn).toBe(`arn:aws:iam::${p.accountId}:user/alice`)
    await iam.send(new UpdateAccessKeyCommand({UserName: 'alice', AccessKeyId: creds.accessKeyId, Status: 'Inactive'}))
    await expect(stsClient(p, creds).send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({name: 'InvalidClientTokenId'})
    await expect(s3Client(p, creds).send(new ListBucketsCommand({}))).rejects.toMatchObject({name: 'InvalidAccessKeyId'})
    await iam.send(new UpdateAccessKeyCommand({UserName: 'alice', AccessKeyId: creds.accessKeyId, Status: 'Active'}))
    expect((await stsClient(p, creds).send(new GetCallerIdentityCommand({}))).Arn).toBe(`arn:aws:iam::${p.accountId}:user/alice`)
  })

  it('answers MissingAuthenticationToken to an unsigned query call and InvalidAction to an unknown action', async () => {
    const p = await start()
    const anon = await fetch(p.endpoint + '/', {method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded'}, body: 'Action=GetCallerIdentity&Version=2011-06-15'})
    expect(anon.status).toBe(403)
    expect(await anon.text()).toMatch(/<Code>MissingAuthenticationToken<\/Code>/)

    const {SignatureV4} = await import('@smithy/signature-v4')
    const {Sha256} = await import('./iam/sha256.js')
    const signer = new SignatureV4({credentials: p.adminCredentials, region: p.region, service: 'iam', sha256: Sha256})
    const body = 'Action=FlyToTheMoon&Version=2010-05-08'
    const url = new URL(p.endpoint)
    const signed = await signer.sign({method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', query: {},
      headers: {host: url.host, 'content-type': 'application/x-www-form-urlencoded'}, body})
    const res = await fetch(p.endpoint + '/', {method: 'POST', headers: signed.headers, body})
    expect(res.status).toBe(400)
    const text = await res.text()
    expect(text).toMatch(/<Code>InvalidAction<\/Code>/)
    expect(text).toContain('NotImplemented: FlyToTheMoon is not implemented by the cape local platform')
  })

  it('keeps account, admin credentials, users, keys and STS credentials across a restart', async () => {
    const first = await startTestPlatform()
    const dir = first.dataDir
    try {
      const iam = iamClient(first)
      await iam.send(new CreateUserCommand({UserName: 'bob'}))
      const {AccessKey} = await iam.send(new CreateAccessKeyCommand({UserName: 'bob'}))
      const role = await first.iam.createRole({roleName: 'r1', assumeRolePolicyDocument: {Version: '2012-10-17', Statement: [{Effect: 'Allow', Principal: {AWS: `arn:aws:iam::${first.accountId}:root`}, Action: 'sts:AssumeRole'}]}})
      const temp = first.assumeRole(role.arn, 's1')
      await first.close()

      const second = await startPlatform({dataDir: dir, port: 0})
      started.push(second)
      expect(second.accountId).toBe(first.accountId)
      expect(second.adminCredentials).toEqual(first.adminCredentials)
      const bob = {accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey!}
      expect((await stsClient(second, bob).send(new GetCallerIdentityCommand({}))).Arn).toBe(`arn:aws:iam::${second.accountId}:user/bob`)
      const session = {accessKeyId: temp.accessKeyId, secretAccessKey: temp.secretAccessKey, sessionToken: temp.sessionToken}
      expect((await stsClient(second, session).send(new GetCallerIdentityCommand({}))).Arn).toBe(`arn:aws:sts::${second.accountId}:assumed-role/r1/s1`)
    } finally {
      await first.close()
    }
  })

  it('enforces identity policies on S3: a group policy allowing s3:GetObject on one bucket reads, but PutObject is AccessDenied', async () => {
    const p = await start()
    const admin = s3Client(p)
    await admin.send(new CreateBucketCommand({Bucket: 'raw'}))
    await admin.send(new CreateBucketCommand({Bucket: 'curated'}))
    await admin.send(new PutObjectCommand({Bucket: 'raw', Key: 'in/a.csv', Body: 'a,b\n1,2\n'}))
    await admin.send(new PutObjectCommand({Bucket: 'curated', Key: 'c.csv', Body: 'x'}))
    const iam = iamClient(p)
    await iam.send(new CreateUserCommand({UserName: 'reader'}))
    await iam.send(new CreateGroupCommand({GroupName: 'raw-readers'}))
    await iam.send(new AddUserToGroupCommand({GroupName: 'raw-readers', UserName: 'reader'}))
    await iam.send(new PutGroupPolicyCommand({GroupName: 'raw-readers', PolicyName: 'read-raw', PolicyDocument: policy([
      {Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::raw/*'},
    ])}))
    const {AccessKey} = await iam.send(new CreateAccessKeyCommand({UserName: 'reader'}))
    const reader = s3Client(p, {accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey!})

    const got = await reader.send(new GetObjectCommand({Bucket: 'raw', Key: 'in/a.csv'}))
    expect(await got.Body!.transformToString()).toBe('a,b\n1,2\n')
    await expect(reader.send(new PutObjectCommand({Bucket: 'raw', Key: 'in/b.csv', Body: 'no'}))).rejects.toMatchObject({name: 'AccessDenied', $metadata: {httpStatusCode: 403}})
    await expect(reader.send(new GetObjectCommand({Bucket: 'curated', Key: 'c.csv'}))).rejects.toMatchObject({name: 'AccessDenied'})
    await expect(reader.send(new ListBucketsCommand({}))).rejects.toMatchObject({name: 'AccessDenied'})
  })

  it('denies anonymous S3 requests unless the bucket policy allows them, and honours explicit Deny even for root', async () => {
    const p = await start()
    const admin = s3Client(p)
    await admin.send(new CreateBucketCommand({Bucket: 'pub'}))
    await admin.send(new PutObjectCommand({Bucket: 'pub', Key: 'open/x.txt', Body: 'hello'}))
    await admin.send(new PutObjectCommand({Bucket: 'pub', Key: 'locked/y.txt', Body: 'secret'}))
    expect((await fetch(`${p.endpoint}/pub/open/x.txt`)).status).toBe(403)
    await admin.send(new PutBucketPolicyCommand({Bucket: 'pub', Policy: policy([
      {Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::pub/open/*'},
      {Effect: 'Deny', Principal: {AWS: `arn:aws:iam::${p.accountId}:root`}, Action: 's3:GetObject', Resource: 'arn:aws:s3:::pub/locked/*'},
    ])}))
    const anon = await fetch(`${p.endpoint}/pub/open/x.txt`)
    expect(anon.status).toBe(200)
    expect(await anon.text()).toBe('hello')
    expect((await fetch(`${p.endpoint}/pub/locked/y.txt`)).status).toBe(403)
    await expect(admin.send(new GetObjectCommand({Bucket: 'pub', Key: 'locked/y.txt'}))).rejects.toMatchObject({name: 'AccessDenied'})
  })

  it('gives assumed-role sessions the role policies on S3 and checks their session token', async () => {
    const p = await start()
    const admin = s3Client(p)
    await admin.send(new CreateBucketCommand({Bucket: 'results'}))
    const iam = iamClient(p)
    const {Role} = await iam.send(new CreateRoleCommand({RoleName: 'writer', AssumeRolePolicyDocument: policy([
      {Effect: 'Allow', Principal: {AWS: p.accountId}, Action: 'sts:AssumeRole'},
    ])}))
    await iam.send(new PutRolePolicyCommand({RoleName: 'writer', PolicyName: 'w', PolicyDocument: policy([
      {Effect: 'Allow', Action: 's3:PutObject', Resource: 'arn:aws:s3:::results/*'},
    ])}))
    const {Credentials} = await stsClient(p).send(new AssumeRoleCommand({RoleArn: Role!.Arn, RoleSessionName: 'job'}))
    const creds: Creds = {accessKeyId: Credentials!.AccessKeyId!, secretAccessKey: Credentials!.SecretAccessKey!, sessionToken: Credentials!.SessionToken!}
    await s3Client(p, creds).send(new PutObjectCommand({Bucket: 'results', Key: 'r.json', Body: '{}'}))
    await expect(s3Client(p, creds).send(new GetObjectCommand({Bucket: 'results', Key: 'r.json'}))).rejects.toMatchObject({name: 'AccessDenied'})
    await expect(s3Client(p, {...creds, sessionToken: 'forged'}).send(new PutObjectCommand({Bucket: 'results', Key: 'r2.json', Body: '{}'})))
      .rejects.toMatchObject({name: 'InvalidToken', $metadata: {httpStatusCode: 400}})
    const {sessionToken: _, ...noToken} = creds
    await expect(s3Client(p, noToken).send(new PutObjectCommand({Bucket: 'results', Key: 'r3.json', Body: '{}'}))).rejects.toMatchObject({name: 'InvalidAccessKeyId'})
  })

  it('invokes the Lambda runtime on S3 notifications, with the function role\'s temporary credentials', async () => {
    const p = await start()
    const role = p.iam.createRole({roleName: 'fn-role', assumeRolePolicyDocument: {Version: '2012-10-17', Statement: [{Effect: 'Allow', Principal: {Service: 'lambda.amazonaws.com'}, Action: 'sts:AssumeRole'}]}})
    const out = join(p.dataDir, 'fn-out.json')
    const code = `exports.handler = async (event) => { require('fs').writeFileSync(process.env.OUT, JSON.stringify({event, key: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY, token: process.env.AWS_SESSION_TOKEN})) }`
    const arn = `arn:aws:lambda:${p.region}:${p.accountId}:function:on-upload`
    await p.lambda.putFunction({name: 'on-upload', arn, roleArn: role.arn, handler: 'index.handler', runtime: 'nodejs20.x', timeoutSeconds: 10, memoryMb: 128,
      environment: {OUT: out}, code: Buffer.from(zipSync({'index.js': strToU8(code)}))})
    await p.s3.createBucket('landing')
    await p.s3.putNotifications('landing', {lambda: [{functionArn: arn, events: ['s3:ObjectCreated:*']}]})
    await s3Client(p).send(new PutObjectCommand({Bucket: 'landing', Key: 'new file.csv', Body: 'x'}))
    const deadline = Date.now() + 10_000
    let result: {event: {Records: Array<{s3: {object: {key: string}}}>}; key: string; secret: string; token: string} | undefined
    while (!result && Date.now() < deadline) {
      await p.lambda.idle()
      try { result = JSON.parse(readFileSync(out, 'utf8')) } catch { await new Promise((r) => setTimeout(r, 50)) }
    }
    expect(result?.event.Records[0].s3.object.key).toBe('new+file.csv')
    expect(result!.key).toMatch(/^ASIA/)
    const who = await stsClient(p, {accessKeyId: result!.key, secretAccessKey: result!.secret, sessionToken: result!.token}).send(new GetCallerIdentityCommand({}))
    expect(who.Arn).toMatch(new RegExp(`^arn:aws:sts::${p.accountId}:assumed-role/fn-role/`))
  })
})
