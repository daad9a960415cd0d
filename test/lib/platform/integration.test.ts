import {CreateChangeSetCommand, DescribeChangeSetCommand, DescribeStacksCommand, ExecuteChangeSetCommand} from '@aws-sdk/client-cloudformation'
import {CreateAccessKeyCommand, CreateUserCommand, ListUsersCommand, PutUserPolicyCommand} from '@aws-sdk/client-iam'
import {
  CreateBucketCommand, GetObjectCommand, ListBucketsCommand, ListObjectsV2Command, PutBucketPolicyCommand, PutObjectCommand,
} from '@aws-sdk/client-s3'
import {GetCallerIdentityCommand} from '@aws-sdk/client-sts'
import {build} from 'esbuild'
import {zipSync} from 'fflate'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {createClients, type AwsClients} from '../../../src/lib/aws/clients.js'
import {bootPlatform} from '../../../src/lib/local/boot.js'
import type {Platform} from '../../../src/lib/platform/server.js'
import {repoRoot} from '../../helpers/cli.js'

/**
 * End to end across the platform's modules (router + SigV4, IAM, S3, CloudFormation, Lambda), with the real SDK v3
 * clients against bootPlatform on an ephemeral port and a temp data dir. The module tests cover each piece in depth;
 * these tests follow one story, in order: authorization, a CloudFormation-deployed notification pipeline, restart.
 */

