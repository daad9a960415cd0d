import {
  CreateChangeSetCommand, DescribeChangeSetCommand, DescribeStackEventsCommand, DescribeStackResourcesCommand, DescribeStacksCommand,
  ExecuteChangeSetCommand,
} from '@aws-sdk/client-cloudformation'
import {statSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import type {ResourceProvider} from '../../../../src/lib/platform/cloudformation/providers/types.js'
import {removeDir, startCfn, type CfnFixture} from './fixture.js'

const BODY = `
Resources:
  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}
  Slow: {Type: Test::Gate, DependsOn: Vpc}
Outputs:
  Vpc: {Value: !Ref Vpc}
`

/** A resource whose creation waits until the test opens the gate (or forever: a crash in the middle). */
function gate(): {provider: ResourceProvider; started: Promise<void>} {
  let markStarted!: () => void
  const started = new Promise<void>((resolve) => {
    markStarted = resolve
  })
  return {
    started,
    provider: {
      create: () => {
        markStarted()
        return new Promise(() => {})
      },
      update: async () => ({attributes: {}}),
      delete: async () => {},
    },
  }
}

const instant: ResourceProvider = {
  create: async () => ({physicalId: 'gate-1', attributes: {}}),
  update: async () => ({attributes: {}}),
  delete: async () => {},
}

describe('local CloudFormation state across restarts', () => {
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c()
  })

  it('stacks, resources, outputs and events survive a restart (state files are 0600)', async () => {
    const first = await startCfn({extra: {'Test::Gate': instant}})
    cleanups.push(async () => removeDir(first.dataDir))
    const cs = await first.cfn.send(new CreateChangeSetCommand({StackName: 'persist', ChangeSetName: 'c1', ChangeSetType: 'CREATE', TemplateBody: BODY}))
    await first.idle()
    await first.cfn.send(new ExecuteChangeSetCommand({ChangeSetName: cs.Id}))
    await first.idle()
    const before = (await first.cfn.send(new DescribeStacksCommand({StackName: 'persist'}))).Stacks![0]
    const eventsBefore = (await first.cfn.send(new DescribeStackEventsCommand({StackName: 'persist'}))).StackEvents
    expect(before.StackStatus).toBe('CREATE_COMPLETE')
    await first.close()

    const second = await startCfn({dataDir: first.dataDir, extra: {'Test::Gate': instant}})
    cleanups.push(() => second.close())
    const after = (await second.cfn.send(new DescribeStacksCommand({StackName: 'persist'}))).Stacks![0]
    expect(after).toEqual(before)
    expect((await second.cfn.send(new DescribeStackEventsCommand({StackName: 'persist'}))).StackEvents).toEqual(eventsBefore)
    const file = join(first.dataDir, 'cloudformation', 'stacks', `${before.StackId!.split('/').pop()}.json`)
    expect(statSync(file).mode & 0o777).toBe(0o600)
  })

  it('an operation interrupted by a restart is rolled back at startup, never left IN_PROGRESS', async () => {
    const g = gate()
    const crashed: CfnFixture = await startCfn({extra: {'Test::Gate': g.provider}})
    cleanups.push(async () => removeDir(crashed.dataDir))
    const cs = await crashed.cfn.send(new CreateChangeSetCommand({StackName: 'crash', ChangeSetName: 'c1', ChangeSetType: 'CREATE', TemplateBody: BODY}))
    await crashed.idle()
    await crashed.cfn.send(new ExecuteChangeSetCommand({ChangeSetName: cs.Id}))
    await g.started
    const during = (await crashed.cfn.send(new DescribeStacksCommand({StackName: 'crash'}))).Stacks![0]
    expect(during.StackStatus).toBe('CREATE_IN_PROGRESS')
    // "crash": the HTTP server goes away while the engine is stuck inside the provider; its state stays on disk
    crashed.cfn.destroy()
    await crashed.platform.close()

    const restarted = await startCfn({dataDir: crashed.dataDir, extra: {'Test::Gate': instant}})
    cleanups.push(() => restarted.close())
    await restarted.idle()
    const s = (await restarted.cfn.send(new DescribeStacksCommand({StackName: 'crash'}))).Stacks![0]
    expect(s.StackStatus).toBe('ROLLBACK_COMPLETE')
    expect(s.StackStatusReason).toContain('interrupted: the cape local platform was restarted')
    const resources = (await restarted.cfn.send(new DescribeStackResourcesCommand({StackName: 'crash'}))).StackResources ?? []
    expect(Object.fromEntries(resources.map((r) => [r.LogicalResourceId, r.ResourceStatus]))).toEqual({Vpc: 'DELETE_COMPLETE', Slow: 'CREATE_FAILED'})
    const d = await restarted.cfn.send(new DescribeChangeSetCommand({ChangeSetName: cs.Id}))
    expect(d.ExecutionStatus).toBe('EXECUTE_FAILED')
  })
})
