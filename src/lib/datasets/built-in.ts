import {readdirSync, readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {parse} from 'yaml'

/**
 * The built-in dataset definitions: `datasets/*.yaml` at the package root, the one source of truth. The CLI reads
 * them here (src/ and dist/ sit at the same depth); the function bundles get this module replaced at build time by
 * the same files, parsed (scripts/bundle-functions.mjs), so a function needs neither the files nor a YAML parser.
 */

export const BUILT_IN_DIR = fileURLToPath(new URL('../../../datasets/', import.meta.url))

export interface BuiltInDefinition {
  /** Path relative to the package root, e.g. datasets/participants.yaml. */
  file: string
  definition: unknown
}

let cached: BuiltInDefinition[] | undefined

export function builtInDefinitions(): BuiltInDefinition[] {
  cached ??= readdirSync(BUILT_IN_DIR)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => ({file: `datasets/${f}`, definition: parse(readFileSync(`${BUILT_IN_DIR}${f}`, 'utf8'))}))
  return cached
}
