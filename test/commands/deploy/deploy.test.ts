import {HeadBucketCommand, PutObjectCommand} from '@aws-sdk/client-s3'
import {writeFileSync} from 'node:fs'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {localWorkspace, type LocalWorkspace} from '../../helpers/platform.js'

let ws: LocalWorkspace

beforeAll(async () => {
  ws = await localWorkspace()
}, 120_000)
afterAll(async () => ws?.stop())

describe('cape deploy phase1 on the local platform', () => {
  it('creates the stack, with a plan, live events and outputs', async () => {
    const r = await ws.cli(['deploy', 'phase1', '--yes'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/Plan for cape-local-phase1 \(new stack\)/)
    expect(r.stdout).toMatch(/bootstrap: create assets bucket cape-assets-\d{12}-us-east-1; upload transform bundle/)
    expect(r.stdout).toMatch(/\+ RawBucket\s+AWS::S3::Bucket/)
    expect(r.stderr).toMatch(/CREATE_COMPLETE\s+AWS::CloudFormation::Stack\s+cape-local-phase1/)
    expect(r.stdout).toMatch(/RawBucketName\s+cape-local-phase1-raw-/)
    expect(r.stdout).not.toMatch(/SecretAccessKey/i)
    expect(ws.outputs().CuratedBucketName).toMatch(/^cape-local-phase1-curated-/)
  })

  it('a second deploy reports no changes and exits 0', async () => {
    const r = await ws.cli(['deploy', 'phase1', '--yes', '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json()).toMatchObject({outcome: 'no-changes', stackName: 'cape-local-phase1', plan: {changes: []}})
  })

  it('a changed parameter shows the modified resources (dry run: nothing applied, change set deleted)', async () => {
    const r = await ws.cli(['deploy', 'phase1', '--dry-run', '--param', 'FunctionMemory=2048', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const plan = r.json().plan
    expect(r.json().outcome).toBe('planned')
    const modified = plan.changes.filter((c: any) => c.action === 'Modify').map((c: any) => c.logicalId).sort()
    expect(modified).toEqual(['ExtractorFunction', 'TransformFunction'])
    expect(plan.changes.find((c: any) => c.logicalId === 'TransformFunction')).toMatchObject({replacement: 'False', details: ['MemorySize']})
    const again = await ws.cli(['deploy', 'phase1', '--json', '--yes'])
    expect(again.json().outcome).toBe('no-changes')
  })

  it('a replacement is flagged in the plan', async () => {
    const r = await ws.cli(['deploy', 'phase1', '--dry-run', '--param', 'VpcCidr=10.41.0.0/16', '--param', 'PrivateSubnetACidr=10.41.0.0/24', '--param', 'PrivateSubnetBCidr=10.41.1.0/24'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/~ Vpc\s+AWS::EC2::VPC\s+REPLACE/)
  })

  it('without --yes and without a TTY, deploy is refused with the confirmation code and changes nothing', async () => {
    const r = await ws.cli(['deploy', 'phase1', '--param', 'FunctionTimeout=60', '--json'])
    expect(r.code).toBe(7)
    expect(r.json().error).toMatchObject({code: 'CONFIRMATION_REQUIRED', hints: [expect.stringContaining('--yes')]})
    expect((await ws.cli(['deploy', 'phase1', '--json', '--yes'])).json().outcome).toBe('no-changes')
  })

  it('cape status shows the stack, its resources and outputs', async () => {
    const r = await ws.cli(['status', 'phase1', '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json()[0]).toMatchObject({phase: 'phase1', deployed: true, status: 'CREATE_COMPLETE', resources: {total: 28}})
  })

  it('an unsupported resource fails with its root cause (exit 5); the next deploy removes the failed stack first', async () => {
    const file = path.join(ws.cwd, 'broken.yaml')
    writeFileSync(
      file,
      ['Resources:', '  Fine:', '    Type: AWS::EC2::VPC', '    Properties: {CidrBlock: 10.9.0.0/16}', '  Topic:', '    Type: AWS::SNS::Topic', '    DependsOn: Fine', ''].join('\n'),
    )
    const r = await ws.cli(['deploy', file, '--yes', '--json'])
    expect(r.code).toBe(5)
    const err = r.json().error
    expect(err.code).toBe('DEPLOY_FAILED')
    expect(err.message).toMatch(/Topic \(AWS::SNS::Topic\): Unsupported resource type AWS::SNS::Topic on the local platform/)
    const again = await ws.cli(['deploy', file, '--yes'])
    expect(again.code).toBe(5)
    expect(again.stderr).toMatch(/ROLLBACK_COMPLETE after a failed create; deleting it before deploying again/)
  })

  it('destroy asks (refused without --yes), then leaves the retained raw and curated buckets in place', async () => {
    const out = ws.outputs()
    await ws.admin().s3.send(new PutObjectCommand({Bucket: out.RawBucketName, Key: '_keep/marker.txt', Body: 'x'}))
    const refused = await ws.cli(['destroy', 'phase1'])
    expect(refused.code).toBe(7)
    const r = await ws.cli(['destroy', 'phase1', '--yes', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const retained = r.json().retained.map((b: any) => b.bucket).sort()
    expect(retained).toEqual([out.CuratedBucketName, out.RawBucketName].sort())
    await expect(ws.admin().s3.send(new HeadBucketCommand({Bucket: out.RawBucketName}))).resolves.toBeDefined()
    await expect(ws.admin().s3.send(new HeadBucketCommand({Bucket: out.CuratedBucketName}))).resolves.toBeDefined()
    await expect(ws.admin().s3.send(new HeadBucketCommand({Bucket: out.ResultsBucketName}))).rejects.toMatchObject({$metadata: {httpStatusCode: 404}})
    expect((await ws.cli(['status', 'phase1', '--json'])).json()[0]).toMatchObject({deployed: false})
  })
})
