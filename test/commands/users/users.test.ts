import {readFileSync, statSync} from 'node:fs'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {CliResult} from '../../helpers/cli.js'
import {localWorkspace, type LocalWorkspace} from '../../helpers/platform.js'

let ws: LocalWorkspace
const outputs: CliResult[] = []
const cli = async (args: string[]) => {
  const r = await ws.cli(args)
  outputs.push(r)
  return r
}

beforeAll(async () => {
  ws = await localWorkspace({deploy: true})
}, 180_000)
afterAll(async () => ws?.stop())

describe('cape users', () => {
  let printedSecret = ''

  it('list shows the three phase users with their roles', async () => {
    const r = await cli(['users', 'list', '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json().map((u: any) => [u.name, u.roles])).toEqual([
      ['admin_user', ['admin']],
      ['partner_user', ['partner']],
      ['reg_user', ['reg']],
    ])
  })

  it('add --with-key prints the secret once, under a warning on stderr', async () => {
    const r = await cli(['users', 'add', 'alice', '--role', 'reg', '--with-key'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/shown this once/)
    const m = /aws_secret_access_key = (\S+)/.exec(r.stdout)
    expect(m).not.toBeNull()
    printedSecret = m![1]
    expect(printedSecret).toHaveLength(40)
  })

  it('add --save-profile writes the key to the shared-credentials file (0600) and prints no secret', async () => {
    const r = await cli(['users', 'add', 'bob', '--role', 'partner', '--with-key', '--save-profile', 'cape-bob', '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json()).toMatchObject({user: {name: 'bob', roles: ['partner'], path: '/cape/local/'}, savedProfile: {profile: 'cape-bob'}})
    expect(r.json().secretAccessKey).toBeUndefined()
    const file = ws.env.AWS_SHARED_CREDENTIALS_FILE
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(readFileSync(file, 'utf8')).toMatch(/\[cape-bob\]\naws_access_key_id = AKIA\w+\naws_secret_access_key = \S{40}\n/)
  })

  it('the saved profile works: bob (partner) is denied, with the access-check hint', async () => {
    const r = await cli(['users', 'list', '--profile', 'cape-bob', '--json'])
    expect(r.code).toBe(3)
    expect(r.json().error).toMatchObject({code: 'AWS_AccessDenied', hints: expect.arrayContaining([expect.stringContaining('cape access check')])})
  })

  it('CloudFormation is authorized too: the partner cannot read the stack, admin_user can', async () => {
    const denied = await cli(['status', 'phase1', '--profile', 'cape-bob', '--json'])
    expect(denied.code).toBe(3)
    expect(denied.json().error.code).toBe('AWS_AccessDenied')
    expect((await cli(['users', 'rotate-key', 'admin_user', '--yes', '--save-profile', 'cape-admin'])).code).toBe(0)
    const ok = await cli(['status', 'phase1', '--profile', 'cape-admin', '--json'])
    expect(ok.code, ok.stderr).toBe(0)
    expect(ok.json()[0]).toMatchObject({deployed: true})
  })

  it('rotate-key replaces the key: new key first, old deleted', async () => {
    const before = (await cli(['users', 'list', '--json'])).json().find((u: any) => u.name === 'bob').keys
    const r = await cli(['users', 'rotate-key', 'bob', '--yes', '--save-profile', 'cape-bob', '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json().deleted).toEqual([before[0].accessKeyId])
    const after = (await cli(['users', 'list', '--json'])).json().find((u: any) => u.name === 'bob').keys
    expect(after.map((k: any) => k.accessKeyId)).toEqual([r.json().accessKeyId])
  })

  it('access check passes with partner users denied in every cell, and --live agrees', async () => {
    const r = await cli(['access', 'check', '--live', '--json'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    const report = r.json()
    expect(report.mismatches).toBe(0)
    const partnerCells = report.cells.filter((c: any) => c.user === 'partner_user' || c.user === 'bob')
    expect(partnerCells).toHaveLength(34)
    expect(partnerCells.every((c: any) => c.simulated === false && c.live === false)).toBe(true)
    const reg = report.cells.filter((c: any) => c.user === 'reg_user' && c.simulated).map((c: any) => `${c.zone}:${c.action}`)
    expect(reg.sort()).toEqual(['curated:get', 'curated:list', 'raw:get', 'raw:list', 'raw:put', 'requests:put', 'results:get', 'results:list'])
    // the temporary keys are gone again
    const users = (await cli(['users', 'list', '--json'])).json()
    expect(users.find((u: any) => u.name === 'reg_user').keys).toEqual([])
  })

  it('access check fails (exit 6) and names the cell when a user has access it must not have', async () => {
    await cli(['users', 'add', 'mallory', '--role', 'partner'])
    // Give mallory reg rights on top: partner's explicit deny must still win…
    const {AddUserToGroupCommand} = await import('@aws-sdk/client-iam')
    await ws.admin().iam.send(new AddUserToGroupCommand({UserName: 'mallory', GroupName: ws.outputs().RegGroupName}))
    const ok = await cli(['access', 'check', '--user', 'mallory', '--json'])
    // …so every cell is denied, while the expected matrix (reg ∪ partner) expects reg's rights: mismatches.
    expect(ok.code).toBe(6)
    expect(ok.json().error).toMatchObject({code: 'ACCESS_MISMATCH'})
    expect(ok.json().error.data.report.cells.filter((c: any) => !c.ok).length).toBe(8)
  })

  it('remove refuses without --yes off a TTY, then removes keys, groups and the user', async () => {
    const refused = await cli(['users', 'remove', 'alice'])
    expect(refused.code).toBe(7)
    expect(refused.stderr).toMatch(/--yes/)
    const r = await cli(['users', 'remove', 'alice', '--yes', '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json().removed).toMatchObject({name: 'alice', roles: ['reg']})
    const gone = await cli(['users', 'remove', 'alice', '--yes', '--json'])
    expect(gone.code).toBe(4)
    expect(gone.json().error.code).toBe('USER_NOT_FOUND')
  })

  it('no secret ever appears in any output except the single explicit print', async () => {
    const file = readFileSync(ws.env.AWS_SHARED_CREDENTIALS_FILE, 'utf8')
    const saved = [...file.matchAll(/aws_secret_access_key = (\S+)/g)].map((m) => m[1])
    const admin = JSON.parse(readFileSync(path.join(ws.home, 'admin-credentials.json'), 'utf8')).secretAccessKey
    const all = outputs.map((o) => o.stdout + o.stderr)
    const count = (s: string) => all.filter((text) => text.includes(s)).length
    expect(count(printedSecret)).toBe(1)
    for (const s of [...saved, admin]) expect(count(s)).toBe(0)
  })
})
