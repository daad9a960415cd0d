import {CreateAccessKeyCommand, CreateUserCommand} from '@aws-sdk/client-iam'
import {CreateBucketCommand, HeadObjectCommand, ListObjectsV2Command} from '@aws-sdk/client-s3'
import {execFile} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, utimesSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, relative} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {createClients, type AwsClients} from '../../../src/lib/aws/clients.js'
import {bootPlatform} from '../../../src/lib/local/boot.js'
import type {Platform} from '../../../src/lib/platform/server.js'

/**
 * Debian's awscli (botocore, a second independent AWS client) against the local platform: S3 transfers (incl.
 * multipart), sync, CloudFormation `deploy` (change sets + waiters), IAM, STS, and how it reports errors.
 * The path is explicit: another `aws` may come first on PATH.
 */
const AWS = '/usr/bin/aws'

interface Run {
  code: number
  stdout: string
  stderr: string
  json<T = any>(): T
}

/** Every file under `dir` (relative path → bytes). */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (d: string) => {
    for (const e of readdirSync(d, {withFileTypes: true})) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else out[relative(dir, p)] = readFileSync(p).toString('base64')
    }
  }
  walk(dir)
  return out
}

describe.skipIf(!existsSync(AWS))('awscli (/usr/bin/aws) against the local platform', () => {
  let platform: Platform
  let root: string
  let admin: AwsClients
  let baseEnv: Record<string, string>

  /**
   * Run `aws` with only what we give it: a temp HOME and config files (the host's ~/.aws never leaks in), the
   * platform's endpoint/keys/region, and checksums only when required (s3rver-based S3). awscli 2.9 predates
   * AWS_ENDPOINT_URL (2.13), so --endpoint-url is passed too.
   */
  const aws = (args: string[], options: {env?: Record<string, string>; cwd?: string} = {}) =>
    new Promise<Run>((resolve) => {
      execFile(AWS, ['--endpoint-url', platform.endpoint, '--output', 'json', '--no-cli-pager', ...args], {
        env: {...baseEnv, ...options.env},
        cwd: options.cwd ?? root,
        timeout: 60_000,
        maxBuffer: 16 * 1024 * 1024,
      }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0
        resolve({code, stdout, stderr, json: () => JSON.parse(stdout)})
      })
    })

  /** Run and require exit 0 (with the output in the failure message). */
  const ok = async (args: string[], options: {env?: Record<string, string>; cwd?: string} = {}) => {
    const r = await aws(args, options)
    expect(r.code, `aws ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0)
    return r
  }

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'cape-awscli-'))
    platform = await bootPlatform({dataDir: join(root, 'data'), port: 0})
    const home = join(root, 'home')
    mkdirSync(home)
    baseEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      AWS_CONFIG_FILE: join(home, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
      AWS_ENDPOINT_URL: platform.endpoint,
      AWS_ACCESS_KEY_ID: platform.adminCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: platform.adminCredentials.secretAccessKey,
      AWS_DEFAULT_REGION: platform.region,
      AWS_REGION: platform.region,
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
      AWS_MAX_ATTEMPTS: '1',
      AWS_PAGER: '',
    }
    admin = createClients({region: platform.region, endpoint: platform.endpoint, credentials: platform.adminCredentials, maxAttempts: 1})
  })

  afterAll(async () => {
    admin?.destroy()
    await platform?.close()
    if (root) rmSync(root, {recursive: true, force: true})
  })

  it('s3 mb, cp up, down and S3 to S3 (multipart, UploadPartCopy, byte-identical), ls', async () => {
    await ok(['s3', 'mb', 's3://cli-data'])
    // 12 MB: above awscli's 8 MB multipart threshold → two parts
    const body = randomBytes(12 * 1024 * 1024)
    writeFileSync(join(root, 'big.bin'), body)
    await ok(['s3', 'cp', 'big.bin', 's3://cli-data/in/big.bin', '--no-progress'])
    const head = await admin.s3.send(new HeadObjectCommand({Bucket: 'cli-data', Key: 'in/big.bin'}))
    expect(head.ContentLength).toBe(body.length)
    expect(head.ETag).toMatch(/^"[0-9a-f]{32}-2"$/) // S3's multipart ETag, not s3rver's plain MD5

    await ok(['s3', 'cp', 's3://cli-data/in/big.bin', 'big.out', '--no-progress'])
    expect(readFileSync(join(root, 'big.out')).equals(body)).toBe(true)

    // S3 → S3 above the threshold: awscli copies with UploadPartCopy and x-amz-copy-source-range (8 MB + 4 MB)
    await ok(['s3', 'cp', 's3://cli-data/in/big.bin', 's3://cli-data/copy/big #1.bin', '--no-progress'])
    expect((await platform.s3.getObjectBytes('cli-data', 'copy/big #1.bin')).equals(body)).toBe(true)
    const copyHead = await admin.s3.send(new HeadObjectCommand({Bucket: 'cli-data', Key: 'copy/big #1.bin'}))
    expect(copyHead.ETag).toBe(head.ETag) // same parts → same md5-of-md5s
    expect(platform.s3.stats().UploadPartCopy).toBe(2)

    const [buckets, objects, missing] = await Promise.all([
      ok(['s3', 'ls']), ok(['s3', 'ls', 's3://cli-data', '--recursive']), aws(['s3', 'ls', 's3://no-such-bucket'])])
    expect(buckets.stdout).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d cli-data$/m)
    expect(objects.stdout).toMatch(new RegExp(`\\s${body.length} in/big\\.bin$`, 'm'))
    expect(objects.stdout).toMatch(new RegExp(`\\s${body.length} copy/big #1\\.bin$`, 'm'))
    expect(missing.code).not.toBe(0)
    expect(missing.stderr).toContain('NoSuchBucket')
  })

  it('s3 sync a folder up and back down; a second sync transfers nothing', async () => {
    const src = join(root, 'sync-src')
    mkdirSync(join(src, 'sub', 'deeper'), {recursive: true})
    const files: Record<string, Buffer> = {
      'a.csv': Buffer.from('id,name\n1,a\n'),
      'sub/b.json': Buffer.from('{"b":1}'),
      'sub/with space.txt': Buffer.from('spaces and ü'),
      'sub/deeper/c.bin': randomBytes(70_000),
    }
    // aws s3 sync re-uploads a file whose mtime is newer than the object's LastModified (whole seconds): date the
    // files a minute back so the second sync compares like on any real folder, not within the same second.
    const past = new Date(Date.now() - 60_000)
    for (const [name, bytes] of Object.entries(files)) {
      writeFileSync(join(src, name), bytes)
      utimesSync(join(src, name), past, past)
    }
    await admin.s3.send(new CreateBucketCommand({Bucket: 'cli-sync'}))
    const up = await ok(['s3', 'sync', 'sync-src', 's3://cli-sync/folder/', '--no-progress'])
    expect(up.stdout.match(/^upload: /gm)).toHaveLength(4)
    const listed = await admin.s3.send(new ListObjectsV2Command({Bucket: 'cli-sync'}))
    expect(listed.Contents?.map((o) => o.Key)).toEqual(['folder/a.csv', 'folder/sub/b.json', 'folder/sub/deeper/c.bin', 'folder/sub/with space.txt'])

    const again = await ok(['s3', 'sync', 'sync-src', 's3://cli-sync/folder/', '--no-progress'])
    expect(again.stdout).not.toMatch(/upload: /)

    const down = await ok(['s3', 'sync', 's3://cli-sync/folder/', 'sync-dst', '--no-progress'])
    expect(down.stdout.match(/^download: /gm)).toHaveLength(4)
    expect(tree(join(root, 'sync-dst'))).toEqual(tree(src))
    for (const [name, bytes] of Object.entries(files)) expect(statSync(join(root, 'sync-dst', name)).size).toBe(bytes.length)
  })

  /**
   * `aws cloudformation deploy` creates a change set, waits for it (first poll at once, then every 5 s), executes it
   * and then waits with DescribeStacks polls 30 s apart — a fixed awscli delay, so any deploy that executes takes
   * >= 30 s here as on AWS. The test runs the same calls with --no-execute-changeset + execute-change-set and polls
   * describe-stacks itself; the no-change path goes through the whole `deploy` command.
   */
  it('cloudformation deploy (change set), execute-change-set, describe-stacks; a no-change redeploy', async () => {
    writeFileSync(join(root, 'stack.yaml'), [
      "AWSTemplateFormatVersion: '2010-09-09'",
      'Parameters:',
      '  Suffix: {Type: String, Default: one}',
      'Resources:',
      '  Data:',
      '    Type: AWS::S3::Bucket',
      "    Properties: {BucketName: !Sub 'cli-stack-${Suffix}'}",
      'Outputs:',
      '  BucketName: {Value: !Ref Data}',
      '',
    ].join('\n'))
    const planned = await ok(['cloudformation', 'deploy', '--template-file', 'stack.yaml', '--stack-name', 'cli-stack', '--no-execute-changeset'])
    expect(planned.stdout).toContain('Changeset created successfully.')
    const changeSetArn = /describe-change-set --change-set-name (\S+)/.exec(planned.stdout)?.[1]
    expect(changeSetArn).toMatch(/^arn:aws:cloudformation:us-east-1:\d{12}:changeSet\/awscli-cloudformation-package-deploy-\d+\//)
    const [described, reviewed] = await Promise.all([
      ok(['cloudformation', 'describe-change-set', '--change-set-name', changeSetArn!]),
      ok(['cloudformation', 'describe-stacks', '--stack-name', 'cli-stack']),
    ])
    const changeSet = described.json()
    expect(changeSet).toMatchObject({StackName: 'cli-stack', Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE'})
    expect(changeSet.Changes).toEqual([{Type: 'Resource', ResourceChange: expect.objectContaining({Action: 'Add', LogicalResourceId: 'Data', ResourceType: 'AWS::S3::Bucket'})}])
    expect(reviewed.json().Stacks[0].StackStatus).toBe('REVIEW_IN_PROGRESS')

    await ok(['cloudformation', 'execute-change-set', '--change-set-name', changeSetArn!])
    let stack: any
    for (let i = 0; i < 20; i++) {
      stack = (await ok(['cloudformation', 'describe-stacks', '--stack-name', 'cli-stack'])).json().Stacks[0]
      if (!stack.StackStatus.endsWith('_IN_PROGRESS')) break
    }
    expect(stack).toMatchObject({
      StackName: 'cli-stack',
      StackStatus: 'CREATE_COMPLETE',
      Parameters: [{ParameterKey: 'Suffix', ParameterValue: 'one'}],
      Outputs: [{OutputKey: 'BucketName', OutputValue: 'cli-stack-one'}],
    })
    expect(await platform.s3.bucketExists('cli-stack-one')).toBe(true)

    // the change set comes back FAILED with AWS's "didn't contain changes" reason, which awscli recognizes
    // awscli names its change sets awscli-cloudformation-package-deploy-<unix seconds> and leaves the empty one
    // (FAILED) on the stack: a second deploy within the same second collides with it (AlreadyExistsException, as on AWS)
    const [same, gone] = await Promise.all([
      aws(['cloudformation', 'deploy', '--template-file', 'stack.yaml', '--stack-name', 'cli-stack']),
      aws(['cloudformation', 'describe-stacks', '--stack-name', 'no-such-stack']),
    ])
    await new Promise((r) => setTimeout(r, 1050 - (Date.now() % 1000)))
    const strict = await aws(['cloudformation', 'deploy', '--template-file', 'stack.yaml', '--stack-name', 'cli-stack', '--fail-on-empty-changeset'])
    expect(same.code, same.stderr).toBe(0)
    expect(same.stdout).toContain('No changes to deploy. Stack cli-stack is up to date')
    expect(strict.code, strict.stderr).toBe(255)
    expect(strict.stderr).toContain('No changes to deploy. Stack cli-stack is up to date')
    expect(gone.code).toBe(254)
    expect(gone.stderr).toMatch(/\(ValidationError\).*Stack with id no-such-stack does not exist/)
  })

  it('iam list-users and sts get-caller-identity, as root and as an IAM user; errors are AWS errors', async () => {
    await admin.iam.send(new CreateUserCommand({UserName: 'cli-alice', Path: '/cape/'}))
    const key = (await admin.iam.send(new CreateAccessKeyCommand({UserName: 'cli-alice'}))).AccessKey!
    const asAlice = {AWS_ACCESS_KEY_ID: key.AccessKeyId!, AWS_SECRET_ACCESS_KEY: key.SecretAccessKey!}
    const [list, rootCall, aliceCall] = await Promise.all([
      ok(['iam', 'list-users']), ok(['sts', 'get-caller-identity']), ok(['sts', 'get-caller-identity'], {env: asAlice})])
    const users = list.json()
    expect(users.Users).toEqual([expect.objectContaining({UserName: 'cli-alice', Path: '/cape/', Arn: `arn:aws:iam::${platform.accountId}:user/cape/cli-alice`})])

    const rootId = rootCall.json()
    expect(rootId).toEqual({UserId: platform.accountId, Account: platform.accountId, Arn: `arn:aws:iam::${platform.accountId}:root`})
    const aliceId = aliceCall.json()
    expect(aliceId.Arn).toBe(`arn:aws:iam::${platform.accountId}:user/cape/cli-alice`)

    // alice has no policy: IAM and S3 refuse her; awscli parses both error formats
    const [denied, s3Denied, wrongSecret, s3WrongSecret] = await Promise.all([
      aws(['iam', 'list-users'], {env: asAlice}),
      aws(['s3', 'ls'], {env: asAlice}),
      aws(['sts', 'get-caller-identity'], {env: {...asAlice, AWS_SECRET_ACCESS_KEY: 'x'.repeat(40)}}),
      aws(['s3api', 'list-buckets'], {env: {AWS_SECRET_ACCESS_KEY: 'x'.repeat(40)}}),
    ])
    expect(denied.code).toBe(254)
    expect(denied.stderr).toMatch(/\(AccessDenied\) when calling the ListUsers operation/)
    expect(s3Denied.stderr).toMatch(/\(AccessDenied\) when calling the ListBuckets operation/)
    expect(wrongSecret.stderr).toMatch(/\(SignatureDoesNotMatch\) when calling the GetCallerIdentity operation/)
    expect(s3WrongSecret.stderr).toMatch(/\(SignatureDoesNotMatch\) when calling the ListBuckets operation/)
  })

  it('s3 presign gives a URL that works without credentials until it expires', async () => {
    const url = (await ok(['s3', 'presign', 's3://cli-sync/folder/a.csv', '--expires-in', '60'])).stdout.trim()
    const res = await fetch(url)
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('id,name\n1,a\n')
    const anonymous = await fetch(`${platform.endpoint}/cli-sync/folder/a.csv`)
    expect(anonymous.status).toBe(403)
  })
})
