import {existsSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {parseDocument} from 'yaml'
import {configError} from '../cli/errors.js'
import {capeFileSchema, type CapeFile, type SourceConfig} from './schema.js'
import {lineOf} from './yaml-lines.js'
import {definitionProblemsError, readDatasetDir} from '../datasets/files.js'

/** Where a resolved value came from. Precedence: flag > env > cape.yaml > default. */
export type Source = 'flag' | 'env' | 'cape.yaml' | 'default'
export interface Sourced<T> {
  value: T
  source: Source
  /** e.g. "--region", "AWS_REGION", "cape.yaml: environments.dev.region" */
  from: string
}

export interface GlobalOptions {
  env?: string
  profile?: string
  region?: string
  endpointUrl?: string
  config?: string
}

export interface ResolvedEnvironment {
  name: Sourced<string>
  target: Sourced<'local' | 'aws'>
  region: Sourced<string>
  profile?: Sourced<string>
  endpoint?: Sourced<string>
  /** local target only: where the local platform keeps its data. */
  dataDir?: Sourced<string>
  stackPrefix: Sourced<string>
  parameters: Record<string, Record<string, string>>
  configFile?: string
  /** Extra dataset formats: cape.yaml `datasets:` and the datasets/*.yaml files beside it. */
  datasets: Record<string, unknown>
  /** The datasets defined by a datasets/<name>.yaml file: name → file (relative to cwd). */
  datasetFiles: Record<string, string>
  /** Database sources from cape.yaml. */
  sources: Record<string, SourceConfig>
  cwd: string
}

export const CONFIG_FILE_NAME = 'cape.yaml'
export const DEFAULT_REGION = 'us-east-1'
export const DEFAULT_STACK_PREFIX = 'cape'

/** The environment variables cape reads. This module is the only place that reads process.env for configuration. */
export const ENV_VARS = {
  env: 'CAPE_ENV',
  config: 'CAPE_CONFIG',
  home: 'CAPE_HOME',
  profile: 'AWS_PROFILE',
  region: 'AWS_REGION',
  regionFallback: 'AWS_DEFAULT_REGION',
  endpointUrl: 'AWS_ENDPOINT_URL',
  /** Database password for ad-hoc `cape ingest db:<source>` runs (wins over the source's passwordSecret). */
  pgPassword: 'PGPASSWORD',
} as const

export interface LoadedConfigFile {
  path?: string
  data: CapeFile
}

export function loadConfigFile(options: {cwd: string; explicit?: Sourced<string>}): LoadedConfigFile {
  const file = options.explicit ? path.resolve(options.cwd, options.explicit.value) : path.join(options.cwd, CONFIG_FILE_NAME)
  if (!existsSync(file)) {
    if (options.explicit) {
      throw configError('CONFIG_NOT_FOUND', `Configuration file ${file} does not exist (from ${options.explicit.from}).`, [
        'Run `cape init` to write one, or point --config / CAPE_CONFIG at an existing file.',
      ])
    }
    return {data: {}}
  }
  return {path: file, data: parseConfigText(readFileSync(file, 'utf8'), file)}
}

export function parseConfigText(text: string, file: string): CapeFile {
  const doc = parseDocument(text, {prettyErrors: true})
  if (doc.errors.length > 0) {
    const e = doc.errors[0]
    const line = e.linePos?.[0]?.line
    throw configError('CONFIG_INVALID', `${file}${line ? `:${line}` : ''}: ${e.message.split('\n')[0]}`, [
      'Fix the YAML syntax, or run `cape init --force` to write a fresh cape.yaml.',
    ])
  }
  const raw = doc.toJS() ?? {}
  const parsed = capeFileSchema.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const where = issue.path.join('.') || '(top level)'
    const keys = (issue as {keys?: string[]}).keys
    const line = lineOf(doc, [...(issue.path as Array<string | number>), ...(keys?.length ? [keys[0]] : [])], text)
    throw configError('CONFIG_INVALID', `${file}${line ? `:${line}` : ''}: ${where}: ${issue.message}`, [
      'Allowed keys: defaultEnv, environments.<name>.{target, region, profile, endpoint, dataDir, stackPrefix, parameters}, datasets, sources.',
    ])
  }
  return parsed.data
}

function pick<T>(candidates: Array<Sourced<T> | undefined>): Sourced<T> | undefined {
  return candidates.find((c) => c !== undefined && c.value !== undefined && c.value !== '')
}

const fromFlag = <T>(value: T | undefined, flag: string): Sourced<T> | undefined =>
  value === undefined ? undefined : {value, source: 'flag', from: flag}
const fromEnv = (env: NodeJS.ProcessEnv, name: string): Sourced<string> | undefined =>
  env[name] ? {value: env[name] as string, source: 'env', from: name} : undefined
const fromFile = <T>(value: T | undefined, key: string): Sourced<T> | undefined =>
  value === undefined ? undefined : {value, source: 'cape.yaml', from: `cape.yaml: ${key}`}

/**
 * Resolve the environment for this invocation. Precedence for every value: flag > env var > cape.yaml > default.
 * The `local` environment always exists (target local, data under .cape/ or CAPE_HOME).
 */
