import {execFileSync} from 'node:child_process'
import {mkdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {CreateAccessKeyCommand} from '@aws-sdk/client-iam'
import {GetObjectCommand, HeadObjectCommand, PutObjectCommand} from '@aws-sdk/client-s3'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {createClients} from '../../src/lib/aws/clients.js'
import {localWorkspace, type LocalWorkspace} from '../helpers/platform.js'

let ws: LocalWorkspace
let proj: string
let raw: string
let regKey: {accessKeyId: string; secretAccessKey: string}
const config = ['--config', 'proj/cape.yaml']

const visits = (version: string, columns: string[], owners = '[admin]') =>
  [`version: ${version}`, `owners: ${owners}`, 'columns:', ...columns.map((c) => `  - ${c}`), ''].join('\n')
const V1 = ['{name: visit_id, type: string, required: true, unique: true}', '{name: visit_date, type: date}', '{name: weight_kg, type: integer}']
const git = (...args: string[]) => execFileSync('git', ['-c', 'user.email=t@example.org', '-c', 'user.name=t', ...args], {cwd: proj, stdio: 'pipe'}).toString()
const write = (file: string, text: string) => writeFileSync(path.join(proj, file), text)
const cli = (args: string[], profile?: string) => ws.cli([...args, ...config, '--json'], profile ? {env: {AWS_PROFILE: profile}} : {})

beforeAll(async () => {
  ws = await localWorkspace({deploy: true})
  raw = ws.outputs().RawBucketName
  proj = path.join(ws.cwd, 'proj')
  mkdirSync(path.join(proj, 'datasets'), {recursive: true})
  write('cape.yaml', ['datasets:', '  labs:', '    version: 0.1.0', '    owners: [admin]', '    columns: [{name: lab_id, type: string}]', ''].join('\n'))
  write('datasets/visits.yaml', visits('1.0.0', V1))
  git('init', '-q')
  git('add', '.')
  git('commit', '-qm', 'v1')
  // a producer's key, saved as a profile (the CLI then runs as reg_user, not as the platform's admin)
  const {AccessKey} = await ws.admin().iam.send(new CreateAccessKeyCommand({UserName: 'reg_user'}))
  regKey = {accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey!}
  writeFileSync(path.join(ws.cwd, 'aws-credentials'), `[reg]\naws_access_key_id = ${AccessKey!.AccessKeyId}\naws_secret_access_key = ${AccessKey!.SecretAccessKey}\n`)
}, 120_000)
afterAll(async () => {
  await ws?.stop()
})

describe('cape datasets', () => {
  it('list and show: built-in, cape.yaml and datasets/*.yaml, with version and owners', async () => {
    const list = await cli(['datasets', 'list'])
    expect(list.code, list.stderr).toBe(0)
    expect(list.json().map((d: any) => [d.name, d.version, d.owners, d.from])).toEqual([
      ['participants', '1.0.0', ['admin'], 'built-in'],
      ['labs', '0.1.0', ['admin'], 'cape.yaml'],
      ['visits', '1.0.0', ['admin'], 'proj/datasets/visits.yaml'],
    ])
    const show = await cli(['datasets', 'show', 'visits'])
    expect(show.json()).toMatchObject({name: 'visits', version: '1.0.0', columns: [{name: 'visit_id', required: true}, {name: 'visit_date'}, {name: 'weight_kg'}]})
    expect((await cli(['datasets', 'show', 'nope'])).code).toBe(2)
  })

  it('check --against a git ref: exit 6 on a change its version does not allow, 0 once bumped', async () => {
    expect((await cli(['datasets', 'check', '--against', 'HEAD'])).json()).toMatchObject({against: 'HEAD', ok: true})
    // an optional column without a bump: refused; with a minor bump: ok
    write('datasets/visits.yaml', visits('1.0.0', [...V1, '{name: site, type: string}']))
    let r = await cli(['datasets', 'check', '--against', 'HEAD'])
    expect(r.code).toBe(6)
    expect(r.json().error).toMatchObject({code: 'DATASET_INCOMPATIBLE', data: {report: {ok: false, comparisons: expect.arrayContaining([
      expect.objectContaining({dataset: 'visits', ok: false, needs: 'minor', changes: [{class: 'minor', column: 'site', message: 'optional column "site" added'}]}),
    ])}}})
    write('datasets/visits.yaml', visits('1.1.0', [...V1, '{name: site, type: string}']))
    expect((await cli(['datasets', 'check', '--against', 'HEAD'])).code).toBe(0)
    // a column removed and a type narrowed with a minor bump: refused; with a major one: ok
    write('datasets/visits.yaml', visits('1.1.0', [V1[0], V1[1]]))
    r = await cli(['datasets', 'check', '--against', 'HEAD'])
    expect(r.code).toBe(6)
    const visitsReport = r.json().error.data.report.comparisons.find((c: any) => c.dataset === 'visits')
    expect(visitsReport).toMatchObject({needs: 'major', bump: 'minor', changes: [{class: 'breaking', message: 'column "weight_kg" removed'}]})
    const text = await ws.cli(['datasets', 'check', '--against', 'HEAD', ...config])
    expect(text.stdout).toContain('FAIL visits 1.0.0 → 1.1.0, needs a major bump')
    expect(text.stdout).toMatch(/breaking\s+column "weight_kg" removed/)
    write('datasets/visits.yaml', visits('2.0.0', [V1[0], V1[1]]))
    expect((await cli(['datasets', 'check', '--against', 'HEAD'])).code).toBe(0)
    expect((await cli(['datasets', 'check', '--against', 'no-such-ref'])).code).toBe(2)
    write('datasets/visits.yaml', visits('1.0.0', V1))
  })

  it('an invalid definition: exit 3, naming the file, the line and the fix', async () => {
    write('datasets/broken.yaml', 'version: 1.0.0\nowners: [admin]\ncolumns:\n  - {name: a, type: text}\n')
    const r = await cli(['datasets', 'check'])
    expect(r.code).toBe(3)
    expect(r.json().error).toMatchObject({code: 'DATASET_DEFINITION_INVALID', message: expect.stringContaining('proj/datasets/broken.yaml:4: columns[0].type: must be one of')})
    execFileSync('rm', [path.join(proj, 'datasets/broken.yaml')])
  })

  it('publish as an owner: recorded under raw _datasets/, what check --against-deployed and the transform function use', async () => {
    const r = await cli(['datasets', 'publish', 'visits'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json()).toMatchObject({bucket: raw, datasets: [{dataset: 'visits', version: '1.0.0', key: '_datasets/visits.json', status: 'published'}]})
    const o = await ws.admin().s3.send(new GetObjectCommand({Bucket: raw, Key: '_datasets/visits.json'}))
    expect(o.Metadata?.['cape-published-by']).toMatch(/:root$/)
    expect(JSON.parse(await o.Body!.transformToString())).toMatchObject({name: 'visits', version: '1.0.0', owners: ['admin']})
    expect((await cli(['datasets', 'publish', 'visits'])).json().datasets[0].status).toBe('unchanged')
    // the deployed version is the previous one now
    write('datasets/visits.yaml', visits('1.0.1', [V1[0], V1[1]]))
    const check = await cli(['datasets', 'check', '--against-deployed'])
    expect(check.code).toBe(6)
    expect(check.json().error.data.report.comparisons.find((c: any) => c.dataset === 'visits')).toMatchObject({previousVersion: '1.0.0', ok: false})
    expect((await cli(['datasets', 'publish', 'visits'])).json().error).toMatchObject({code: 'DATASET_INCOMPATIBLE'})
    write('datasets/visits.yaml', visits('1.0.0', V1))
    // the function curates with the published definition; ingest leaves it as published
    write('visits.csv', 'visit_id,visit_date,weight_kg\nV1,2024-01-31,70\n')
    const ingest = await ws.cli(['ingest', 'proj/visits.csv', '--transform', 'remote', ...config, '--json'])
    expect(ingest.code, ingest.stderr).toBe(0)
    expect(ingest.json().files[0]).toMatchObject({status: 'ingested', dataset: 'visits', transform: 'remote'})
    const head = await ws.admin().s3.send(new HeadObjectCommand({Bucket: raw, Key: '_datasets/visits.json'}))
    expect(head.Metadata?.['cape-published-by']).toMatch(/:root$/)
  })

  it('a non-owner is refused by the CLI (exit 3) — and by IAM itself, even when the CLI lets it through', async () => {
    const notOwner = await cli(['datasets', 'publish', 'labs'], 'reg')
    expect(notOwner.code).toBe(3)
    expect(notOwner.json().error).toMatchObject({code: 'DATASET_NOT_OWNER', message: expect.stringContaining('user/cape/local/reg_user is not an owner of dataset labs')})
    // reg_user names itself owner of a new dataset: the CLI's check passes, IAM denies the write
    write('cape.yaml', ['datasets:', '  labs:', '    version: 0.1.0', '    owners: [reg_user]', '    columns: [{name: lab_id, type: string}]', ''].join('\n'))
    const denied = await cli(['datasets', 'publish', 'labs'], 'reg')
    expect(denied.code).toBe(3)
    expect(denied.json().error).toMatchObject({code: 'DATASET_PUBLISH_DENIED', message: expect.stringContaining(`IAM denied`)})
    // the same PutObject with the SDK, as reg_user: AccessDenied from the platform
    const reg = createClients({...ws.admin().target, credentials: regKey})
    await expect(reg.s3.send(new PutObjectCommand({Bucket: raw, Key: '_datasets/visits.json', Body: '{}'}))).rejects.toMatchObject({name: 'AccessDenied'})
    reg.destroy()
    const stored = await ws.admin().s3.send(new GetObjectCommand({Bucket: raw, Key: '_datasets/visits.json'}))
    expect(JSON.parse(await stored.Body!.transformToString())).toMatchObject({version: '1.0.0'})
    await expect(ws.admin().s3.send(new HeadObjectCommand({Bucket: raw, Key: '_datasets/labs.json'}))).rejects.toMatchObject({name: 'NotFound'})
  })
})
