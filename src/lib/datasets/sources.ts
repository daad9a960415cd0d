import {execFile} from 'node:child_process'
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {promisify} from 'node:util'
import {GetObjectCommand, ListObjectsV2Command, type S3Client} from '@aws-sdk/client-s3'
import {parseDocument} from 'yaml'
import {CapeError, usageError} from '../cli/errors.js'
import {ExitCode} from '../cli/exit-codes.js'
import {parseConfigText, type ResolvedEnvironment} from '../config/config.js'
import {keyLineOf} from '../config/yaml-lines.js'
import {PUBLISHED_BY, datasetDefinitionKey} from '../ingest/curate.js'
import {loadDatasets, type Datasets} from '../ingest/datasets.js'
import {definitionProblemsError, parseDatasetFile, schemaProblems, type DefinitionProblem} from './files.js'

/** Where definitions come from: the project now, the project at a git ref, or what the lakehouse recorded. */

const run = promisify(execFile)
export const DATASETS_PREFIX = '_datasets/'
export {PUBLISHED_BY}

/**
 * The project's datasets (built-ins, cape.yaml `datasets:`, datasets/*.yaml), every definition held to the published
 * schema — inline cape.yaml entries too (ingest accepts them without version and owners; check and publish do not).
 */
export function projectDatasets(env: ResolvedEnvironment): Datasets {
  const datasets = loadDatasets(env.datasets, {files: env.datasetFiles})
  const inline = Object.keys(env.datasets).filter((n) => !Object.hasOwn(env.datasetFiles, n))
  if (inline.length > 0 && env.configFile) {
    const text = readFileSync(env.configFile, 'utf8')
    const doc = parseDocument(text)
    const file = path.relative(env.cwd, env.configFile) || 'cape.yaml'
    const problems: DefinitionProblem[] = []
    for (const name of inline) {
      const raw = env.datasets[name]
      const extendsBuiltIn = datasets.get(name)?.source === 'built-in+cape.yaml'
      const at = (p: Array<string | number>) => keyLineOf(doc, ['datasets', name, ...p], text)
      problems.push(...schemaProblems(raw, file, at, extendsBuiltIn).map((p) => ({...p, path: `datasets.${name}${p.path ? `.${p.path}` : ''}`})))
    }
    if (problems.length > 0) throw definitionProblemsError(problems)
  }
  return datasets
}

async function git(args: string[], cwd: string): Promise<string | undefined> {
  try {
    return (await run('git', args, {cwd, maxBuffer: 16 * 1024 * 1024})).stdout
  } catch (error) {
    const e = error as {code?: unknown; stderr?: string}
    if (e.code === 'ENOENT') throw new CapeError('GIT_NOT_FOUND', 'git is not installed (needed for --against REF)', {exit: ExitCode.config})
    if (/does not exist in|exists on disk, but not in/.test(e.stderr ?? '')) return undefined
    throw usageError(`git ${args.join(' ')}: ${(e.stderr ?? String(error)).trim().split('\n')[0]}`, ['Name a commit, branch or tag, e.g. --against origin/main (in CI: fetch it first).'])
  }
}

/** The project's datasets as they were at a git ref (`git show REF:path`; no shell). */
export async function datasetsAtRef(env: ResolvedEnvironment, ref: string): Promise<Datasets> {
  if (ref.startsWith('-')) throw usageError(`not a git ref: ${ref}`)
  const dir = env.configFile ? path.dirname(env.configFile) : env.cwd
  const configName = env.configFile ? path.basename(env.configFile) : 'cape.yaml'
  await git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], dir)
  const configText = await git(['show', `${ref}:./${configName}`], dir)
  if (configText === undefined) return loadDatasets()
  const inline = parseConfigText(configText, `${ref}:${configName}`).datasets ?? {}
  const listing = (await git(['ls-tree', '--name-only', ref, '--', 'datasets/'], dir)) ?? ''
  const defs: Record<string, unknown> = {...inline}
  const files: Record<string, string> = {}
  const problems: DefinitionProblem[] = []
  for (const f of listing.split('\n').filter((l) => /\.ya?ml$/.test(l))) {
    const text = await git(['show', `${ref}:./${f}`], dir)
    if (text === undefined) continue
    const r = parseDatasetFile(text, `${ref}:${f}`)
    problems.push(...r.problems)
    if (r.doc) {
      defs[r.doc.name] = r.doc.definition
      files[r.doc.name] = r.doc.file
    }
  }
  if (problems.length > 0) throw definitionProblemsError(problems)
  return loadDatasets(defs, {files})
}

export interface Recorded {
  definition: Record<string, unknown>
  publishedBy?: string
}

/** The definitions the deployed lakehouse recorded (raw bucket, `_datasets/<name>.json`). */
export async function recordedDefinitions(s3: S3Client, bucket: string, signal?: AbortSignal): Promise<Map<string, Recorded>> {
  const out = new Map<string, Recorded>()
  let token: string | undefined
  do {
    const page = await s3.send(new ListObjectsV2Command({Bucket: bucket, Prefix: DATASETS_PREFIX, ContinuationToken: token}), {abortSignal: signal})
    for (const o of page.Contents ?? []) {
      const name = o.Key!.slice(DATASETS_PREFIX.length).replace(/\.json$/, '')
      if (datasetDefinitionKey(name) !== o.Key) continue
      const object = await s3.send(new GetObjectCommand({Bucket: bucket, Key: o.Key}), {abortSignal: signal})
      const definition = JSON.parse(await object.Body!.transformToString()) as Record<string, unknown>
      out.set(name, {definition, publishedBy: object.Metadata?.[PUBLISHED_BY]})
    }
    token = page.NextContinuationToken
  } while (token)
  return out
}

export function recordedDatasets(recorded: Map<string, Recorded>): Datasets {
  return loadDatasets(Object.fromEntries([...recorded].map(([n, r]) => [n, r.definition])), {
    files: Object.fromEntries([...recorded.keys()].map((n) => [n, `deployed ${datasetDefinitionKey(n)}`])),
  })
}
