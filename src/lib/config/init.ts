import {existsSync} from 'node:fs'
import {mkdir, rename, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {stringify} from 'yaml'
import {CapeError} from '../cli/errors.js'
import {ExitCode} from '../cli/exit-codes.js'
import {CONFIG_FILE_NAME, parseConfigText} from './config.js'
import type {CapeFile} from './schema.js'

export interface InitOptions {
  cwd: string
  /** An AWS environment to add next to `local` (optional). */
  aws?: {name: string; region: string; profile?: string; endpoint?: string; stackPrefix?: string}
  defaultEnv?: string
  force?: boolean
}

export interface InitResult {
  path: string
  environments: string[]
  defaultEnv: string
}

/** Write a cape.yaml (atomically). Refuses to overwrite an existing one unless force. */
export async function writeCapeYaml(options: InitOptions): Promise<InitResult> {
  const file = path.join(options.cwd, CONFIG_FILE_NAME)
  if (existsSync(file) && !options.force) {
    throw new CapeError('CONFIG_EXISTS', `${file} already exists.`, {
      exit: ExitCode.usage,
      hints: ['Edit it, or re-run with --force to replace it.'],
    })
  }
  const environments: NonNullable<CapeFile['environments']> = {local: {target: 'local', dataDir: '.cape'}}
  if (options.aws) {
    environments[options.aws.name] = {
      target: 'aws',
      region: options.aws.region,
      ...(options.aws.profile ? {profile: options.aws.profile} : {}),
      ...(options.aws.endpoint ? {endpoint: options.aws.endpoint} : {}),
      stackPrefix: options.aws.stackPrefix ?? 'cape',
      parameters: {phase1: {}},
    }
  }
  const defaultEnv = options.defaultEnv ?? 'local'
  const body: CapeFile = {defaultEnv, environments}
  const text = [
    '# cape configuration. Precedence for every setting: flag > environment variable > this file > default.',
    '# `local` runs everything on the embedded local platform (no AWS account needed).',
    stringify(body),
  ].join('\n')
  parseConfigText(text, file) // never write a file cape itself cannot read
  await mkdir(options.cwd, {recursive: true})
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(tmp, text, {mode: 0o644})
  await rename(tmp, file)
  return {path: file, environments: Object.keys(environments), defaultEnv}
}
