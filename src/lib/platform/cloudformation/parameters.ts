/**
 * Template parameters: resolve the values a stack operation uses (given, previous, default) and check constraints.
 * Pure.
 */
import {validationError} from './errors.js'
import type {ParamValues} from './intrinsics.js'
import {isNoEcho, parameterKind, type ParameterDecl, type Template} from './template.js'

export interface GivenParameter {
  key: string
  value?: string
  usePreviousValue?: boolean
}

const describeConstraint = (name: string, decl: ParameterDecl, fallback: string) =>
  decl.ConstraintDescription
    ? `Parameter '${name}' failed to satisfy constraint: ${decl.ConstraintDescription}`
    : fallback

function checkOne(name: string, decl: ParameterDecl, value: string): void {
  const kind = parameterKind(decl.Type)
  const items = kind === 'list' || kind === 'numberList' ? (value === '' ? [] : value.split(',').map((s) => s.trim())) : [value]
  for (const item of items) {
    if ((kind === 'number' || kind === 'numberList') && (item.trim() === '' || !Number.isFinite(Number(item)))) {
      throw validationError(`Parameter '${name}' must be a number.`)
    }
    if (decl.AllowedValues && !decl.AllowedValues.map(String).includes(item)) {
      throw validationError(describeConstraint(name, decl, `Parameter '${name}' must be one of AllowedValues`))
    }
    if (decl.AllowedPattern !== undefined && !new RegExp(`^(?:${decl.AllowedPattern})$`).test(item)) {
      throw validationError(describeConstraint(name, decl, `Parameter '${name}' must match pattern ${decl.AllowedPattern}`))
    }
    if (decl.MinLength !== undefined && item.length < Number(decl.MinLength)) {
      throw validationError(describeConstraint(name, decl, `Parameter '${name}' must contain at least ${decl.MinLength} characters`))
    }
    if (decl.MaxLength !== undefined && item.length > Number(decl.MaxLength)) {
      throw validationError(describeConstraint(name, decl, `Parameter '${name}' must contain at most ${decl.MaxLength} characters`))
    }
    if (decl.MinValue !== undefined && Number(item) < Number(decl.MinValue)) {
      throw validationError(describeConstraint(name, decl, `Parameter '${name}' must be a number not less than ${decl.MinValue}`))
    }
    if (decl.MaxValue !== undefined && Number(item) > Number(decl.MaxValue)) {
      throw validationError(describeConstraint(name, decl, `Parameter '${name}' must be a number not greater than ${decl.MaxValue}`))
    }
  }
}

const defaultString = (v: unknown): string => (Array.isArray(v) ? v.map(String).join(',') : String(v))

/**
 * The raw (string) value of every template parameter: given value, else previous value (UsePreviousValue),
 * else Default. Throws AWS's messages for unknown keys, missing values and failed constraints.
 */
export function resolveParameterStrings(template: Template, given: GivenParameter[], previous: Record<string, string> = {}): Record<string, string> {
  const unknown = given.filter((g) => !(g.key in template.Parameters)).map((g) => g.key)
  if (unknown.length > 0) throw validationError(`Parameters: [${unknown.join(', ')}] do not exist in the template`)
  const out: Record<string, string> = {}
  const missing: string[] = []
  for (const [name, decl] of Object.entries(template.Parameters)) {
    const g = given.find((x) => x.key === name)
    let value: string | undefined
    if (g?.usePreviousValue) {
      if (!(name in previous)) throw validationError(`Invalid input for parameter key ${name}. Cannot specify usePreviousValue as true for a parameter key not in the previous template`)
      value = previous[name]
    } else if (g?.value !== undefined) value = g.value
    else if (decl.Default !== undefined) value = defaultString(decl.Default)
    if (value === undefined) {
      missing.push(name)
      continue
    }
    checkOne(name, decl, value)
    out[name] = value
  }
  if (missing.length > 0) throw validationError(`Parameters: [${missing.join(', ')}] must have values`)
  return out
}

/** Typed values for Ref: lists become arrays. */
export function parameterValues(template: Template, strings: Record<string, string>): ParamValues {
  const out: ParamValues = {}
  for (const [name, value] of Object.entries(strings)) {
    const kind = parameterKind(template.Parameters[name]?.Type ?? 'String')
    out[name] = kind === 'list' || kind === 'numberList' ? (value === '' ? [] : value.split(',').map((s) => s.trim())) : value
  }
  return out
}

/** Parameters as DescribeStacks shows them: NoEcho values masked. */
export function displayParameters(template: Template, strings: Record<string, string>): Array<{ParameterKey: string; ParameterValue: string}> {
  return Object.entries(strings).map(([k, v]) => ({
    ParameterKey: k,
    ParameterValue: template.Parameters[k] && isNoEcho(template.Parameters[k]) ? '****' : v,
  }))
}
