import {z} from 'zod'
import {CapeError, configError} from '../cli/errors.js'
import {ExitCode} from '../cli/exit-codes.js'
import {builtInDefinitions} from '../datasets/built-in.js'
import {bindTransforms, transformNames, transforms} from './transforms.js'

/**
 * Dataset formats are data: built-ins ship as datasets/<name>.yaml at the package root, users add or extend datasets
 * in cape.yaml (`datasets:`) or datasets/<name>.yaml beside it, no code needed. A dataset has canonical columns and variants recognised by their header, each
 * naming the registered transforms (see transforms.ts) that turn it into the canonical form.
 */

export const columnTypes = ['string', 'integer', 'number', 'boolean', 'date', 'timestamp'] as const
export type ColumnType = (typeof columnTypes)[number]

export interface Column {
  name: string
  type: ColumnType
  /** A value must be present (not empty or whitespace only). A required column must also be in the header. */
  required: boolean
  /** No two rows of one file may have the same (non-empty) value. */
  unique: boolean
  /** Regular expression (JavaScript, `u` flag) the whole non-empty value must match: it is anchored for you. */
  pattern?: string
  description?: string
}

export interface Variant {
  name: string
  description?: string
  /** The header that identifies this variant (order does not matter; optional columns may be left out). */
  header: string[]
  /** Registered transform names, applied in order (after `rename`). */
  transforms: string[]
  /** Declarative column renames {inFile: canonical}, applied before `transforms`: lets cape.yaml add variants without code. */
  rename?: Record<string, string>
}

export interface Dataset {
  name: string
  description?: string
  /** Semantic version (MAJOR.MINOR.PATCH); required of definition files, optional inline in cape.yaml. */
  version?: string
  /** IAM user or group names (or cape role names) allowed to change the dataset. */
  owners?: string[]
  /** milestoned: curated keeps every version of each record identified by `key` (recorded, not yet applied). */
  history?: 'milestoned'
  key?: string[]
  /** The file the definition came from (datasets/<name>.yaml, cape.yaml), when known. */
  file?: string
  columns: Column[]
  /** The implicit `canonical` variant (the column names, no transforms) first, then the declared ones. */
  variants: Variant[]
  source: 'built-in' | 'cape.yaml' | 'built-in+cape.yaml'
}

export type Datasets = ReadonlyMap<string, Dataset>

export const CANONICAL = 'canonical'

const slug = z.string().regex(/^[a-z][a-z0-9_-]*$/, 'must be lower case letters, digits, "-" or "_", starting with a letter')
const headerName = z.string().min(1, 'must not be empty').refine((s) => s.trim() === s, 'must not start or end with whitespace')

const isRegex = (p: string): boolean => {
  try {
    new RegExp(p, 'u')
    return true
  } catch {
    return false
  }
}

const ColumnSchema = z.strictObject({
  name: headerName,
  type: z.enum(columnTypes),
  required: z.boolean().default(false),
  unique: z.boolean().default(false),
  pattern: z.string().min(1).refine(isRegex, 'is not a valid regular expression').optional(),
  description: z.string().optional(),
})

const VariantSchema = z.strictObject({
  name: slug,
  description: z.string().optional(),
  header: z.array(headerName).min(1),
  transforms: z.array(z.string().refine((t) => Object.hasOwn(transforms, t), {
    error: (issue) => `unknown transform ${JSON.stringify(issue.input)} (known: ${transformNames().join(', ')})`,
  })).default([]),
  rename: z.record(z.string(), headerName).optional(),
})

const DatasetSchema = z.strictObject({
  $schema: z.string().optional(),
  name: slug.optional(),
  description: z.string().optional(),
  version: z.string().regex(/^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$/, 'must be MAJOR.MINOR.PATCH, e.g. 1.0.0').optional(),
  owners: z.array(z.string().min(1)).min(1).optional(),
  history: z.literal('milestoned').optional(),
  key: z.array(z.string().min(1)).min(1).optional(),
  /** Optional only when extending a built-in dataset with more variants. */
  columns: z.array(ColumnSchema).min(1).optional(),
  variants: z.array(VariantSchema).default([]),
})

