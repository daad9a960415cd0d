import {
  CreateChangeSetCommand, DeleteStackCommand, DescribeChangeSetCommand, DescribeStackEventsCommand, DescribeStackResourcesCommand,
  DescribeStacksCommand, ExecuteChangeSetCommand, type Capability, type Parameter,
} from '@aws-sdk/client-cloudformation'
import {strToU8, zipSync} from 'fflate'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {removeDir, startCfn, type CfnFixture} from './fixture.js'

const TEMPLATE = `
Parameters:
  Prefix: {Type: String, Default: capet}
  Greeting: {Type: String, Default: hello}
Resources:
  Raw:
    Type: AWS::S3::Bucket
    DependsOn: Perm
    Properties:
      BucketName: !Sub '\${Prefix}-raw'
      VersioningConfiguration: {Status: Enabled}
      BucketEncryption: {ServerSideEncryptionConfiguration: [{ServerSideEncryptionByDefault: {SSEAlgorithm: AES256}}]}
      PublicAccessBlockConfiguration: {BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true}
      NotificationConfiguration:
        LambdaConfigurations:
          - Event: s3:ObjectCreated:*
            Function: !GetAtt Fn.Arn
            Filter: {S3Key: {Rules: [{Name: suffix, Value: .csv}, {Name: prefix, Value: incoming/}]}}
  RawPolicy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref Raw
      PolicyDocument:
        Version: 2012-10-17
        Statement: [{Effect: Deny, Principal: '*', Action: 's3:*', Resource: [!GetAtt Raw.Arn, !Sub '\${Raw.Arn}/*'], Condition: {Bool: {'aws:SecureTransport': 'false'}}}]
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Sub '\${Prefix}-transform'
      AssumeRolePolicyDocument:
        Version: 2012-10-17
        Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}]
      Policies:
        - PolicyName: read-raw
          PolicyDocument: {Version: 2012-10-17, Statement: [{Effect: Allow, Action: s3:GetObject, Resource: !Sub 'arn:aws:s3:::\${Prefix}-raw/*'}]}
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: !Sub '\${Prefix}-transform'
      Code: {S3Bucket: cape-assets, S3Key: transform.zip}
      Role: !GetAtt Role.Arn
      Handler: index.handler
      Runtime: nodejs20.x
      Timeout: 30
      MemorySize: 256
      Environment: {Variables: {GREETING: !Ref Greeting}}
      VpcConfig: {SubnetIds: [!Ref Subnet], SecurityGroupIds: [!GetAtt Vpc.DefaultSecurityGroup]}
  Perm:
    Type: AWS::Lambda::Permission
    Properties: {FunctionName: !Ref Fn, Action: lambda:InvokeFunction, Principal: s3.amazonaws.com, SourceArn: !Sub 'arn:aws:s3:::\${Prefix}-raw'}
  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}
  Subnet: {Type: AWS::EC2::Subnet, Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.1.0/24}}
  ReadPolicy:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument: {Version: 2012-10-17, Statement: [{Effect: Allow, Action: s3:ListBucket, Resource: !GetAtt Raw.Arn}]}
  Analysts:
    Type: AWS::IAM::Group
    Properties: {GroupName: !Sub '\${Prefix}-analysts', ManagedPolicyArns: [!Ref ReadPolicy]}
  Alice:
    Type: AWS::IAM::User
    Properties:
      UserName: !Sub '\${Prefix}-alice'
      Path: /cape/
      Groups: [!Ref Analysts]
      Policies: [{PolicyName: own, PolicyDocument: {Version: 2012-10-17, Statement: [{Effect: Allow, Action: s3:PutObject, Resource: '*'}]}}]
  AliceKey:
    Type: AWS::IAM::AccessKey
    Properties: {UserName: !Ref Alice}
  Bob: {Type: AWS::IAM::User}
  BobInGroup:
    Type: AWS::IAM::UserToGroupAddition
    Properties: {GroupName: !Ref Analysts, Users: [!Ref Bob]}
  BobPolicy:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: bob-extra
      Users: [!Ref Bob]
      PolicyDocument: {Version: 2012-10-17, Statement: [{Effect: Allow, Action: s3:GetObject, Resource: '*'}]}
  Tagged:
    Type: AWS::EC2::SecurityGroup
    Properties: {GroupDescription: uses the secret, VpcId: !Ref Vpc, Tags: [{Key: secret, Value: !GetAtt AliceKey.SecretAccessKey}]}
Outputs:
  KeyId: {Value: !Ref AliceKey}
  Secret: {Value: !GetAtt AliceKey.SecretAccessKey}
  FnArn: {Value: !GetAtt Fn.Arn}
  RoleArn: {Value: !GetAtt Role.Arn}
  RoleId: {Value: !GetAtt Role.RoleId}
  AliceArn: {Value: !GetAtt Alice.Arn}
  GroupArn: {Value: !GetAtt Analysts.Arn}
  RawDomain: {Value: !GetAtt Raw.RegionalDomainName}
  Bob: {Value: !Ref Bob}
`