export function resolveEnvironment(
  flags: GlobalOptions,
  options: {cwd?: string; env?: NodeJS.ProcessEnv} = {},
): ResolvedEnvironment {
  const cwd = options.cwd ?? process.cwd()
  const env = options.env ?? process.env
  const configPath = pick([fromFlag(flags.config, '--config'), fromEnv(env, ENV_VARS.config)])
  const file = loadConfigFile({cwd, explicit: configPath})
  const environments = file.data.environments ?? {}

  const name =
    pick([
      fromFlag(flags.env, '--env'),
      fromEnv(env, ENV_VARS.env),
      fromFile(file.data.defaultEnv, 'defaultEnv'),
    ]) ?? ({value: 'local', source: 'default', from: 'default'} as Sourced<string>)

  const declared = environments[name.value]
  if (!declared && name.value !== 'local') {
    const known = ['local', ...Object.keys(environments).filter((n) => n !== 'local')]
    throw configError('ENV_NOT_FOUND', `Environment "${name.value}" (from ${name.from}) is not defined${file.path ? ` in ${file.path}` : ' (no cape.yaml here)'}.`, [
      `Known environments: ${known.join(', ')}.`,
      `Add it under environments: in cape.yaml, or run \`cape init --target aws --name ${name.value} --region <region>\`.`,
    ])
  }
  const key = (field: string) => `environments.${name.value}.${field}`
  const target: Sourced<'local' | 'aws'> = declared
    ? {value: declared.target, source: 'cape.yaml', from: `cape.yaml: ${key('target')}`}
    : {value: 'local', source: 'default', from: 'default'}

  const region =
    pick([
      fromFlag(flags.region, '--region'),
      fromEnv(env, ENV_VARS.region),
      fromEnv(env, ENV_VARS.regionFallback),
      fromFile(declared?.region, key('region')),
    ]) ?? ({value: DEFAULT_REGION, source: 'default', from: 'default'} as Sourced<string>)

  const profile = pick([fromFlag(flags.profile, '--profile'), fromEnv(env, ENV_VARS.profile), fromFile(declared?.profile, key('profile'))])
  const endpoint = pick([
    fromFlag(flags.endpointUrl, '--endpoint-url'),
    // The local target owns its endpoint (the running platform); AWS_ENDPOINT_URL would point elsewhere.
    target.value === 'aws' ? fromEnv(env, ENV_VARS.endpointUrl) : undefined,
    fromFile(declared?.endpoint, key('endpoint')),
  ])
  if (endpoint) {
    try {
      new URL(endpoint.value)
    } catch {
      throw configError('CONFIG_INVALID', `Endpoint "${endpoint.value}" (from ${endpoint.from}) is not a URL.`, ['Use a full URL such as http://127.0.0.1:4566.'])
    }
  }

  let dataDir: Sourced<string> | undefined
  if (target.value === 'local') {
    const d =
      pick([fromEnv(env, ENV_VARS.home), fromFile(declared?.dataDir, key('dataDir'))]) ??
      ({value: '.cape', source: 'default', from: 'default'} as Sourced<string>)
    const base = d.source === 'cape.yaml' && file.path ? path.dirname(file.path) : cwd
    dataDir = {...d, value: path.resolve(base, d.value)}
  }

  const stackPrefix =
    fromFile(declared?.stackPrefix, key('stackPrefix')) ??
    ({value: DEFAULT_STACK_PREFIX, source: 'default', from: 'default'} as Sourced<string>)

  return {
    name,
    target,
    region,
    profile,
    endpoint,
    dataDir,
    stackPrefix,
    parameters: declared?.parameters ?? {},
    configFile: file.path,
    ...projectDatasets(file, cwd),
    sources: file.data.sources ?? {},
    cwd,
  }
}

/** cape.yaml `datasets:` merged with the datasets/*.yaml files beside cape.yaml (a name defined in both: an error). */
function projectDatasets(file: LoadedConfigFile, cwd: string): {datasets: Record<string, unknown>; datasetFiles: Record<string, string>} {
  const datasets: Record<string, unknown> = {...file.data.datasets}
  const datasetFiles: Record<string, string> = {}
  if (!file.path) return {datasets, datasetFiles}
  const dir = path.join(path.dirname(file.path), 'datasets')
  const {docs, problems} = readDatasetDir(dir, path.relative(cwd, dir) || 'datasets')
  for (const doc of docs) {
    if (Object.hasOwn(datasets, doc.name)) {
      problems.push({file: doc.file, line: 1, path: '', message: `dataset ${JSON.stringify(doc.name)} is also defined in ${path.relative(cwd, file.path)} (datasets.${doc.name})`, fix: 'keep one of the two definitions'})
      continue
    }
    datasets[doc.name] = doc.definition
    datasetFiles[doc.name] = doc.file
  }
  if (problems.length > 0) throw definitionProblemsError(problems)
  return {datasets, datasetFiles}
}

/** `cape-<env>-<phase>` (prefix configurable per environment). */
export function stackNameFor(env: ResolvedEnvironment, phase: string): string {
  return `${env.stackPrefix.value}-${env.name.value}-${phase}`
}

/** A flat, printable view of the resolved environment: value and where it came from. */
export function describeEnvironment(env: ResolvedEnvironment): Array<{key: string; value: string; source: Source; from: string}> {
  const rows: Array<{key: string; value: string; source: Source; from: string}> = []
  const add = (k: string, s: Sourced<string> | undefined) => s && rows.push({key: k, value: s.value, source: s.source, from: s.from})
  add('environment', env.name)
  add('target', env.target)
  add('region', env.region)
  add('profile', env.profile)
  add('endpoint', env.endpoint)
  add('dataDir', env.dataDir)
  add('stackPrefix', env.stackPrefix)
  return rows
}

/** The AWS shared-credentials file (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials). */
export function sharedCredentialsFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.AWS_SHARED_CREDENTIALS_FILE ?? path.join(env.HOME ?? env.USERPROFILE ?? '.', '.aws', 'credentials')
}
