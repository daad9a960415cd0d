import {writeFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {resolveEnvironment, stackNameFor} from '../../../src/lib/config/config.js'
import {tempDir} from '../../helpers/cli.js'

const yaml = `
defaultEnv: dev
environments:
  dev:
    target: aws
    region: eu-west-2
    profile: file-profile
    endpoint: http://file.example:4566
    stackPrefix: lake
    parameters:
      phase1: {EnvironmentName: dev, Retain: true}
  local:
    target: local
    dataDir: state
`

function dirWith(text?: string): string {
  const dir = tempDir()
  if (text !== undefined) writeFileSync(path.join(dir, 'cape.yaml'), text)
  return dir
}

describe('resolveEnvironment precedence: flag > env var > cape.yaml > default', () => {
  it('uses defaults with no cape.yaml and no env vars', () => {
    const cwd = dirWith()
    const env = resolveEnvironment({}, {cwd, env: {}})
    expect(env.name).toEqual({value: 'local', source: 'default', from: 'default'})
    expect(env.target.value).toBe('local')
    expect(env.region).toMatchObject({value: 'us-east-1', source: 'default'})
    expect(env.dataDir).toMatchObject({value: path.join(cwd, '.cape'), source: 'default'})
    expect(stackNameFor(env, 'phase1')).toBe('cape-local-phase1')
  })

  it('cape.yaml beats defaults', () => {
    const env = resolveEnvironment({}, {cwd: dirWith(yaml), env: {}})
    expect(env.name).toMatchObject({value: 'dev', source: 'cape.yaml'})
    expect(env.region).toMatchObject({value: 'eu-west-2', source: 'cape.yaml', from: 'cape.yaml: environments.dev.region'})
    expect(env.profile).toMatchObject({value: 'file-profile', source: 'cape.yaml'})
    expect(env.endpoint).toMatchObject({value: 'http://file.example:4566', source: 'cape.yaml'})
    expect(env.parameters.phase1).toEqual({EnvironmentName: 'dev', Retain: 'true'})
    expect(stackNameFor(env, 'phase1')).toBe('lake-dev-phase1')
  })

  it('env vars beat cape.yaml', () => {
    const env = resolveEnvironment(
      {},
      {cwd: dirWith(yaml), env: {CAPE_ENV: 'dev', AWS_REGION: 'ap-south-1', AWS_PROFILE: 'env-profile', AWS_ENDPOINT_URL: 'http://env.example:1'}},
    )
    expect(env.name).toMatchObject({value: 'dev', source: 'env', from: 'CAPE_ENV'})
    expect(env.region).toMatchObject({value: 'ap-south-1', source: 'env', from: 'AWS_REGION'})
    expect(env.profile).toMatchObject({value: 'env-profile', source: 'env'})
    expect(env.endpoint).toMatchObject({value: 'http://env.example:1', source: 'env'})
  })

  it('flags beat env vars', () => {
    const env = resolveEnvironment(
      {env: 'local', region: 'sa-east-1', profile: 'flag-profile', endpointUrl: 'http://flag.example:2'},
      {cwd: dirWith(yaml), env: {CAPE_ENV: 'dev', AWS_REGION: 'ap-south-1', AWS_PROFILE: 'env-profile'}},
    )
    expect(env.name).toMatchObject({value: 'local', source: 'flag', from: '--env'})
    expect(env.region).toMatchObject({value: 'sa-east-1', source: 'flag'})
    expect(env.profile).toMatchObject({value: 'flag-profile', source: 'flag'})
    expect(env.endpoint).toMatchObject({value: 'http://flag.example:2', source: 'flag'})
  })

  it('local data dir: CAPE_HOME beats cape.yaml, which is relative to the file', () => {
    const cwd = dirWith(yaml)
    expect(resolveEnvironment({env: 'local'}, {cwd, env: {}}).dataDir).toMatchObject({value: path.join(cwd, 'state'), source: 'cape.yaml'})
    expect(resolveEnvironment({env: 'local'}, {cwd, env: {CAPE_HOME: '/srv/cape'}}).dataDir).toMatchObject({value: '/srv/cape', source: 'env'})
  })

  it('AWS_ENDPOINT_URL does not redirect the local target', () => {
    const env = resolveEnvironment({}, {cwd: dirWith(), env: {AWS_ENDPOINT_URL: 'http://elsewhere:1'}})
    expect(env.endpoint).toBeUndefined()
  })

  it('--config / CAPE_CONFIG point at another file', () => {
    const dir = dirWith(yaml)
    const other = dirWith()
    expect(resolveEnvironment({config: path.join(dir, 'cape.yaml')}, {cwd: other, env: {}}).name.value).toBe('dev')
    expect(resolveEnvironment({}, {cwd: other, env: {CAPE_CONFIG: path.join(dir, 'cape.yaml')}}).name.value).toBe('dev')
    expect(() => resolveEnvironment({config: 'missing.yaml'}, {cwd: other, env: {}})).toThrowError(/does not exist/)
  })
})

describe('configuration errors', () => {
  it('an unknown environment names the known ones', () => {
    expect(() => resolveEnvironment({env: 'prod'}, {cwd: dirWith(yaml), env: {}})).toThrow(
      expect.objectContaining({code: 'ENV_NOT_FOUND', exit: 3, hints: expect.arrayContaining([expect.stringContaining('dev')])}),
    )
  })

  it('an unknown key names the file and line', () => {
    const text = 'environments:\n  dev:\n    target: aws\n    regoin: eu-west-2\n'
    expect(() => resolveEnvironment({}, {cwd: dirWith(text), env: {}})).toThrow(
      expect.objectContaining({code: 'CONFIG_INVALID', message: expect.stringMatching(/cape\.yaml:4: environments\.dev: .*regoin/)}),
    )
  })

  it('broken YAML names the line', () => {
    expect(() => resolveEnvironment({}, {cwd: dirWith('environments:\n  dev: [\n'), env: {}})).toThrow(
      expect.objectContaining({code: 'CONFIG_INVALID', message: expect.stringMatching(/cape\.yaml:\d+/)}),
    )
  })
})
