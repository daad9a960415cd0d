import {
  CreateChangeSetCommand, CreateStackCommand, DeleteChangeSetCommand, DeleteStackCommand, DescribeChangeSetCommand,
  DescribeStackEventsCommand, DescribeStackResourcesCommand, DescribeStacksCommand, ExecuteChangeSetCommand, GetTemplateCommand,
  ListChangeSetsCommand, ListExportsCommand, ListStackResourcesCommand, UpdateStackCommand, ValidateTemplateCommand,
  waitUntilChangeSetCreateComplete, type CloudFormationClient, type Parameter, type StackEvent,
} from '@aws-sdk/client-cloudformation'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {removeDir, startCfn, type CfnFixture} from './fixture.js'

const NETWORK = `
AWSTemplateFormatVersion: '2010-09-09'
Description: cape network (test)
Parameters:
  Env: {Type: String, AllowedValues: [dev, prod], Default: dev, Description: environment}
  VpcCidr: {Type: String, Default: 10.0.0.0/16}
  Token: {Type: String, NoEcho: true, Default: s3cr3t}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties: {CidrBlock: !Ref VpcCidr, Tags: [{Key: Name, Value: !Sub '\${AWS::StackName}-vpc'}]}
  Subnet:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: !Ref Vpc, CidrBlock: !Select [0, [10.0.1.0/24]], AvailabilityZone: !Select [1, !GetAZs '']}
  Sg:
    Type: AWS::EC2::SecurityGroup
    Properties: {GroupDescription: lambdas, VpcId: !Ref Vpc}
  ProdOnly:
    Type: AWS::EC2::InternetGateway
    Condition: IsProd
Outputs:
  VpcId: {Value: !Ref Vpc, Export: {Name: !Sub '\${AWS::StackName}-VpcId'}}
  VpcCidr: {Value: !GetAtt Vpc.CidrBlock}
  SubnetAz: {Value: !GetAtt Subnet.AvailabilityZone, Description: the zone}
  Joined: {Value: !Join [',', [!Ref Subnet, !GetAtt Sg.GroupId]]}
  Gateway: {Value: !Ref ProdOnly, Condition: IsProd}
`

const params = (p: Record<string, string>): Parameter[] => Object.entries(p).map(([ParameterKey, ParameterValue]) => ({ParameterKey, ParameterValue}))

async function stack(cfn: CloudFormationClient, name: string) {
  const out = await cfn.send(new DescribeStacksCommand({StackName: name}))
  return out.Stacks![0]
}

async function events(cfn: CloudFormationClient, name: string): Promise<StackEvent[]> {
  return (await cfn.send(new DescribeStackEventsCommand({StackName: name}))).StackEvents ?? []
}

/** Change set → wait (real SDK waiter) → execute → wait for the stack to be at rest. */
async function deploy(f: CfnFixture, name: string, body: string, options: {type?: 'CREATE' | 'UPDATE'; parameters?: Parameter[]; capabilities?: string[]} = {}) {
  const cs = await f.cfn.send(new CreateChangeSetCommand({
    StackName: name, ChangeSetName: `cs-${Date.now()}`, ChangeSetType: options.type ?? 'CREATE', TemplateBody: body,
    Parameters: options.parameters, Capabilities: options.capabilities as never,
  }))
  await waitUntilChangeSetCreateComplete({client: f.cfn, maxWaitTime: 20, minDelay: 1, maxDelay: 1}, {ChangeSetName: cs.Id})
  const described = await f.cfn.send(new DescribeChangeSetCommand({ChangeSetName: cs.Id}))
  await f.cfn.send(new ExecuteChangeSetCommand({ChangeSetName: cs.Id}))
  await f.idle()
  return described
}