type ParsedDataset = z.infer<typeof DatasetSchema>

function pathText(path: ReadonlyArray<PropertyKey>, input: unknown): string {
  let text = ''
  let node: any = input
  for (const key of path) {
    node = node?.[key as any]
    if (typeof key === 'number') {
      text += `[${key}]`
      const name = node && typeof node === 'object' && typeof node.name === 'string' ? node.name : undefined
      if (name !== undefined) text += ` (${JSON.stringify(name)})`
    } else {
      text += text === '' ? String(key) : `.${String(key)}`
    }
  }
  return text
}

const definitionError = (where: string, problems: string[]) =>
  configError(
    'DATASET_DEFINITION_INVALID',
    `invalid dataset definition ${where}: ${problems.join('; ')}`,
    ['Dataset definitions: name, description, columns (name, type: string|integer|number|boolean|date|timestamp, required, unique, pattern), variants (name, header, transforms, rename).'],
  )

function parseDefinition(input: unknown, where: string): ParsedDataset {
  const parsed = DatasetSchema.safeParse(input)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const p = pathText(i.path, input)
      return p === '' ? i.message : `${p}: ${i.message}`
    })
    throw definitionError(where, problems)
  }
  return parsed.data
}

/** Semantic checks zod cannot express: unique names, and every variant really reaching the canonical columns. */
function checkDataset(dataset: Dataset, where: string): void {
  const problems: string[] = []
  const dupes = (names: string[]) => [...new Set(names.filter((n, i) => names.indexOf(n) !== i))]
  for (const d of dupes(dataset.columns.map((c) => c.name))) problems.push(`column ${JSON.stringify(d)} is defined twice`)
  for (const d of dupes(dataset.variants.map((v) => v.name))) {
    problems.push(d === CANONICAL ? `variant name "${CANONICAL}" is reserved for the columns themselves` : `variant ${JSON.stringify(d)} is defined twice`)
  }
  const canonical = new Set(dataset.columns.map((c) => c.name))
  if (dataset.history === 'milestoned' && dataset.key === undefined) problems.push('key: is required with history: milestoned (the columns identifying a record)')
  for (const k of dataset.key ?? []) if (!canonical.has(k)) problems.push(`key: ${JSON.stringify(k)} is not a column of the dataset`)
  for (const variant of dataset.variants.slice(1)) {
    const label = `variant ${JSON.stringify(variant.name)}`
    for (const d of dupes(variant.header)) problems.push(`${label}: header column ${JSON.stringify(d)} is listed twice`)
    const chain = bindTransforms(variant.header, variant.transforms, variant.rename)
    const steps = [...(variant.rename ? ['rename'] : []), ...variant.transforms].join(', ') || 'no transforms'
    const unknown = chain.header.filter((n) => !canonical.has(n))
    if (unknown.length > 0) problems.push(`${label}: after ${steps} the header has ${unknown.map((n) => JSON.stringify(n)).join(', ')}, which ${unknown.length === 1 ? 'is not a column' : 'are not columns'} of the dataset`)
    for (const d of dupes(chain.header)) problems.push(`${label}: after ${steps} column ${JSON.stringify(d)} appears twice`)
    const missing = dataset.columns.filter((c) => c.required && !chain.header.includes(c.name)).map((c) => JSON.stringify(c.name))
    if (missing.length > 0) problems.push(`${label}: required ${missing.length === 1 ? 'column' : 'columns'} ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not in its header`)
  }
  if (problems.length > 0) throw definitionError(where, problems)
}

function build(def: ParsedDataset, name: string, columns: Column[], extraVariants: Variant[], source: Dataset['source'], file?: string): Dataset {
  const canonical: Variant = {name: CANONICAL, header: columns.map((c) => c.name), transforms: []}
  const optional = {description: def.description, version: def.version, owners: def.owners, history: def.history, key: def.key, file}
  const present = Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)) as Partial<Dataset>
  return {name, ...present, columns, variants: [canonical, ...extraVariants], source}
}

