import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import path from 'node:path'
import type {ErrorObject, ValidateFunction} from 'ajv'
import {closest} from 'fastest-levenshtein'
import {parseDocument} from 'yaml'
import {CapeError} from '../cli/errors.js'
import {ExitCode} from '../cli/exit-codes.js'
import {keyLineOf} from '../config/yaml-lines.js'
import datasetSchema from './dataset.schema.json' with {type: 'json'}

/**
 * Dataset definitions as documents: datasets/<name>.yaml files and cape.yaml `datasets:` entries, validated against
 * the published JSON Schema (schemas/dataset.schema.json) with ajv, every problem located by file and line with a
 * fix. The semantic checks (unique names, variants reaching the columns) are loadDatasets' (ingest/datasets.ts).
 */

export {datasetSchema}

export interface DefinitionProblem {
  file: string
  line?: number
  /** Dotted path inside the definition ('' = the whole definition). */
  path: string
  message: string
  fix?: string
}

export interface DefinitionDoc {
  name: string
  /** The file it came from, as given (datasets/visits.yaml, cape.yaml). */
  file: string
  line?: number
  definition: Record<string, unknown>
}

// ajv is loaded only when there is a definition to check (it costs ~40 ms; most commands never need it).
const load = createRequire(import.meta.url)
let compiled: ValidateFunction | undefined
function validator(): ValidateFunction {
  if (compiled) return compiled
  const {Ajv2020} = load('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js')
  compiled = new Ajv2020({allErrors: true, strict: true, strictRequired: false}).compile(datasetSchema)
  return compiled
}

const show = (v: unknown) => JSON.stringify(v)
const FIX_REQUIRED: Record<string, string> = {
  version: 'add `version: 1.0.0` (semantic version MAJOR.MINOR.PATCH)',
  owners: 'add `owners: [admin]` (IAM user or group names, or a cape role, allowed to change the dataset)',
  columns: 'add `columns:` with at least one `{name, type}`',
  key: 'add `key: [<column>]`: the columns identifying a record',
  name: 'add `name:`',
  type: 'add `type:` (string, integer, number, boolean or date)',
  header: 'add `header:` (the column names that identify the variant)',
}

function keysAllowedAt(pointer: string): string[] {
  const defs = datasetSchema.$defs
  if (pointer === '') return Object.keys(datasetSchema.properties)
  if (/^\/columns\/\d+$/.test(pointer)) return Object.keys(defs.column.properties)
  if (/^\/variants\/\d+$/.test(pointer)) return Object.keys(defs.variant.properties)
  return []
}

const toPath = (pointer: string): Array<string | number> =>
  pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~')).map((p) => (/^\d+$/.test(p) ? Number(p) : p))
const dotted = (parts: Array<string | number>) => parts.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('')

function describe(e: ErrorObject): {at: Array<string | number>; message: string; fix?: string} {
  const at = toPath(e.instancePath)
  const params = e.params as Record<string, any>
  const last = at.at(-1)
  switch (e.keyword) {
    case 'required':
      return {at: [...at, params.missingProperty], message: 'is required', fix: FIX_REQUIRED[params.missingProperty]}
    case 'dependentRequired':
      return {at: [...at, params.property], message: `needs ${params.missingProperty}`, fix: FIX_REQUIRED[params.missingProperty]}
    case 'additionalProperties': {
      const allowed = keysAllowedAt(e.instancePath)
      const near = allowed.length > 0 ? closest(params.additionalProperty, allowed) : undefined
      return {
        at: [...at, params.additionalProperty],
        message: `unknown key ${show(params.additionalProperty)}`,
        fix: allowed.length > 0 ? `${near ? `did you mean ${show(near)}? ` : ''}allowed: ${allowed.join(', ')}` : undefined,
      }
    }
    case 'enum':
      return {at, message: `must be one of ${(params.allowedValues as unknown[]).map(show).join(', ')}`}
    case 'pattern':
      if (last === 'version') return {at, message: 'is not a semantic version', fix: 'use MAJOR.MINOR.PATCH, e.g. 1.0.0'}
      if (last === 'name') return {at, message: 'is not a valid name', fix: 'use lower case letters, digits, "-" or "_", starting with a letter'}
      return {at, message: `must match ${params.pattern}`, fix: typeof last === 'number' ? 'no leading or trailing whitespace' : undefined}
    case 'type':
      return {at, message: `must be ${params.type === 'object' ? 'a mapping' : params.type === 'array' ? 'a list' : `a ${params.type}`}`, fix: last === 'version' ? 'write MAJOR.MINOR.PATCH, e.g. 1.0.0 (YAML reads 1.0 as a number)' : undefined}
    case 'uniqueItems':
      return {at, message: `lists the same entry twice (items ${params.j} and ${params.i})`}
    default:
      return {at, message: e.message ?? e.keyword}
  }
}

