import {existsSync, readdirSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {notFoundError} from '../cli/errors.js'

/** The package root (where templates/ and dist/functions/ live), from src/lib/deploy or dist/lib/deploy. */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')

export interface PhaseDefinition {
  name: string
  templatePath: string
  /** Function bundles the template takes as parameters: bundle name → parameter holding its S3 key. */
  functions: Record<string, string>
}

/** Functions of known phases. A phase not listed here is a template with no function bundles. */
const FUNCTION_PARAMETERS: Record<string, Record<string, string>> = {
  phase1: {transform: 'TransformCodeKey', extractor: 'ExtractorCodeKey'},
}

export function listPhases(root = packageRoot): string[] {
  const dir = path.join(root, 'templates')
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$|\.json$/.test(f))
    .map((f) => f.replace(/\.(ya?ml|json)$/, ''))
    .sort()
}

/**
 * A phase by name (templates/<name>.yaml of cape) or a template file path (`./my-phase.yaml`: the phase is named
 * after the file).
 */
export function loadPhase(name: string, root = packageRoot): PhaseDefinition {
  if (/\.(ya?ml|json)$/.test(name) && existsSync(name)) {
    const phase = path.basename(name).replace(/\.(ya?ml|json)$/, '')
    if (!/^[a-z][a-z0-9-]*$/.test(phase)) {
      throw notFoundError('PHASE_NAME_INVALID', `Template file name "${path.basename(name)}" does not make a phase name (lower-case letters, digits, dashes).`)
    }
    return {name: phase, templatePath: path.resolve(name), functions: FUNCTION_PARAMETERS[phase] ?? {}}
  }
  for (const ext of ['yaml', 'yml', 'json']) {
    const templatePath = path.join(root, 'templates', `${name}.${ext}`)
    if (existsSync(templatePath)) return {name, templatePath, functions: FUNCTION_PARAMETERS[name] ?? {}}
  }
  const known = listPhases(root)
  throw notFoundError('PHASE_NOT_FOUND', `Unknown phase "${name}": there is no templates/${name}.yaml.`, [
    known.length > 0 ? `Known phases: ${known.join(', ')}.` : 'No templates found.',
  ])
}

export function functionBundlePath(fn: string, root = packageRoot): string {
  return path.join(root, 'dist', 'functions', `${fn}.zip`)
}
