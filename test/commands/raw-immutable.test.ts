import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import {execFile} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {AwsClients} from '../../src/lib/aws/clients.js'
import {repoRoot} from '../helpers/cli.js'
import {localWorkspace, type LocalWorkspace} from '../helpers/platform.js'

/**
 * Raw is write-once (issue: "raw keeps what came in, no matter what"): cape lands a re-used name beside the first
 * landing, and the phase 1 bucket policy refuses any write that would replace a raw object — for cape, Debian's aws
 * cli, the JS SDK and boto3 alike, for reg_user and admin_user.
 */

let ws: LocalWorkspace
let raw: string
let curated: string
const keys: Record<string, {accessKeyId: string; secretAccessKey: string}> = {}
const today = new Date().toISOString().slice(0, 10)
const day = (name: string) => `participants/ingest_date=${today}/${name}`
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')
const original = readFileSync(path.join(repoRoot, 'fixtures', 'participants.csv'), 'utf8')
const changed = original.replace('P002,Alan,Turing', 'P002,Alan M.,Turing')

async function body(bucket: string, key: string): Promise<string> {
  return (await ws.admin().s3.send(new GetObjectCommand({Bucket: bucket, Key: key}))).Body!.transformToString()
}

function place(name: string, text: string): string {
  mkdirSync(path.join(ws.cwd, 'in'), {recursive: true})
  writeFileSync(path.join(ws.cwd, 'in', name), text)
  return `in/${name}`
}

/** A user's clients, with a fresh key saved as the `cape-<user>` profile too. */
async function as(user: string): Promise<AwsClients> {
  const r = await ws.cli(['users', 'rotate-key', user, '--yes', '--save-profile', `cape-${user}`, '--json'])
  expect(r.code, r.stderr).toBe(0)
  const file = readFileSync(path.join(ws.cwd, 'aws-credentials'), 'utf8')
  const section = file.slice(file.indexOf(`[cape-${user}]`))
  const [, id, secret] = /aws_access_key_id = (\S+)\naws_secret_access_key = (\S+)/.exec(section)!
  keys[user] = {accessKeyId: id, secretAccessKey: secret}
  return ws.admin().withCredentials(keys[user])
}