describe('local CloudFormation through the real SDK', () => {
  let f: CfnFixture
  beforeAll(async () => {
    f = await startCfn()
  })
  afterAll(async () => {
    await f.close()
    removeDir(f.dataDir)
  })

  it('ValidateTemplate describes parameters, description and capabilities', async () => {
    const v = await f.cfn.send(new ValidateTemplateCommand({TemplateBody: NETWORK}))
    expect(v.Description).toBe('cape network (test)')
    expect(v.Parameters).toEqual(expect.arrayContaining([
      {ParameterKey: 'Env', DefaultValue: 'dev', NoEcho: false, Description: 'environment'},
      {ParameterKey: 'Token', DefaultValue: 's3cr3t', NoEcho: true},
    ]))
    expect(v.Capabilities).toEqual([])
    const iam = await f.cfn.send(new ValidateTemplateCommand({TemplateBody: 'Resources: {U: {Type: AWS::IAM::User, Properties: {UserName: bob}}}'}))
    expect(iam.Capabilities).toEqual(['CAPABILITY_NAMED_IAM'])
    expect(iam.CapabilitiesReason).toBe('The following resource(s) require capabilities: [AWS::IAM::User]')
    await expect(f.cfn.send(new ValidateTemplateCommand({TemplateBody: 'Resources: {}'})))
      .rejects.toMatchObject({name: 'ValidationError', message: 'Template format error: At least one Resources member must be defined.'})
  })

  it('creates a stack through a change set: REVIEW_IN_PROGRESS, changes, events, resources, outputs', async () => {
    const cs = await f.cfn.send(new CreateChangeSetCommand({StackName: 'net', ChangeSetName: 'first', ChangeSetType: 'CREATE', TemplateBody: NETWORK}))
    expect(cs.Id).toMatch(/^arn:aws:cloudformation:us-east-1:\d{12}:changeSet\/first\//)
    expect(cs.StackId).toMatch(/^arn:aws:cloudformation:us-east-1:\d{12}:stack\/net\//)
    expect((await stack(f.cfn, 'net')).StackStatus).toBe('REVIEW_IN_PROGRESS')
    await waitUntilChangeSetCreateComplete({client: f.cfn, maxWaitTime: 20, minDelay: 1, maxDelay: 1}, {ChangeSetName: 'first', StackName: 'net'})
    const d = await f.cfn.send(new DescribeChangeSetCommand({ChangeSetName: 'first', StackName: 'net'}))
    expect(d.Status).toBe('CREATE_COMPLETE')
    expect(d.ExecutionStatus).toBe('AVAILABLE')
    expect(d.Changes?.map((c) => [c.ResourceChange?.Action, c.ResourceChange?.LogicalResourceId])).toEqual([
      ['Add', 'Vpc'], ['Add', 'Subnet'], ['Add', 'Sg'],
    ])
    expect(d.Parameters?.find((p) => p.ParameterKey === 'Token')?.ParameterValue).toBe('****')
    expect((await f.cfn.send(new ListChangeSetsCommand({StackName: 'net'}))).Summaries?.map((s) => s.ChangeSetName)).toEqual(['first'])

    await f.cfn.send(new ExecuteChangeSetCommand({ChangeSetName: 'first', StackName: 'net'}))
    await f.idle()
    const s = await stack(f.cfn, 'net')
    expect(s.StackStatus).toBe('CREATE_COMPLETE')
    expect(s.Description).toBe('cape network (test)')
    expect(s.Parameters).toEqual(expect.arrayContaining([{ParameterKey: 'Token', ParameterValue: '****'}, {ParameterKey: 'Env', ParameterValue: 'dev'}]))

    const resources = (await f.cfn.send(new DescribeStackResourcesCommand({StackName: 'net'}))).StackResources ?? []
    const phys = Object.fromEntries(resources.map((r) => [r.LogicalResourceId, r.PhysicalResourceId]))
    expect(phys.Vpc).toMatch(/^vpc-0[0-9a-f]{16}$/)
    expect(phys.Subnet).toMatch(/^subnet-0[0-9a-f]{16}$/)
    expect(resources.every((r) => r.ResourceStatus === 'CREATE_COMPLETE')).toBe(true)
    expect(phys.ProdOnly).toBeUndefined()

    const outputs = Object.fromEntries((s.Outputs ?? []).map((o) => [o.OutputKey, o]))
    expect(outputs.VpcId).toMatchObject({OutputValue: phys.Vpc, ExportName: 'net-VpcId'})
    expect(outputs.VpcCidr.OutputValue).toBe('10.0.0.0/16')
    expect(outputs.SubnetAz).toMatchObject({OutputValue: 'us-east-1b', Description: 'the zone'})
    expect(outputs.Joined.OutputValue).toMatch(new RegExp(`^${phys.Subnet},sg-0[0-9a-f]{16}$`))
    expect(outputs.Gateway).toBeUndefined()
    expect((await f.cfn.send(new ListExportsCommand({}))).Exports).toEqual([expect.objectContaining({Name: 'net-VpcId', Value: phys.Vpc})])

    // events: newest first; the VPC completes before the subnet (which references it) starts
    const ev = await events(f.cfn, 'net')
    expect(ev[0]).toMatchObject({LogicalResourceId: 'net', ResourceStatus: 'CREATE_COMPLETE', ResourceType: 'AWS::CloudFormation::Stack'})
    expect(ev.at(-1)).toMatchObject({LogicalResourceId: 'net', ResourceStatus: 'REVIEW_IN_PROGRESS'})
    const chronological = [...ev].reverse().map((e) => `${e.LogicalResourceId}:${e.ResourceStatus}`)
    expect(chronological.indexOf('Vpc:CREATE_COMPLETE')).toBeLessThan(chronological.indexOf('Subnet:CREATE_IN_PROGRESS'))
    expect(chronological.indexOf('Subnet:CREATE_COMPLETE')).toBeLessThan(chronological.indexOf('net:CREATE_COMPLETE'))

    const template = await f.cfn.send(new GetTemplateCommand({StackName: 'net'}))
    expect(template.TemplateBody).toBe(NETWORK)
  })

  it('updates with Add, Modify (replacement and in-place) and Remove', async () => {
    const before = Object.fromEntries(((await f.cfn.send(new ListStackResourcesCommand({StackName: 'net'}))).StackResourceSummaries ?? [])
      .map((r) => [r.LogicalResourceId, r.PhysicalResourceId]))
    const updated = NETWORK
      .replace(/\n {2}Sg:\n.*\n.*\n/, '\n') // remove Sg
      .replace("Joined: {Value: !Join [',', [!Ref Subnet, !GetAtt Sg.GroupId]]}", 'Rt: {Value: !Ref Rt}')
      .replace('  ProdOnly:', '  Rt:\n    Type: AWS::EC2::RouteTable\n    Properties: {VpcId: !Ref Vpc}\n  ProdOnly:')
    const d = await deploy(f, 'net', updated, {type: 'UPDATE', parameters: params({VpcCidr: '10.9.0.0/16'})})
    const changes = Object.fromEntries((d.Changes ?? []).map((c) => [c.ResourceChange!.LogicalResourceId, c.ResourceChange!]))
    expect(changes.Vpc).toMatchObject({Action: 'Modify', Replacement: 'True', Scope: ['Properties'], PhysicalResourceId: before.Vpc})
    expect(changes.Vpc.Details).toEqual([{
      Target: {Attribute: 'Properties', Name: 'CidrBlock', RequiresRecreation: 'Always'}, Evaluation: 'Static', ChangeSource: 'ParameterReference',
    }])
    // the subnet's VpcId changes because the VPC is replaced: a dynamic, conditional replacement
    expect(changes.Subnet).toMatchObject({Action: 'Modify', Replacement: 'Conditional'})
    expect(changes.Subnet.Details).toEqual([expect.objectContaining({
      Target: {Attribute: 'Properties', Name: 'VpcId', RequiresRecreation: 'Conditionally'}, Evaluation: 'Dynamic', ChangeSource: 'ResourceReference',
    })])
    expect(changes.Rt).toMatchObject({Action: 'Add', ResourceType: 'AWS::EC2::RouteTable'})
    expect(changes.Sg).toMatchObject({Action: 'Remove', PhysicalResourceId: before.Sg})

    const s = await stack(f.cfn, 'net')
    expect(s.StackStatus).toBe('UPDATE_COMPLETE')
    expect(s.LastUpdatedTime).toBeInstanceOf(Date)
    const after = Object.fromEntries(((await f.cfn.send(new DescribeStackResourcesCommand({StackName: 'net'}))).StackResources ?? [])
      .map((r) => [r.LogicalResourceId, r.PhysicalResourceId]))
    expect(after.Vpc).toMatch(/^vpc-/)
    expect(after.Vpc).not.toBe(before.Vpc)
    expect(after.Subnet).not.toBe(before.Subnet) // replaced: its VpcId changed
    expect(after.Sg).toBeUndefined()
    expect(after.Rt).toMatch(/^rtb-/)
    expect(s.Outputs?.find((o) => o.OutputKey === 'VpcCidr')?.OutputValue).toBe('10.9.0.0/16')
    expect(s.Outputs?.find((o) => o.OutputKey === 'Rt')?.OutputValue).toBe(after.Rt)

    const ev = [...await events(f.cfn, 'net')].reverse()
    const statuses = ev.map((e) => `${e.LogicalResourceId}:${e.ResourceStatus}`)
    const cleanup = statuses.lastIndexOf('net:UPDATE_COMPLETE_CLEANUP_IN_PROGRESS')
    expect(cleanup).toBeGreaterThan(statuses.lastIndexOf('Vpc:UPDATE_COMPLETE'))
    // the old VPC and the removed security group are deleted in the cleanup phase
    const oldVpcDeleted = ev.findIndex((e) => e.PhysicalResourceId === before.Vpc && e.ResourceStatus === 'DELETE_COMPLETE')
    expect(oldVpcDeleted).toBeGreaterThan(cleanup)
    expect(statuses.indexOf('Sg:DELETE_COMPLETE')).toBeGreaterThan(cleanup)
    expect(ev.find((e) => e.LogicalResourceId === 'Vpc' && e.ResourceStatus === 'UPDATE_IN_PROGRESS')?.ResourceStatusReason)
      .toBe('Requested update requires the creation of a new physical resource; hence creating one.')
    expect(statuses.at(-1)).toBe('net:UPDATE_COMPLETE')
  })

  it('an empty change set FAILS with AWS\'s reason and cannot be executed', async () => {
    const current = (await f.cfn.send(new GetTemplateCommand({StackName: 'net'}))).TemplateBody!
    const cs = await f.cfn.send(new CreateChangeSetCommand({
      StackName: 'net', ChangeSetName: 'nothing', TemplateBody: current,
      Parameters: [{ParameterKey: 'VpcCidr', UsePreviousValue: true}, {ParameterKey: 'Env', UsePreviousValue: true}, {ParameterKey: 'Token', UsePreviousValue: true}],
    }))
    await expect(waitUntilChangeSetCreateComplete({client: f.cfn, maxWaitTime: 10, minDelay: 1, maxDelay: 1}, {ChangeSetName: cs.Id}))
      .rejects.toThrow(/FAILURE/)
    const d = await f.cfn.send(new DescribeChangeSetCommand({ChangeSetName: cs.Id}))
    expect(d).toMatchObject({Status: 'FAILED', ExecutionStatus: 'UNAVAILABLE', Changes: []})
    expect(d.StatusReason).toBe("The submitted information didn't contain changes. Submit different information to create a change set.")
    await expect(f.cfn.send(new ExecuteChangeSetCommand({ChangeSetName: cs.Id}))).rejects.toMatchObject({name: 'InvalidChangeSetStatusException'})
    await f.cfn.send(new DeleteChangeSetCommand({ChangeSetName: cs.Id}))
    await expect(f.cfn.send(new DescribeChangeSetCommand({ChangeSetName: cs.Id}))).rejects.toMatchObject({name: 'ChangeSetNotFoundException'})
  })

  it('a failing resource rolls the creation back, with the first failure\'s reason on its event and the stack', async () => {
    const body = `
Resources:
  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}
  Breaks: {Type: Test::Fails, Properties: {VpcId: !Ref Vpc}}
  Later: {Type: AWS::EC2::Subnet, DependsOn: Breaks, Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.0.0/24}}
`
    await deploy(f, 'broken', body)
    const s = await stack(f.cfn, 'broken')
    expect(s.StackStatus).toBe('ROLLBACK_COMPLETE')
    expect(s.StackStatusReason).toContain('The following resource(s) failed to create: [Breaks]')
    expect(s.StackStatusReason).toContain('boom: Test::Fails always fails')
    const ev = [...await events(f.cfn, 'broken')].reverse()
    expect(ev.find((e) => e.ResourceStatus === 'CREATE_FAILED')).toMatchObject({LogicalResourceId: 'Breaks', ResourceStatusReason: 'boom: Test::Fails always fails'})
    const statuses = ev.map((e) => `${e.LogicalResourceId}:${e.ResourceStatus}`)
    expect(statuses).not.toContain('Later:CREATE_IN_PROGRESS')
    expect(statuses.indexOf('broken:ROLLBACK_IN_PROGRESS')).toBeLessThan(statuses.indexOf('Vpc:DELETE_COMPLETE'))
    expect(statuses.at(-1)).toBe('broken:ROLLBACK_COMPLETE')
    // a stack in ROLLBACK_COMPLETE cannot be updated, only deleted
    await expect(f.cfn.send(new CreateChangeSetCommand({StackName: 'broken', ChangeSetName: 'again', TemplateBody: body})))
      .rejects.toMatchObject({name: 'ValidationError', message: expect.stringContaining('ROLLBACK_COMPLETE state and can not be updated')})
    await f.cfn.send(new DeleteStackCommand({StackName: 'broken'}))
    await f.idle()
    await expect(f.cfn.send(new DescribeStacksCommand({StackName: 'broken'})))
      .rejects.toMatchObject({name: 'ValidationError', message: 'Stack with id broken does not exist'})
    expect((await f.cfn.send(new DescribeStacksCommand({StackName: s.StackId}))).Stacks?.[0].StackStatus).toBe('DELETE_COMPLETE')
  })

  it('an unknown resource type fails with a clear reason and rolls back', async () => {
    await deploy(f, 'unknown', 'Resources:\n  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}\n  Q: {Type: AWS::SQS::Queue}\n')
    const ev = await events(f.cfn, 'unknown')
    expect(ev.find((e) => e.ResourceStatus === 'CREATE_FAILED')).toMatchObject({
      LogicalResourceId: 'Q', ResourceStatusReason: 'Unsupported resource type AWS::SQS::Queue on the local platform',
    })
    expect((await stack(f.cfn, 'unknown')).StackStatus).toBe('ROLLBACK_COMPLETE')
  })

  it('a failing update rolls back to the previous template and resources', async () => {
    const v1 = 'Resources:\n  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}\nOutputs:\n  Cidr: {Value: !GetAtt Vpc.CidrBlock}\n'
    await deploy(f, 'upd', v1)
    const vpc1 = (await stack(f.cfn, 'upd')).Outputs
    const before = (await f.cfn.send(new DescribeStackResourcesCommand({StackName: 'upd'}))).StackResources![0].PhysicalResourceId
    const v2 = 'Resources:\n  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.1.0.0/16}}\n  Breaks: {Type: Test::Fails, DependsOn: Vpc}\nOutputs:\n  Cidr: {Value: !GetAtt Vpc.CidrBlock}\n'
    await deploy(f, 'upd', v2, {type: 'UPDATE'})
    const s = await stack(f.cfn, 'upd')
    expect(s.StackStatus).toBe('UPDATE_ROLLBACK_COMPLETE')
    expect(s.StackStatusReason).toContain('Breaks: boom: Test::Fails always fails')
    expect(s.Outputs).toEqual(vpc1)
    expect((await f.cfn.send(new GetTemplateCommand({StackName: 'upd'}))).TemplateBody).toBe(v1)
    const resources = (await f.cfn.send(new DescribeStackResourcesCommand({StackName: 'upd'}))).StackResources ?? []
    expect(resources.map((r) => [r.LogicalResourceId, r.PhysicalResourceId])).toEqual([['Vpc', before]])
    const statuses = [...await events(f.cfn, 'upd')].reverse().map((e) => `${e.LogicalResourceId}:${e.ResourceStatus}`)
    expect(statuses.slice(-4)).toEqual(['upd:UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS', 'Vpc:DELETE_IN_PROGRESS', 'Vpc:DELETE_COMPLETE', 'upd:UPDATE_ROLLBACK_COMPLETE'])
    expect(statuses).toContain('upd:UPDATE_ROLLBACK_IN_PROGRESS')
    // the replacement VPC created during the update is deleted in the rollback cleanup
    const ev = await events(f.cfn, 'upd')
    const replacement = ev.find((e) => e.LogicalResourceId === 'Vpc' && e.ResourceStatus === 'DELETE_COMPLETE')
    expect(replacement?.PhysicalResourceId).toMatch(/^vpc-/)
    expect(replacement?.PhysicalResourceId).not.toBe(before)
    // and the stack can be updated again
    await deploy(f, 'upd', v1.replace('10.0.0.0/16', '10.2.0.0/16'), {type: 'UPDATE'})
    expect((await stack(f.cfn, 'upd')).StackStatus).toBe('UPDATE_COMPLETE')
  })

  it('conditions switch resources and outputs on: Env=prod creates the conditional gateway', async () => {
    await deploy(f, 'netprod', NETWORK, {parameters: params({Env: 'prod', VpcCidr: '10.3.0.0/16'})})
    const s = await stack(f.cfn, 'netprod')
    expect(s.StackStatus).toBe('CREATE_COMPLETE')
    const gateway = (await f.cfn.send(new DescribeStackResourcesCommand({StackName: 'netprod', LogicalResourceId: 'ProdOnly'}))).StackResources![0]
    expect(gateway.PhysicalResourceId).toMatch(/^igw-0[0-9a-f]{16}$/)
    expect(s.Outputs?.find((o) => o.OutputKey === 'Gateway')?.OutputValue).toBe(gateway.PhysicalResourceId)
    expect(s.Outputs?.find((o) => o.OutputKey === 'VpcCidr')?.OutputValue).toBe('10.3.0.0/16')
    // two executions at once are refused
    const a = await f.cfn.send(new CreateChangeSetCommand({StackName: 'netprod', ChangeSetName: 'a', TemplateBody: NETWORK, Parameters: params({Env: 'dev', VpcCidr: '10.3.0.0/16'})}))
    const b = await f.cfn.send(new CreateChangeSetCommand({StackName: 'netprod', ChangeSetName: 'b', TemplateBody: NETWORK, Parameters: params({Env: 'dev', VpcCidr: '10.4.0.0/16'})}))
    await f.idle()
    // (through handle(): both requests arrive before the engine starts)
    const [first, second] = await Promise.allSettled([
      f.service.handle('ExecuteChangeSet', {ChangeSetName: a.Id!}),
      f.service.handle('ExecuteChangeSet', {ChangeSetName: b.Id!}),
    ])
    expect(first.status).toBe('fulfilled')
    expect(second).toMatchObject({status: 'rejected', reason: {code: 'InvalidChangeSetStatus'}})
    await f.idle()
    const after = await stack(f.cfn, 'netprod')
    expect(after.StackStatus).toBe('UPDATE_COMPLETE')
    expect(after.Outputs?.find((o) => o.OutputKey === 'Gateway')).toBeUndefined()
    expect((await f.cfn.send(new DescribeStackResourcesCommand({StackName: 'netprod'}))).StackResources?.map((r) => r.LogicalResourceId)).not.toContain('ProdOnly')
    await f.cfn.send(new DeleteStackCommand({StackName: 'netprod'}))
    await f.idle()
  })

  it('exports: ImportValue resolves across stacks and blocks deleting the exporter', async () => {
    await deploy(f, 'consumer', `
Resources:
  Sub: {Type: AWS::EC2::Subnet, Properties: {VpcId: !ImportValue net-VpcId, CidrBlock: 10.9.2.0/24}}
Outputs:
  UsedVpc: {Value: !GetAtt Sub.VpcId}
`)
    const net = await stack(f.cfn, 'net')
    const consumer = await stack(f.cfn, 'consumer')
    expect(consumer.StackStatus).toBe('CREATE_COMPLETE')
    expect(consumer.Outputs?.[0].OutputValue).toBe(net.Outputs?.find((o) => o.OutputKey === 'VpcId')?.OutputValue)
    await expect(f.cfn.send(new DeleteStackCommand({StackName: 'net'})))
      .rejects.toMatchObject({name: 'ValidationError', message: 'Export net-VpcId cannot be deleted as it is in use by consumer'})
    await f.cfn.send(new DeleteStackCommand({StackName: 'consumer'}))
    await f.idle()
  })

  it('DeletionPolicy Retain: the resource is skipped (DELETE_SKIPPED) and survives DeleteStack', async () => {
    await deploy(f, 'keep', `
Resources:
  Kept: {Type: AWS::S3::Bucket, DeletionPolicy: Retain, Properties: {BucketName: cape-kept-bucket}}
  Gone: {Type: AWS::S3::Bucket}
`)
    const gone = (await f.cfn.send(new DescribeStackResourcesCommand({StackName: 'keep', LogicalResourceId: 'Gone'}))).StackResources![0].PhysicalResourceId!
    expect(gone).toMatch(/^keep-gone-[a-z0-9]{12}$/)
    expect(await f.platform.s3.bucketExists(gone)).toBe(true)
    const {StackId} = await stack(f.cfn, 'keep')
    await f.cfn.send(new DeleteStackCommand({StackName: 'keep'}))
    await f.idle()
    const ev = await events(f.cfn, StackId!)
    expect(ev[0]).toMatchObject({ResourceStatus: 'DELETE_COMPLETE', LogicalResourceId: 'keep'})
    expect(ev.find((e) => e.LogicalResourceId === 'Kept' && e.ResourceStatus?.startsWith('DELETE'))?.ResourceStatus).toBe('DELETE_SKIPPED')
    expect(await f.platform.s3.bucketExists('cape-kept-bucket')).toBe(true)
    expect(await f.platform.s3.bucketExists(gone)).toBe(false)
  })

  it('CreateStack/UpdateStack work through internal change sets; UpdateStack without changes is refused', async () => {
    const body = 'Resources:\n  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}\n'
    const {StackId} = await f.cfn.send(new CreateStackCommand({StackName: 'direct', TemplateBody: body}))
    expect(StackId).toMatch(/stack\/direct\//)
    await f.idle()
    expect((await stack(f.cfn, 'direct')).StackStatus).toBe('CREATE_COMPLETE')
    await expect(f.cfn.send(new CreateStackCommand({StackName: 'direct', TemplateBody: body}))).rejects.toMatchObject({name: 'AlreadyExistsException'})
    await expect(f.cfn.send(new UpdateStackCommand({StackName: 'direct', TemplateBody: body})))
      .rejects.toMatchObject({name: 'ValidationError', message: 'No updates are to be performed.'})
    await f.cfn.send(new UpdateStackCommand({StackName: 'direct', TemplateBody: body.replace('10.0.0.0', '10.5.0.0')}))
    await f.idle()
    expect((await stack(f.cfn, 'direct')).StackStatus).toBe('UPDATE_COMPLETE')
  })

  it('answers AWS errors for missing stacks, capabilities and bad templates', async () => {
    await expect(f.cfn.send(new DescribeStacksCommand({StackName: 'nope'}))).rejects.toMatchObject({name: 'ValidationError', message: 'Stack with id nope does not exist'})
    await expect(f.cfn.send(new CreateChangeSetCommand({
      StackName: 'iam', ChangeSetName: 'x', ChangeSetType: 'CREATE', TemplateBody: 'Resources: {U: {Type: AWS::IAM::User}}',
    }))).rejects.toMatchObject({name: 'InsufficientCapabilitiesException', message: 'Requires capabilities : [CAPABILITY_IAM]'})
    await expect(f.cfn.send(new CreateChangeSetCommand({
      StackName: 'cyc', ChangeSetName: 'x', ChangeSetType: 'CREATE',
      TemplateBody: 'Resources:\n  A: {Type: AWS::EC2::VPC, Properties: {CidrBlock: !GetAtt B.CidrBlock}}\n  B: {Type: AWS::EC2::VPC, Properties: {CidrBlock: !GetAtt A.CidrBlock}}\n',
    }))).rejects.toMatchObject({name: 'ValidationError', message: 'Template format error: Circular dependency between resources: [A, B]'})
    await expect(f.cfn.send(new CreateChangeSetCommand({
      StackName: 'att', ChangeSetName: 'x', ChangeSetType: 'CREATE',
      TemplateBody: 'Resources:\n  A: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}\nOutputs:\n  X: {Value: !GetAtt A.Nope}\n',
    }))).rejects.toMatchObject({name: 'ValidationError', message: 'Template error: resource A does not support attribute type Nope in Fn::GetAtt'})
    await expect(f.cfn.send(new CreateChangeSetCommand({StackName: 'net', ChangeSetName: 'y', ChangeSetType: 'UPDATE', TemplateBody: NETWORK, Parameters: params({Env: 'qa'})})))
      .rejects.toMatchObject({name: 'ValidationError', message: "Parameter 'Env' must be one of AllowedValues"})
  })
})