/**
 * The schema's problems with one definition. `locate` maps a path inside the definition to its line; `partial`
 * (a cape.yaml entry adding variants to a built-in) drops the required top-level keys, which the built-in supplies.
 */
export function schemaProblems(definition: unknown, file: string, locate: (at: Array<string | number>) => number | undefined, partial = false): DefinitionProblem[] {
  const validate = validator()
  if (validate(definition)) return []
  const out: DefinitionProblem[] = []
  for (const e of validate.errors ?? []) {
    if (partial && e.keyword === 'required' && e.instancePath === '') continue
    const d = describe(e)
    out.push({file, line: locate(d.at), path: dotted(d.at), message: d.message, ...(d.fix ? {fix: d.fix} : {})})
  }
  return out.sort((a, b) => (a.line ?? 0) - (b.line ?? 0))
}

/** One datasets/<name>.yaml: YAML syntax, the schema, and its name (the file's). */
export function parseDatasetFile(text: string, file: string): {doc?: DefinitionDoc; problems: DefinitionProblem[]} {
  const yaml = parseDocument(text, {prettyErrors: true})
  if (yaml.errors.length > 0) {
    const e = yaml.errors[0]
    return {problems: [{file, line: e.linePos?.[0]?.line, path: '', message: e.message.split('\n')[0], fix: 'fix the YAML syntax'}]}
  }
  const definition = yaml.toJS() as unknown
  const name = path.basename(file).replace(/\.ya?ml$/, '')
  if (definition === null || typeof definition !== 'object' || Array.isArray(definition)) {
    return {problems: [{file, line: 1, path: '', message: 'must be a mapping (name, version, owners, columns, …)', fix: 'see schemas/dataset.schema.json'}]}
  }
  const problems = schemaProblems(definition, file, (at) => keyLineOf(yaml, at, text))
  const declared = (definition as {name?: unknown}).name
  if (typeof declared === 'string' && declared !== name) {
    problems.push({file, line: keyLineOf(yaml, ['name'], text), path: 'name', message: `${show(declared)} differs from the file name`, fix: `rename the file to datasets/${declared}.yaml, or set name: ${name}`})
  }
  if (problems.length > 0) return {problems: problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0))}
  const {$schema: _, ...rest} = definition as Record<string, unknown>
  return {doc: {name, file, line: 1, definition: {...rest, name}}, problems: []}
}

/** Every datasets/*.yaml in `dir` (sorted), as documents, with all their problems. `display` prefixes the file names. */
export function readDatasetDir(dir: string, display = 'datasets'): {docs: DefinitionDoc[]; problems: DefinitionProblem[]} {
  const docs: DefinitionDoc[] = []
  const problems: DefinitionProblem[] = []
  if (!existsSync(dir)) return {docs, problems}
  for (const f of readdirSync(dir).filter((n) => /\.ya?ml$/.test(n)).sort()) {
    const r = parseDatasetFile(readFileSync(path.join(dir, f), 'utf8'), `${display}/${f}`)
    if (r.doc) docs.push(r.doc)
    problems.push(...r.problems)
  }
  return {docs, problems}
}

export const formatProblem = (p: DefinitionProblem) =>
  `${p.file}${p.line ? `:${p.line}` : ''}: ${p.path ? `${p.path}: ` : ''}${p.message}${p.fix ? ` (fix: ${p.fix})` : ''}`

/** All problems as one CapeError DATASET_DEFINITION_INVALID (exit config), one line each. */
export function definitionProblemsError(problems: DefinitionProblem[]) {
  const lines = problems.map(formatProblem)
  return new CapeError('DATASET_DEFINITION_INVALID', `invalid dataset definition${problems.length > 1 ? 's' : ''}:\n  ${lines.join('\n  ')}`, {
    exit: ExitCode.config,
    hints: ['The dataset format: schemas/dataset.schema.json (README, "Datasets as a governed model").'],
    data: {problems},
  })
}