const CAPS: Capability[] = ['CAPABILITY_NAMED_IAM']

describe('resource providers on the real platform services (S3, IAM, Lambda)', () => {
  let f: CfnFixture
  const outputs: Record<string, string> = {}

  async function run(body: string, type: 'CREATE' | 'UPDATE', parameters?: Parameter[]) {
    const cs = await f.cfn.send(new CreateChangeSetCommand({
      StackName: 'lake', ChangeSetName: `cs${Date.now()}`, ChangeSetType: type, TemplateBody: body, Capabilities: CAPS, Parameters: parameters,
    }))
    await f.idle()
    const d = await f.cfn.send(new DescribeChangeSetCommand({ChangeSetName: cs.Id}))
    expect(d.Status, d.StatusReason).toBe('CREATE_COMPLETE')
    await f.cfn.send(new ExecuteChangeSetCommand({ChangeSetName: cs.Id}))
    await f.idle()
    const s = (await f.cfn.send(new DescribeStacksCommand({StackName: 'lake'}))).Stacks![0]
    for (const o of s.Outputs ?? []) outputs[o.OutputKey!] = o.OutputValue!
    return {changeSet: d, stack: s}
  }

  beforeAll(async () => {
    f = await startCfn()
    await f.platform.s3.createBucket('cape-assets')
    const zip = zipSync({'index.js': strToU8('exports.handler = async (event) => ({greeting: process.env.GREETING, event})')})
    await f.platform.s3.putObjectBytes('cape-assets', 'transform.zip', Buffer.from(zip))
  })
  afterAll(async () => {
    await f.close()
    removeDir(f.dataDir)
  })

  it('creates buckets, IAM principals, a function and its wiring', async () => {
    const {stack} = await run(TEMPLATE, 'CREATE')
    expect(stack.StackStatus, stack.StackStatusReason).toBe('CREATE_COMPLETE')
    const {iam, s3, lambda, accountId} = f.platform

    // S3
    expect(await s3.bucketExists('capet-raw')).toBe(true)
    expect(outputs.RawDomain).toBe('capet-raw.s3.us-east-1.amazonaws.com')
    expect((await s3.getNotifications('capet-raw')).lambda).toEqual([
      expect.objectContaining({functionArn: outputs.FnArn, events: ['s3:ObjectCreated:*'], prefix: 'incoming/', suffix: '.csv'}),
    ])
    expect(await s3.getBucketSetting('capet-raw', 'versioning')).toMatchObject({Status: 'Enabled'})
    expect(await s3.getBucketSetting('capet-raw', 'publicAccessBlock')).toBeTruthy()
    expect((await s3.getBucketPolicy('capet-raw'))?.Statement).toEqual([expect.objectContaining({Effect: 'Deny', Action: 's3:*'})])

    // IAM
    expect(outputs.RoleArn).toBe(`arn:aws:iam::${accountId}:role/capet-transform`)
    expect(outputs.RoleId).toMatch(/^AROA/)
    expect(iam.getRole('capet-transform').inlinePolicies['read-raw']).toContain('s3:GetObject')
    const alice = iam.getUser('capet-alice')
    expect(outputs.AliceArn).toBe(`arn:aws:iam::${accountId}:user/cape/capet-alice`)
    expect(alice.groups).toEqual(['capet-analysts'])
    expect(Object.keys(alice.inlinePolicies)).toEqual(['own'])
    const group = iam.getGroup('capet-analysts')
    expect(group.attachedPolicies).toEqual([expect.stringMatching(new RegExp(`^arn:aws:iam::${accountId}:policy/lake-ReadPolicy-`))])
    expect(outputs.Bob).toMatch(/^lake-Bob-[A-Z0-9]{12}$/)
    expect(iam.getUser(outputs.Bob).groups).toEqual(['capet-analysts'])
    expect(Object.keys(iam.getUser(outputs.Bob).inlinePolicies)).toEqual(['bob-extra'])
    const key = iam.resolveAccessKey(outputs.KeyId)
    expect(key?.principal.userName).toBe('capet-alice')
    expect(outputs.Secret).toBe(key?.secretAccessKey)

    // Lambda: registered with the template's settings, and it runs
    const fn = lambda.getFunction('capet-transform')
    expect(fn).toMatchObject({arn: outputs.FnArn, roleArn: outputs.RoleArn, handler: 'index.handler', runtime: 'nodejs20.x',
      timeoutSeconds: 30, memoryMb: 256, environment: {GREETING: 'hello'}})
    const result = await lambda.invoke('capet-transform', {ping: 1}, {sync: true})
    expect(result).toMatchObject({status: 'success', payload: {greeting: 'hello', event: {ping: 1}}})
  })

  it('never writes the access key secret into events', async () => {
    const events = (await f.cfn.send(new DescribeStackEventsCommand({StackName: 'lake'}))).StackEvents ?? []
    expect(outputs.Secret.length).toBeGreaterThan(20)
    expect(JSON.stringify(events)).not.toContain(outputs.Secret)
    const tagged = events.find((e) => e.LogicalResourceId === 'Tagged' && e.ResourceProperties)
    expect(tagged?.ResourceProperties).toContain('"Value":"****"')
  })

  it('updates in place (function environment, group membership) and replaces a renamed bucket', async () => {
    const oldKey = outputs.KeyId
    const body = TEMPLATE
      .replace("BucketName: !Sub '${Prefix}-raw'", "BucketName: !Sub '${Prefix}-raw2'")
      .replace("SourceArn: !Sub 'arn:aws:s3:::${Prefix}-raw'", "SourceArn: !Sub 'arn:aws:s3:::${Prefix}-raw2'")
      .replace("Resource: !Sub 'arn:aws:s3:::${Prefix}-raw/*'", "Resource: !Sub 'arn:aws:s3:::${Prefix}-raw2/*'")
      .replace('      Groups: [!Ref Analysts]\n', '')
    const {changeSet, stack} = await run(body, 'UPDATE', [{ParameterKey: 'Greeting', ParameterValue: 'bonjour'}])
    const changes = Object.fromEntries((changeSet.Changes ?? []).map((c) => [c.ResourceChange!.LogicalResourceId, c.ResourceChange!]))
    expect(changes.Raw).toMatchObject({Action: 'Modify', Replacement: 'True'})
    expect(changes.Fn).toMatchObject({Action: 'Modify', Replacement: 'False'})
    expect(changes.Alice).toMatchObject({Action: 'Modify', Replacement: 'False'})
    expect(changes.AliceKey).toBeUndefined()
    expect(stack.StackStatus, stack.StackStatusReason).toBe('UPDATE_COMPLETE')
    const {s3, lambda, iam} = f.platform
    expect(await s3.bucketExists('capet-raw2')).toBe(true)
    expect(await s3.bucketExists('capet-raw')).toBe(false)
    expect((await s3.getNotifications('capet-raw2')).lambda).toHaveLength(1)
    expect(lambda.getFunction('capet-transform')?.environment).toEqual({GREETING: 'bonjour'})
    expect(iam.getUser('capet-alice').groups).toEqual([])
    expect(outputs.KeyId).toBe(oldKey)
    expect(outputs.Secret).toBe(iam.resolveAccessKey(oldKey)?.secretAccessKey) // kept across an unrelated update
  })

  it('a bucket that still holds objects fails the delete (DELETE_FAILED), like AWS; emptied, the delete completes', async () => {
    await f.platform.s3.putObjectBytes('capet-raw2', 'notes.txt', Buffer.from('keep me'))
    await f.cfn.send(new DeleteStackCommand({StackName: 'lake'}))
    await f.idle()
    const s = (await f.cfn.send(new DescribeStacksCommand({StackName: 'lake'}))).Stacks![0]
    expect(s.StackStatus).toBe('DELETE_FAILED')
    expect(s.StackStatusReason).toContain('[Raw]')
    const raw = (await f.cfn.send(new DescribeStackResourcesCommand({StackName: 'lake', LogicalResourceId: 'Raw'}))).StackResources![0]
    expect(raw.ResourceStatus).toBe('DELETE_FAILED')
    expect(raw.ResourceStatusReason).toMatch(/not empty/i)

    await f.platform.s3.deleteBucket('capet-raw2', {force: true})
    await f.cfn.send(new DeleteStackCommand({StackName: 'lake'}))
    await f.idle()
    expect((await f.cfn.send(new DescribeStacksCommand({StackName: s.StackId}))).Stacks![0].StackStatus).toBe('DELETE_COMPLETE')
    const {iam, lambda} = f.platform
    expect(iam.findUser('capet-alice')).toBeUndefined()
    expect(iam.findUser(outputs.Bob)).toBeUndefined()
    expect(() => iam.getGroup('capet-analysts')).toThrow(/cannot be found/)
    expect(() => iam.getRole('capet-transform')).toThrow(/cannot be found/)
    expect(iam.resolveAccessKey(outputs.KeyId)).toBeUndefined()
    expect(lambda.getFunction('capet-transform')).toBeUndefined()
    expect(iam.listPolicies({scope: 'Local'})).toEqual([])
  })
})
