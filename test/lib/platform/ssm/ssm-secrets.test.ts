import {CreateAccessKeyCommand, CreateUserCommand, PutUserPolicyCommand} from '@aws-sdk/client-iam'
import {
  CreateSecretCommand, DeleteSecretCommand, DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager'
import {DeleteParameterCommand, GetParameterCommand, GetParametersByPathCommand, PutParameterCommand, SSMClient} from '@aws-sdk/client-ssm'
import {execFile} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {bootPlatform} from '../../../../src/lib/local/boot.js'
import type {Platform} from '../../../../src/lib/platform/server.js'
import {iamClient, policy, type Creds} from '../iam/fixture.js'

const AWS = '/usr/bin/aws'

describe('SSM Parameter Store and Secrets Manager on the local platform (SDK v3 and Debian awscli)', () => {
  let p: Platform
  let root: string
  let reader: Creds
  const ssm = (c: Creds = p.adminCredentials) => new SSMClient({endpoint: p.endpoint, region: p.region, credentials: {...c}, maxAttempts: 1})
  const sm = (c: Creds = p.adminCredentials) => new SecretsManagerClient({endpoint: p.endpoint, region: p.region, credentials: {...c}, maxAttempts: 1})
  const aws = (args: string[]) => new Promise<{code: number; stdout: string; stderr: string}>((resolve) => {
    const home = join(root, 'home')
    mkdirSync(home, {recursive: true})
    execFile(AWS, ['--endpoint-url', p.endpoint, '--output', 'json', '--no-cli-pager', ...args], {
      env: {
        PATH: '/usr/bin:/bin', HOME: home, AWS_CONFIG_FILE: join(home, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
        AWS_ACCESS_KEY_ID: p.adminCredentials.accessKeyId, AWS_SECRET_ACCESS_KEY: p.adminCredentials.secretAccessKey,
        AWS_DEFAULT_REGION: p.region, AWS_MAX_ATTEMPTS: '1', AWS_PAGER: '',
      },
      timeout: 60_000,
    }, (error, stdout, stderr) => resolve({code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr}))
  })

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'cape-ssm-'))
    p = await bootPlatform({dataDir: join(root, 'data'), port: 0})
    const iam = iamClient(p)
    await iam.send(new CreateUserCommand({UserName: 'feeder'}))
    await iam.send(new PutUserPolicyCommand({
      UserName: 'feeder',
      PolicyName: 'feeds',
      PolicyDocument: policy([
        {Effect: 'Allow', Action: ['ssm:GetParameter', 'ssm:PutParameter'], Resource: `arn:aws:ssm:${p.region}:${p.accountId}:parameter/cape/dev/*`},
        {Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: `arn:aws:secretsmanager:${p.region}:${p.accountId}:secret:cape/shop-*`},
      ]),
    }))
    const key = await iam.send(new CreateAccessKeyCommand({UserName: 'feeder'}))
    reader = {accessKeyId: key.AccessKey!.AccessKeyId!, secretAccessKey: key.AccessKey!.SecretAccessKey!}
  })

  afterAll(async () => {
    await p?.close()
    if (root) rmSync(root, {recursive: true, force: true})
  })

  it('puts, overwrites, gets, lists by path and deletes parameters; errors shaped as AWS sends them', async () => {
    const c = ssm()
    expect(await c.send(new PutParameterCommand({Name: '/cape/dev/feeds/shop/customers', Value: 'v1', Type: 'String'}))).toMatchObject({Version: 1})
    await expect(c.send(new PutParameterCommand({Name: '/cape/dev/feeds/shop/customers', Value: 'v2', Type: 'String'}))).rejects.toMatchObject({name: 'ParameterAlreadyExists'})
    expect(await c.send(new PutParameterCommand({Name: '/cape/dev/feeds/shop/customers', Value: 'v2', Overwrite: true}))).toMatchObject({Version: 2})
    await c.send(new PutParameterCommand({Name: '/cape/dev/feeds/shop/orders', Value: 'o1', Type: 'String'}))
    await c.send(new PutParameterCommand({Name: '/cape/dev/feeds/shop/deep/x', Value: 'x', Type: 'String'}))
    await c.send(new PutParameterCommand({Name: '/cape/dev/token', Value: 's3cr3t', Type: 'SecureString'}))

    const got = await c.send(new GetParameterCommand({Name: '/cape/dev/feeds/shop/customers'}))
    expect(got.Parameter).toMatchObject({Name: '/cape/dev/feeds/shop/customers', Value: 'v2', Version: 2, Type: 'String', ARN: `arn:aws:ssm:${p.region}:${p.accountId}:parameter/cape/dev/feeds/shop/customers`})
    expect(got.Parameter?.LastModifiedDate).toBeInstanceOf(Date)
    expect((await c.send(new GetParameterCommand({Name: '/cape/dev/token'}))).Parameter?.Value).not.toContain('s3cr3t')
    expect((await c.send(new GetParameterCommand({Name: '/cape/dev/token', WithDecryption: true}))).Parameter?.Value).toBe('s3cr3t')

    const direct = await c.send(new GetParametersByPathCommand({Path: '/cape/dev/feeds/shop'}))
    expect(direct.Parameters?.map((x) => x.Name)).toEqual(['/cape/dev/feeds/shop/customers', '/cape/dev/feeds/shop/orders'])
    const all = await c.send(new GetParametersByPathCommand({Path: '/cape/dev', Recursive: true, MaxResults: 2}))
    expect(all.Parameters).toHaveLength(2)
    const rest = await c.send(new GetParametersByPathCommand({Path: '/cape/dev', Recursive: true, NextToken: all.NextToken}))
    expect([...all.Parameters!, ...rest.Parameters!].map((x) => x.Name)).toHaveLength(4)
    expect(rest.NextToken).toBeUndefined()

    await c.send(new DeleteParameterCommand({Name: '/cape/dev/feeds/shop/deep/x'}))
    await expect(c.send(new GetParameterCommand({Name: '/cape/dev/feeds/shop/deep/x'}))).rejects.toMatchObject({name: 'ParameterNotFound', $metadata: {httpStatusCode: 400}})
    await expect(c.send(new DeleteParameterCommand({Name: '/cape/dev/feeds/shop/deep/x'}))).rejects.toMatchObject({name: 'ParameterNotFound'})

    // persisted (0600: SecureStrings are in it) and reloaded by a new platform on the same data dir
    const file = join(p.dataDir, 'ssm', 'parameters.json')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(JSON.parse(readFileSync(file, 'utf8')).parameters['/cape/dev/feeds/shop/customers'].value).toBe('v2')
  })

  it('creates, reads, rotates, describes and deletes secrets; ARN with a 6-character suffix', async () => {
    const c = sm()
    const created = await c.send(new CreateSecretCommand({Name: 'cape/shop', SecretString: 'pw-1'}))
    expect(created.ARN).toMatch(new RegExp(`^arn:aws:secretsmanager:${p.region}:${p.accountId}:secret:cape/shop-[A-Za-z0-9]{6}$`))
    await expect(c.send(new CreateSecretCommand({Name: 'cape/shop', SecretString: 'x'}))).rejects.toMatchObject({name: 'ResourceExistsException'})
    expect(await c.send(new GetSecretValueCommand({SecretId: 'cape/shop'}))).toMatchObject({SecretString: 'pw-1', Name: 'cape/shop', ARN: created.ARN, VersionStages: ['AWSCURRENT']})
    const put = await c.send(new PutSecretValueCommand({SecretId: created.ARN, SecretString: 'pw-2'}))
    expect((await c.send(new GetSecretValueCommand({SecretId: created.ARN}))).SecretString).toBe('pw-2')
    expect((await c.send(new GetSecretValueCommand({SecretId: 'cape/shop', VersionStage: 'AWSPREVIOUS'}))).SecretString).toBe('pw-1')
    const described = await c.send(new DescribeSecretCommand({SecretId: 'cape/shop'}))
    expect(described.VersionIdsToStages?.[put.VersionId!]).toEqual(['AWSCURRENT'])
    await expect(c.send(new GetSecretValueCommand({SecretId: 'nope'}))).rejects.toMatchObject({name: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret."})

    await c.send(new CreateSecretCommand({Name: 'tmp', SecretString: 't'}))
    await c.send(new DeleteSecretCommand({SecretId: 'tmp', RecoveryWindowInDays: 7}))
    await expect(c.send(new GetSecretValueCommand({SecretId: 'tmp'}))).rejects.toMatchObject({name: 'InvalidRequestException'})
    await c.send(new DeleteSecretCommand({SecretId: 'tmp', ForceDeleteWithoutRecovery: true}))
    await expect(c.send(new DescribeSecretCommand({SecretId: 'tmp'}))).rejects.toMatchObject({name: 'ResourceNotFoundException'})
    expect(statSync(join(p.dataDir, 'secrets', 'secrets.json')).mode & 0o777).toBe(0o600)
  })

  it('enforces IAM on the parameter and secret ARNs', async () => {
    await ssm().send(new PutParameterCommand({Name: '/cape/prod/x', Value: 'p', Type: 'String'}))
    await ssm(reader).send(new PutParameterCommand({Name: '/cape/dev/mine', Value: 'm', Type: 'String'}))
    expect((await ssm(reader).send(new GetParameterCommand({Name: '/cape/dev/mine'}))).Parameter?.Value).toBe('m')
    await expect(ssm(reader).send(new GetParameterCommand({Name: '/cape/prod/x'}))).rejects.toMatchObject({name: 'AccessDeniedException'})
    await expect(ssm(reader).send(new DeleteParameterCommand({Name: '/cape/dev/mine'}))).rejects.toMatchObject({name: 'AccessDeniedException'})
    await expect(ssm(reader).send(new GetParametersByPathCommand({Path: '/cape/dev'}))).rejects.toMatchObject({name: 'AccessDeniedException'})

    await sm().send(new CreateSecretCommand({Name: 'cape/shop2', SecretString: 'other'}))
    expect((await sm(reader).send(new GetSecretValueCommand({SecretId: 'cape/shop'}))).SecretString).toBe('pw-2')
    await expect(sm(reader).send(new GetSecretValueCommand({SecretId: 'cape/shop2'}))).rejects.toMatchObject({name: 'AccessDeniedException'})
    // a secret that does not exist: denied, not "not found" (nothing learnt about what exists)
    await expect(sm(reader).send(new GetSecretValueCommand({SecretId: 'other/none'}))).rejects.toMatchObject({name: 'AccessDeniedException'})
    await expect(sm(reader).send(new PutSecretValueCommand({SecretId: 'cape/shop', SecretString: 'x'}))).rejects.toMatchObject({name: 'AccessDeniedException'})
  })

  it.skipIf(!existsSync(AWS))('awscli: ssm put-parameter / get-parameter / get-parameters-by-path, secretsmanager create-secret / get-secret-value', async () => {
    const put = await aws(['ssm', 'put-parameter', '--name', '/cli/a', '--value', 'one', '--type', 'String'])
    expect(put.code, put.stderr).toBe(0)
    expect(JSON.parse(put.stdout)).toMatchObject({Version: 1})
    const again = await aws(['ssm', 'put-parameter', '--name', '/cli/a', '--value', 'two', '--type', 'String'])
    expect(again.code).toBe(254)
    expect(again.stderr).toContain('ParameterAlreadyExists')
    expect((await aws(['ssm', 'put-parameter', '--name', '/cli/a', '--value', 'two', '--overwrite'])).code).toBe(0)
    const got = await aws(['ssm', 'get-parameter', '--name', '/cli/a'])
    expect(JSON.parse(got.stdout).Parameter).toMatchObject({Name: '/cli/a', Value: 'two', Version: 2})
    const byPath = await aws(['ssm', 'get-parameters-by-path', '--path', '/cli'])
    expect(JSON.parse(byPath.stdout).Parameters.map((x: {Name: string}) => x.Name)).toEqual(['/cli/a'])
    const missing = await aws(['ssm', 'get-parameter', '--name', '/cli/none'])
    expect(missing.code).toBe(254)
    expect(missing.stderr).toContain('ParameterNotFound')

    const created = await aws(['secretsmanager', 'create-secret', '--name', 'cli/db', '--secret-string', 'hunter2'])
    expect(created.code, created.stderr).toBe(0)
    const value = await aws(['secretsmanager', 'get-secret-value', '--secret-id', 'cli/db'])
    expect(JSON.parse(value.stdout)).toMatchObject({Name: 'cli/db', SecretString: 'hunter2', ARN: JSON.parse(created.stdout).ARN})
    const none = await aws(['secretsmanager', 'get-secret-value', '--secret-id', 'cli/none'])
    expect(none.code).toBe(254)
    expect(none.stderr).toContain('ResourceNotFoundException')
  })
})
