/**
 * Named transforms that turn a dataset variant into its canonical form. Pure: no I/O, no state between rows.
 * A transform is bound once to the file's header (so per-row work is just index lookups) and returns the new
 * header, an optional per-row function, and where each output column came from (for error messages that name
 * the column as it is in the file).
 *
 * All transforms live in the one `transforms` map below; dataset definitions (built-in JSON or cape.yaml) refer to
 * them by name.
 */
export interface BoundTransform {
  /** The header after the transform. */
  header: string[]
  /** Values in input-header order → values in output-header order. Absent: values unchanged. */
  row?: (values: readonly string[]) => string[]
  /** For each output column, the index of the input column it comes from, or -1 if it has none. Absent: identity. */
  origin?: number[]
}

export interface Transform {
  description: string
  bind(header: readonly string[]): BoundTransform
}

/** A transform that renames columns (values untouched). Renaming a column that is absent is a no-op. */
export function renameColumns(renames: Readonly<Record<string, string>>): Transform {
  const pairs = Object.entries(renames).map(([from, to]) => `"${from}" → "${to}"`).join(', ')
  return {
    description: `rename columns: ${pairs}`,
    bind: (header) => ({header: header.map((name) => (Object.hasOwn(renames, name) ? renames[name] : name))}),
  }
}

/** Trims leading and trailing whitespace of every value. */
const trimValues: Transform = {
  description: 'trim leading and trailing whitespace from every value',
  bind: (header) => ({header: [...header], row: (values) => values.map((v) => v.trim())}),
}

export const transforms: Readonly<Record<string, Transform>> = Object.freeze({
  'dob-rename': renameColumns({'Date of Birth': 'DOB'}),
  'trim-values': trimValues,
})

export const transformNames = (): string[] => Object.keys(transforms)

/** The composition of several bound transforms (applied left to right). */
export interface TransformChain {
  header: string[]
  /** For each output column, the index of the input (file) column it comes from, or -1. */
  origin: number[]
  /** Undefined when no transform changes values (pure renames): then values pass through untouched. */
  row?: (values: readonly string[]) => string[]
}

/**
 * Bind `names` (in order, after an optional declarative rename) to `header`. Throws on an unknown name: callers
 * validate names at load time (loadDatasets), so this only fires on a programming error.
 */
export function bindTransforms(header: readonly string[], names: readonly string[], rename?: Readonly<Record<string, string>>): TransformChain {
  const steps: Transform[] = []
  if (rename !== undefined && Object.keys(rename).length > 0) steps.push(renameColumns(rename))
  for (const name of names) {
    const t = Object.hasOwn(transforms, name) ? transforms[name] : undefined
    if (t === undefined) throw new Error(`unknown transform "${name}"`)
    steps.push(t)
  }
  let current = [...header]
  let origin = header.map((_, i) => i)
  const rows: Array<(values: readonly string[]) => string[]> = []
  for (const step of steps) {
    const bound = step.bind(current)
    const stepOrigin = bound.origin ?? bound.header.map((_, i) => i)
    origin = stepOrigin.map((i) => (i < 0 ? -1 : origin[i]))
    current = bound.header
    if (bound.row) rows.push(bound.row)
  }
  if (rows.length === 0) return {header: current, origin}
  if (rows.length === 1) return {header: current, origin, row: rows[0]}
  return {header: current, origin, row: (values) => rows.reduce<readonly string[]>((v, f) => f(v), values) as string[]}
}