const toVariants = (def: ParsedDataset): Variant[] => def.variants.map((v) => ({...v}))

function loadBuiltIns(): Map<string, Dataset> {
  const out = new Map<string, Dataset>()
  for (const {file, definition: raw} of builtInDefinitions()) {
    const name = (raw as {name?: string}).name ?? '?'
    const where = `built-in ${JSON.stringify(name)} (${file})`
    const def = parseDefinition(raw, where)
    const dataset = build(def, name, def.columns as Column[], toVariants(def), 'built-in', file)
    checkDataset(dataset, where)
    out.set(name, dataset)
  }
  return out
}

/**
 * The built-in datasets merged with user definitions (the `datasets:` section of cape.yaml: a list of definitions
 * with `name`, or a map name → definition). A user definition with the name of a built-in and with `columns`
 * replaces it; without `columns` it adds its variants to the built-in. Throws CapeError DATASET_DEFINITION_INVALID
 * (exit config) naming the dataset and the field.
 */
export function loadDatasets(extra?: unknown, options: {files?: Readonly<Record<string, string>>} = {}): Datasets {
  const datasets = loadBuiltIns()
  if (extra === undefined || extra === null) return datasets
  let entries: Array<{where: string; name: string | undefined; raw: unknown}>
  if (Array.isArray(extra)) {
    entries = extra.map((raw, i) => {
      const name = raw && typeof raw === 'object' && typeof (raw as any).name === 'string' ? (raw as any).name as string : undefined
      return {where: `datasets[${i}]${name === undefined ? '' : ` (${JSON.stringify(name)})`}`, name, raw}
    })
  } else if (typeof extra === 'object') {
    entries = Object.entries(extra as Record<string, unknown>).map(([key, raw]) => ({where: options.files?.[key] ?? `datasets.${key}`, name: key, raw}))
  } else {
    throw configError('DATASET_DEFINITION_INVALID', `invalid dataset definitions: expected a list or a map of datasets, got ${typeof extra}`)
  }
  const seen = new Set<string>()
  for (const {where, name: key, raw} of entries) {
    const def = parseDefinition(raw, where)
    if (Array.isArray(extra) && def.name === undefined) throw definitionError(where, ['name: is required'])
    if (!Array.isArray(extra) && def.name !== undefined && def.name !== key) {
      throw definitionError(where, [`name: ${JSON.stringify(def.name)} differs from its key ${JSON.stringify(key)}`])
    }
    const name = (def.name ?? key) as string
    const badName = slug.safeParse(name)
    if (!badName.success) throw definitionError(where, [`name: ${badName.error.issues[0].message}`])
    if (seen.has(name)) throw definitionError(where, [`dataset ${JSON.stringify(name)} is defined twice`])
    seen.add(name)
    const builtIn = datasets.get(name)
    let dataset: Dataset
    if (def.columns !== undefined) {
      dataset = build(def, name, def.columns as Column[], toVariants(def), 'cape.yaml', options.files?.[name])
    } else if (builtIn !== undefined) {
      dataset = {...builtIn, variants: [...builtIn.variants, ...toVariants(def)], source: 'built-in+cape.yaml'}
      if (def.description !== undefined) dataset.description = def.description
    } else {
      throw definitionError(where, [`columns: is required (only a built-in dataset — ${[...datasets.keys()].join(', ')} — can be extended with variants alone)`])
    }
    checkDataset(dataset, where)
    datasets.set(name, dataset)
  }
  return datasets
}

/** The dataset called `name`, or a CapeError DATASET_UNKNOWN (exit usage) listing the known ones. */
export function getDataset(datasets: Datasets, name: string): Dataset {
  const d = datasets.get(name)
  if (d === undefined) {
    throw new CapeError('DATASET_UNKNOWN', `unknown dataset ${JSON.stringify(name)}`, {
      exit: ExitCode.usage,
      hints: [`Known datasets: ${[...datasets.keys()].join(', ')}`],
    })
  }
  return d
}