type Creds = {accessKeyId: string; secretAccessKey: string; sessionToken?: string}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Poll `fn` until `done(value)` (or fail with the last value after `ms`). */
async function until<T>(what: string, fn: () => Promise<T>, done: (v: T) => boolean, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms
  let last: T
  for (;;) {
    last = await fn()
    if (done(last)) return last
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)}`)
    await sleep(50)
  }
}

/**
 * A handler bundled like src/functions/* (esbuild, ESM, SDK v3 inside the bundle): copies every created object to
 * OUT_BUCKET under processed/, upper-cased, with whatever credentials the runtime gave it (its role's).
 */
const HANDLER = `
import {GetObjectCommand, PutObjectCommand, S3Client} from '@aws-sdk/client-s3'
const s3 = new S3Client({forcePathStyle: true, maxAttempts: 1})
export const handler = async (event) => {
  for (const record of event.Records) {
    const key = decodeURIComponent(record.s3.object.key.replace(/\\+/g, ' '))
    const object = await s3.send(new GetObjectCommand({Bucket: record.s3.bucket.name, Key: key}))
    const text = await object.Body.transformToString()
    console.log('copying', key)
    await s3.send(new PutObjectCommand({Bucket: process.env.OUT_BUCKET, Key: 'processed/' + key, Body: text.toUpperCase()}))
  }
  return {copied: event.Records.length}
}
`

async function bundleHandler(): Promise<Buffer> {
  const result = await build({
    stdin: {contents: HANDLER, resolveDir: repoRoot, loader: 'js', sourcefile: 'index.mjs'},
    bundle: true, platform: 'node', target: 'node20', format: 'esm', write: false, logLevel: 'silent', legalComments: 'none',
    banner: {js: "import {createRequire as __cr} from 'node:module'; const require = __cr(import.meta.url);"},
  })
  return Buffer.from(zipSync({'index.mjs': result.outputFiles[0].contents}))
}

const lambdaTrust = {Version: '2012-10-17', Statement: [{Effect: 'Allow', Principal: {Service: 'lambda.amazonaws.com'}, Action: 'sts:AssumeRole'}]}

/** The pipeline stack: two functions on one landing bucket (by prefix); only the writer's role may write to the out bucket. */
const PIPELINE = {
  AWSTemplateFormatVersion: '2010-09-09',
  Parameters: {CodeBucket: {Type: 'String'}, CodeKey: {Type: 'String'}},
  Resources: {
    Out: {Type: 'AWS::S3::Bucket', Properties: {BucketName: 'int-out'}},
    WriterRole: {Type: 'AWS::IAM::Role', Properties: {
      AssumeRolePolicyDocument: lambdaTrust,
      Policies: [{PolicyName: 'copy', PolicyDocument: {Version: '2012-10-17', Statement: [
        {Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::int-landing/*'},
        {Effect: 'Allow', Action: 's3:PutObject', Resource: {'Fn::Sub': '${Out.Arn}/processed/*'}},
      ]}}],
    }},
    ReaderRole: {Type: 'AWS::IAM::Role', Properties: {
      AssumeRolePolicyDocument: lambdaTrust,
      Policies: [{PolicyName: 'read-only', PolicyDocument: {Version: '2012-10-17', Statement: [
        {Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::int-landing/*'},
      ]}}],
    }},
    Writer: {Type: 'AWS::Lambda::Function', Properties: {
      FunctionName: 'int-writer', Runtime: 'nodejs20.x', Handler: 'index.handler', Timeout: 20, Role: {'Fn::GetAtt': ['WriterRole', 'Arn']},
      Code: {S3Bucket: {Ref: 'CodeBucket'}, S3Key: {Ref: 'CodeKey'}}, Environment: {Variables: {OUT_BUCKET: {Ref: 'Out'}}},
    }},
    Reader: {Type: 'AWS::Lambda::Function', Properties: {
      FunctionName: 'int-reader', Runtime: 'nodejs20.x', Handler: 'index.handler', Timeout: 20, Role: {'Fn::GetAtt': ['ReaderRole', 'Arn']},
      Code: {S3Bucket: {Ref: 'CodeBucket'}, S3Key: {Ref: 'CodeKey'}}, Environment: {Variables: {OUT_BUCKET: {Ref: 'Out'}}},
    }},
    WriterPermission: {Type: 'AWS::Lambda::Permission', Properties: {
      FunctionName: {Ref: 'Writer'}, Action: 'lambda:InvokeFunction', Principal: 's3.amazonaws.com', SourceArn: 'arn:aws:s3:::int-landing',
    }},
    ReaderPermission: {Type: 'AWS::Lambda::Permission', Properties: {
      FunctionName: {Ref: 'Reader'}, Action: 'lambda:InvokeFunction', Principal: 's3.amazonaws.com', SourceArn: 'arn:aws:s3:::int-landing',
    }},
    Landing: {Type: 'AWS::S3::Bucket', DependsOn: ['WriterPermission', 'ReaderPermission'], Properties: {
      BucketName: 'int-landing',
      NotificationConfiguration: {LambdaConfigurations: [
        {Event: 's3:ObjectCreated:*', Function: {'Fn::GetAtt': ['Writer', 'Arn']}, Filter: {S3Key: {Rules: [{Name: 'prefix', Value: 'ok/'}]}}},
        {Event: 's3:ObjectCreated:*', Function: {'Fn::GetAtt': ['Reader', 'Arn']}, Filter: {S3Key: {Rules: [{Name: 'prefix', Value: 'ro/'}]}}},
      ]},
    }},
  },
  Outputs: {
    LandingBucket: {Value: {Ref: 'Landing'}},
    WriterArn: {Value: {'Fn::GetAtt': ['Writer', 'Arn']}},
  },
}

describe('local platform, end to end', () => {
  let root: string
  let dataDir: string
  let platform: Platform
  let admin: AwsClients
  let userKey: Creds
  const clients: AwsClients[] = []
  const as = (credentials: Creds): AwsClients => {
    // (a copy: the SDK annotates the credentials object it is given)
    const c = createClients({region: platform.region, endpoint: platform.endpoint, credentials: {...credentials}, maxAttempts: 1})
    clients.push(c)
    return c
  }
  const boot = async () => {
    platform = await bootPlatform({dataDir, port: 0})
    admin = as(platform.adminCredentials)
  }
  const text = async (c: AwsClients, bucket: string, key: string) =>
    (await c.s3.send(new GetObjectCommand({Bucket: bucket, Key: key}))).Body!.transformToString()

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'cape-integration-'))
    dataDir = join(root, 'data')
    await boot()
  })

  afterAll(async () => {
    for (const c of clients) c.destroy()
    await platform?.close()
    if (root) rmSync(root, {recursive: true, force: true})
  })

  it('a user denied by policy gets AccessDenied (identity and bucket policy, explicit Deny wins); a wrong secret SignatureDoesNotMatch', async () => {
    await admin.s3.send(new CreateBucketCommand({Bucket: 'int-shared'}))
    await admin.s3.send(new PutObjectCommand({Bucket: 'int-shared', Key: 'public/a.txt', Body: 'shared data'}))
    await admin.s3.send(new PutObjectCommand({Bucket: 'int-shared', Key: 'secret/b.txt', Body: 'secret'}))
    await admin.iam.send(new CreateUserCommand({UserName: 'analyst'}))
    await admin.iam.send(new PutUserPolicyCommand({UserName: 'analyst', PolicyName: 'read-shared', PolicyDocument: JSON.stringify({
      Version: '2012-10-17',
      Statement: [{Effect: 'Allow', Action: ['s3:GetObject', 's3:ListBucket'], Resource: ['arn:aws:s3:::int-shared', 'arn:aws:s3:::int-shared/*']}],
    })}))
    const analystArn = `arn:aws:iam::${platform.accountId}:user/analyst`
    await admin.s3.send(new PutBucketPolicyCommand({Bucket: 'int-shared', Policy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [{Sid: 'NoSecrets', Effect: 'Deny', Principal: {AWS: analystArn}, Action: 's3:GetObject', Resource: 'arn:aws:s3:::int-shared/secret/*'}],
    })}))
    const key = (await admin.iam.send(new CreateAccessKeyCommand({UserName: 'analyst'}))).AccessKey!
    userKey = {accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey!}
    const analyst = as(userKey)

    expect(await text(analyst, 'int-shared', 'public/a.txt')).toBe('shared data')
    const listed = await analyst.s3.send(new ListObjectsV2Command({Bucket: 'int-shared', Prefix: 'public/'}))
    expect(listed.Contents?.map((o) => o.Key)).toEqual(['public/a.txt'])
    const denied = {name: 'AccessDenied', $metadata: {httpStatusCode: 403}}
    await expect(analyst.s3.send(new PutObjectCommand({Bucket: 'int-shared', Key: 'public/new.txt', Body: 'x'}))).rejects.toMatchObject(denied)
    await expect(analyst.s3.send(new GetObjectCommand({Bucket: 'int-shared', Key: 'secret/b.txt'}))).rejects.toMatchObject(denied)
    await expect(analyst.s3.send(new ListBucketsCommand({}))).rejects.toMatchObject(denied)
    await expect(analyst.iam.send(new ListUsersCommand({}))).rejects.toMatchObject(denied)
    expect((await analyst.sts.send(new GetCallerIdentityCommand({}))).Arn).toBe(analystArn) // needs no permission

    const forged = as({...userKey, secretAccessKey: 'A'.repeat(40)})
    const badSignature = {name: 'SignatureDoesNotMatch', $metadata: {httpStatusCode: 403}}
    await expect(forged.s3.send(new GetObjectCommand({Bucket: 'int-shared', Key: 'public/a.txt'}))).rejects.toMatchObject(badSignature)
    await expect(forged.sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject(badSignature)
    await expect(forged.iam.send(new ListUsersCommand({}))).rejects.toMatchObject(badSignature)
    await expect(forged.cloudformation.send(new DescribeStacksCommand({}))).rejects.toMatchObject(badSignature)
  })

  it('a CloudFormation change set deploys functions, roles and a bucket notification; each function runs with its role', async () => {
    await admin.s3.send(new CreateBucketCommand({Bucket: 'int-code'}))
    await admin.s3.send(new PutObjectCommand({Bucket: 'int-code', Key: 'copy.zip', Body: await bundleHandler()}))
    const cs = await admin.cloudformation.send(new CreateChangeSetCommand({
      StackName: 'pipeline', ChangeSetName: 'create', ChangeSetType: 'CREATE', TemplateBody: JSON.stringify(PIPELINE), Capabilities: ['CAPABILITY_IAM'],
      Parameters: [{ParameterKey: 'CodeBucket', ParameterValue: 'int-code'}, {ParameterKey: 'CodeKey', ParameterValue: 'copy.zip'}],
    }))
    const planned = await until('the change set', () => admin.cloudformation.send(new DescribeChangeSetCommand({ChangeSetName: cs.Id})),
      (d) => d.Status !== 'CREATE_PENDING' && d.Status !== 'CREATE_IN_PROGRESS')
    expect(planned.Status, planned.StatusReason).toBe('CREATE_COMPLETE')
    expect(planned.Changes).toHaveLength(Object.keys(PIPELINE.Resources).length)
    await admin.cloudformation.send(new ExecuteChangeSetCommand({ChangeSetName: cs.Id}))
    const stack = await until('the stack', async () => (await admin.cloudformation.send(new DescribeStacksCommand({StackName: 'pipeline'}))).Stacks![0],
      (s) => !s.StackStatus!.endsWith('_IN_PROGRESS'))
    expect(stack.StackStatus, stack.StackStatusReason).toBe('CREATE_COMPLETE')
    expect(stack.Outputs).toEqual(expect.arrayContaining([
      {OutputKey: 'WriterArn', OutputValue: `arn:aws:lambda:${platform.region}:${platform.accountId}:function:int-writer`},
    ]))

    await admin.s3.send(new PutObjectCommand({Bucket: 'int-landing', Key: 'ok/hello world.txt', Body: 'hello'}))
    await admin.s3.send(new PutObjectCommand({Bucket: 'int-landing', Key: 'ro/denied.txt', Body: 'nope'}))
    await until('both invocations', async () => [platform.lambda.activity('int-writer').invocations, platform.lambda.activity('int-reader').invocations],
      ([w, r]) => w >= 1 && r >= 1)
    await platform.lambda.idle()

    // the writer's role may write: the copy is there
    expect(await text(admin, 'int-out', 'processed/ok/hello world.txt')).toBe('HELLO')
    expect(platform.lambda.activity('int-writer')).toMatchObject({invocations: 1, errors: 0})
    // the reader's role may read but not write: AccessDenied from S3, in its log under <data>/lambda/logs/
    expect(platform.lambda.activity('int-reader')).toMatchObject({invocations: 1, errors: 1, recent: [expect.objectContaining({errorType: 'AccessDenied'})]})
    const log = readFileSync(join(dataDir, 'lambda', 'logs', 'int-reader.log'), 'utf8')
    expect(log).toMatch(/\tINFO\tcopying ro\/denied\.txt/)
    expect(log).toMatch(/\tERROR\tInvoke Error \t\{"errorType":"AccessDenied"/)
    expect(log).toMatch(/^REPORT RequestId: /m)
    const listed = await admin.s3.send(new ListObjectsV2Command({Bucket: 'int-out'}))
    expect(listed.Contents?.map((o) => o.Key)).toEqual(['processed/ok/hello world.txt'])
  })

  it('a restart on the same data dir keeps account, buckets, objects, policies, users, keys, stacks and functions', async () => {
    const before = {
      accountId: platform.accountId,
      admin: platform.adminCredentials,
      buckets: (await admin.s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name),
      stack: (await admin.cloudformation.send(new DescribeStacksCommand({StackName: 'pipeline'}))).Stacks![0],
    }
    expect(before.buckets).toEqual(['int-code', 'int-landing', 'int-out', 'int-shared'])
    await platform.close()
    await boot()

    expect(platform.accountId).toBe(before.accountId)
    expect(platform.adminCredentials).toEqual(before.admin)
    expect((await admin.s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).toEqual(before.buckets)
    expect(await text(admin, 'int-shared', 'public/a.txt')).toBe('shared data')
    expect((await admin.cloudformation.send(new DescribeStacksCommand({StackName: 'pipeline'}))).Stacks![0]).toEqual(before.stack)
    expect((await admin.iam.send(new ListUsersCommand({}))).Users?.map((u) => u.UserName)).toEqual(['analyst'])

    // the user's key still authenticates; its policy and the bucket policy still apply
    const analyst = as(userKey)
    expect(await text(analyst, 'int-shared', 'public/a.txt')).toBe('shared data')
    await expect(analyst.s3.send(new GetObjectCommand({Bucket: 'int-shared', Key: 'secret/b.txt'}))).rejects.toMatchObject({name: 'AccessDenied'})
    await expect(analyst.s3.send(new PutObjectCommand({Bucket: 'int-shared', Key: 'x', Body: 'x'}))).rejects.toMatchObject({name: 'AccessDenied'})

    // the functions and the bucket notification survived too
    await admin.s3.send(new PutObjectCommand({Bucket: 'int-landing', Key: 'ok/after-restart.txt', Body: 'again'}))
    const copy = await until('the copy after the restart', async () => {
      await platform.lambda.idle()
      try {
        return await text(admin, 'int-out', 'processed/ok/after-restart.txt')
      } catch {
        return undefined
      }
    }, (v) => v !== undefined)
    expect(copy).toBe('AGAIN')
    expect(platform.lambda.activity('int-writer').invocations).toBe(2)
  })
})