function awsCli(user: string, args: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  const platform = JSON.parse(readFileSync(path.join(ws.home, 'platform.json'), 'utf8'))
  return new Promise((resolve) => {
    execFile('/usr/bin/aws', ['--endpoint-url', ws.endpoint(), '--region', platform.region, ...args], {
      env: {PATH: process.env.PATH ?? '', HOME: ws.cwd, AWS_ACCESS_KEY_ID: keys[user].accessKeyId, AWS_SECRET_ACCESS_KEY: keys[user].secretAccessKey, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null'},
    }, (error, stdout, stderr) => resolve({code: error ? Number((error as {code?: number}).code ?? 1) : 0, stdout, stderr}))
  })
}

beforeAll(async () => {
  ws = await localWorkspace({deploy: true})
  raw = ws.outputs().RawBucketName
  curated = ws.outputs().CuratedBucketName
}, 180_000)
afterAll(async () => ws?.stop())

describe('raw is write-once', () => {
  it('a changed file under the same name lands beside the first (~2); curated follows the name; --force lands ~3', async () => {
    const one = await ws.cli(['ingest', place('people.csv', original), '--transform', 'local', '--json'])
    expect(one.code, one.stderr).toBe(0)
    expect(one.json().files[0]).toMatchObject({status: 'ingested', rawKey: day('people.csv'), curatedKey: day('people.csv')})

    await as('reg_user')
    // the remote transform (the function) curates the second landing at the source name too
    const two = await ws.cli(['ingest', place('people.csv', changed), '--json', '--profile', 'cape-reg_user'])
    expect(two.code, two.stdout + two.stderr).toBe(0)
    expect(two.json().files[0]).toMatchObject({status: 'ingested', transform: 'remote', rawKey: day('people~2.csv'), curatedKey: day('people.csv')})

    const three = await ws.cli(['ingest', 'in/people.csv', '--force', '--json', '--profile', 'cape-reg_user'])
    expect(three.code, three.stdout + three.stderr).toBe(0)
    expect(three.json().files[0]).toMatchObject({status: 'ingested', rawKey: day('people~3.csv'), curatedKey: day('people.csv')})

    // every landing keeps its bytes; curated holds the latest valid version
    expect(sha(await body(raw, day('people.csv')))).toBe(sha(original))
    expect(sha(await body(raw, day('people~2.csv')))).toBe(sha(changed))
    expect(sha(await body(raw, day('people~3.csv')))).toBe(sha(changed))
    expect(await body(curated, day('people.csv'))).toContain('P002,Alan M.,Turing')
    const versions = await ws.admin().s3.send(new ListObjectVersionsCommand({Bucket: raw, Prefix: day('people')}))
    expect((versions.Versions ?? []).map((v) => v.Key).sort()).toEqual([day('people.csv'), day('people~2.csv'), day('people~3.csv')])
  })

  it('--dry-run names the landing it would use', async () => {
    const r = await ws.cli(['ingest', place('people.csv', changed.replace('Oslo', 'Bergen')), '--dry-run', '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json().files[0]).toMatchObject({status: 'planned', rawKey: day('people~4.csv'), curatedKey: day('people.csv')})
  })

  it.each(['reg_user', 'admin_user'])('%s cannot replace a raw object with the SDK: denied without If-None-Match, 412 with it', async (user) => {
    const clients = keys[user] ? ws.admin().withCredentials(keys[user]) : await as(user)
    const key = day('people.csv')
    await expect(clients.s3.send(new PutObjectCommand({Bucket: raw, Key: key, Body: 'replaced'}))).rejects.toMatchObject({name: 'AccessDenied'})
    await expect(clients.s3.send(new PutObjectCommand({Bucket: raw, Key: key, Body: 'replaced', IfNoneMatch: '*'}))).rejects.toMatchObject({$metadata: {httpStatusCode: 412}})
    // a multipart upload over it: the parts are accepted, the completion is refused
    const {UploadId} = await clients.s3.send(new CreateMultipartUploadCommand({Bucket: raw, Key: key}))
    const part = await clients.s3.send(new UploadPartCommand({Bucket: raw, Key: key, UploadId, PartNumber: 1, Body: 'replaced'}))
    const complete = (condition: {IfNoneMatch?: string}) =>
      clients.s3.send(new CompleteMultipartUploadCommand({Bucket: raw, Key: key, UploadId, MultipartUpload: {Parts: [{PartNumber: 1, ETag: part.ETag}]}, ...condition}))
    await expect(complete({})).rejects.toMatchObject({name: 'AccessDenied'})
    await expect(complete({IfNoneMatch: '*'})).rejects.toMatchObject({$metadata: {httpStatusCode: 412}})
    // a new data key is a create: allowed with the condition (reg and admin may produce raw data)
    await clients.s3.send(new PutObjectCommand({Bucket: raw, Key: day(`${user}-new.csv`), Body: original, IfNoneMatch: '*'}))
    expect(sha(await body(raw, key))).toBe(sha(original))
  })

  it.skipIf(!existsSync('/usr/bin/aws'))('Debian\'s aws cli cannot replace it either (s3 cp and s3api put-object)', async () => {
    const file = path.join(ws.cwd, 'in', 'evil.csv')
    writeFileSync(file, 'participant_id\nX\n')
    const cp = await awsCli('reg_user', ['s3', 'cp', file, `s3://${raw}/${day('people.csv')}`])
    expect(cp.code).not.toBe(0)
    expect(cp.stderr).toMatch(/AccessDenied|Access Denied/)
    const put = await awsCli('admin_user', ['s3api', 'put-object', '--bucket', raw, '--key', day('people~2.csv'), '--body', file])
    expect(put.code).not.toBe(0)
    expect(put.stderr).toMatch(/AccessDenied/)
    expect(sha(await body(raw, day('people.csv')))).toBe(sha(original))
    expect(sha(await body(raw, day('people~2.csv')))).toBe(sha(changed))
  })

  it.skipIf(!existsSync('/usr/bin/python3'))('boto3 cannot replace it either', async () => {
    const platform = JSON.parse(readFileSync(path.join(ws.home, 'platform.json'), 'utf8'))
    const script = [
      'import boto3, sys',
      `s3 = boto3.client("s3", endpoint_url=${JSON.stringify(ws.endpoint())}, region_name=${JSON.stringify(platform.region)}, aws_access_key_id=sys.argv[1], aws_secret_access_key=sys.argv[2])`,
      'try:',
      `    s3.put_object(Bucket=${JSON.stringify(raw)}, Key=${JSON.stringify(day('people.csv'))}, Body=b"replaced")`,
      '    print("WRITTEN")',
      'except Exception as e:',
      '    print(e.response["Error"]["Code"])',
    ].join('\n')
    const out = await new Promise<string>((resolve, reject) =>
      execFile('/usr/bin/python3', ['-c', script, keys.reg_user.accessKeyId, keys.reg_user.secretAccessKey], (e, stdout, stderr) => (e ? reject(new Error(stderr)) : resolve(stdout.trim()))),
    )
    expect(out).toBe('AccessDenied')
    expect(sha(await body(raw, day('people.csv')))).toBe(sha(original))
  })

  it('access check has the cell "overwrite raw": denied for every user, by policy and live', async () => {
    const r = await ws.cli(['access', 'check', '--live', '--json'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    const cells = r.json().cells.filter((c: {action: string}) => c.action === 'overwrite')
    expect(cells.map((c: {user: string}) => c.user).sort()).toEqual(['admin_user', 'partner_user', 'reg_user'])
    for (const c of cells) expect(c).toMatchObject({zone: 'raw', expected: false, simulated: false, live: false, ok: true})
    const text = await ws.cli(['access', 'check'])
    expect(text.stdout).toContain('o=overwrite')
  })
})
