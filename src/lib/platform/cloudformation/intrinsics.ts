/**
 * Intrinsic function evaluation, conditions, and implicit-dependency discovery. Pure.
 */
import {templateError} from './errors.js'
import type {Json, Template} from './template.js'
import {UNSUPPORTED_FUNCTIONS} from './template.js'

/** A value that is not known yet (a resource that does not exist yet, or will be replaced). */
export class Unresolved {
  constructor(readonly reason: string) {}
  toJSON() {
    return `{{unresolved:${this.reason}}}`
  }
}

/** `Ref: AWS::NoValue` — removes the property (or list element) it is the value of. */
export const NO_VALUE: unique symbol = Symbol('AWS::NoValue')

export type Value = Json | Unresolved | typeof NO_VALUE | Value[] | {[key: string]: Value}

export type ParamValues = Record<string, string | string[]>

export interface Pseudo {
  accountId: string
  region: string
  stackName: string
  stackId: string
}

export interface EvalContext {
  parameters: ParamValues
  pseudo: Pseudo
  conditions: Record<string, boolean>
  mappings: Template['Mappings']
  /** Logical ids of the resources that exist in this template (condition true). */
  resources: ReadonlySet<string>
  /** Physical id of a resource; Unresolved when not known yet. */
  ref(logicalId: string): Value
  /** An attribute of a resource; Unresolved when not known yet. Throws for an unknown attribute. */
  getAtt(logicalId: string, attribute: string): Value
  /** Value of an export of another stack (Fn::ImportValue). */
  importValue?(name: string): string
}

export const isUnresolved = (v: unknown): v is Unresolved => v instanceof Unresolved

const isPlainObject = (v: unknown): v is Record<string, Value> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Unresolved)

/** True when the value is an object with exactly one key that names an intrinsic function (or Ref/Condition). */
export function intrinsicName(v: unknown): string | undefined {
  if (!isPlainObject(v)) return undefined
  const keys = Object.keys(v)
  if (keys.length !== 1) return undefined
  const k = keys[0]
  return k === 'Ref' || k.startsWith('Fn::') ? k : undefined
}

export function containsUnresolved(v: unknown): boolean {
  if (v instanceof Unresolved) return true
  if (Array.isArray(v)) return v.some(containsUnresolved)
  if (isPlainObject(v)) return Object.values(v).some(containsUnresolved)
  return false
}

export const PSEUDO_PARAMETERS = ['AWS::AccountId', 'AWS::Region', 'AWS::StackName', 'AWS::StackId', 'AWS::Partition',
  'AWS::URLSuffix', 'AWS::NoValue', 'AWS::NotificationARNs']

function pseudoValue(name: string, p: Pseudo): Value | undefined {
  switch (name) {
    case 'AWS::AccountId': return p.accountId
    case 'AWS::Region': return p.region
    case 'AWS::StackName': return p.stackName
    case 'AWS::StackId': return p.stackId
    case 'AWS::Partition': return 'aws'
    case 'AWS::URLSuffix': return 'amazonaws.com'
    case 'AWS::NoValue': return NO_VALUE
    case 'AWS::NotificationARNs': return []
    default: return undefined
  }
}

const scalarString = (v: Value, fn: string): string => {
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  throw templateError(`${fn} expects a string, got ${JSON.stringify(v)}`)
}

const args = (v: Value, fn: string, n: number): Value[] => {
  if (!Array.isArray(v) || v.length !== n) throw templateError(`${fn} requires a list of ${n} parameters`)
  return v
}

/** Split a Fn::Sub template string into literal and `${...}` variable parts. */
export function parseSub(s: string): Array<{literal: string} | {variable: string}> {
  const parts: Array<{literal: string} | {variable: string}> = []
  let i = 0
  let literal = ''
  while (i < s.length) {
    if (s[i] === '$' && s[i + 1] === '{') {
      const end = s.indexOf('}', i + 2)
      if (end < 0) {
        literal += s.slice(i)
        break
      }
      const inner = s.slice(i + 2, end)
      if (inner.startsWith('!')) {
        literal += '${' + inner.slice(1) + '}'
      } else {
        if (literal) parts.push({literal})
        literal = ''
        parts.push({variable: inner.trim()})
      }
      i = end + 1
    } else {
      literal += s[i]
      i++
    }
  }
  if (literal) parts.push({literal})
  return parts
}

function refValue(name: string, ctx: EvalContext): Value {
  const pseudo = pseudoValue(name, ctx.pseudo)
  if (pseudo !== undefined) return pseudo
  if (name in ctx.parameters) return ctx.parameters[name]
  if (ctx.resources.has(name)) return ctx.ref(name)
  throw templateError(`Unresolved resource dependencies [${name}] in the Resources block of the template`)
}

/** Evaluate a condition expression to a boolean (Fn::Equals/Not/And/Or/Condition). */
export function evaluateCondition(expr: Json, ctx: EvalContext): boolean {
  const v = evaluate(expr, ctx)
  if (typeof v === 'boolean') return v
  if (v === 'true' || v === 'false') return v === 'true'
  throw templateError(`condition did not evaluate to a boolean: ${JSON.stringify(v)}`)
}

/**
 * Evaluate every named condition of the template (conditions may reference each other via `Condition`).
 * Throws on cycles and unknown names.
 */
export function evaluateConditions(template: Template, base: Omit<EvalContext, 'conditions'>): Record<string, boolean> {
  const done: Record<string, boolean> = {}
  const visiting = new Set<string>()
  const resolve = (name: string): boolean => {
    if (name in done) return done[name]
    if (!(name in template.Conditions)) throw templateError(`Unresolved condition dependency ${name}`)
    if (visiting.has(name)) throw templateError(`Circular condition dependency involving ${name}`)
    visiting.add(name)
    const conditions = new Proxy({} as Record<string, boolean>, {
      get: (_t, key) => (typeof key === 'string' ? resolve(key) : undefined),
      has: (_t, key) => typeof key === 'string' && key in template.Conditions,
    })
    const noResources: EvalContext = {
      ...base, conditions, resources: new Set(),
      ref: () => {
        throw templateError(`Cannot reference resources in the Conditions block of the template`)
      },
      getAtt: () => {
        throw templateError(`Cannot reference resources in the Conditions block of the template`)
      },
    }
    done[name] = evaluateCondition(template.Conditions[name], noResources)
    visiting.delete(name)
    return done[name]
  }
  for (const name of Object.keys(template.Conditions)) resolve(name)
  return done
}

const conditionValue = (name: Value, ctx: EvalContext): boolean => {
  if (typeof name !== 'string') throw templateError('Condition name must be a string')
  if (!(name in ctx.conditions)) throw templateError(`Unresolved condition dependency ${name}`)
  return ctx.conditions[name]
}

/**
 * Evaluate a template fragment. Intrinsics are replaced with their values; `AWS::NoValue` removes properties
 * and list elements; values that depend on resources not yet known are `Unresolved`.
 */
export function evaluate(value: Value, ctx: EvalContext): Value {
  if (Array.isArray(value)) {
    return value.map((v) => evaluate(v, ctx)).filter((v) => v !== NO_VALUE)
  }
  if (!isPlainObject(value)) return value
  const fn = intrinsicName(value)
  if (fn === undefined) {
    if (Object.keys(value).length === 1 && 'Condition' in value && typeof value.Condition === 'string') {
      return conditionValue(value.Condition, ctx)
    }
    const out: Record<string, Value> = {}
    for (const [k, v] of Object.entries(value)) {
      const e = evaluate(v, ctx)
      if (e !== NO_VALUE) out[k] = e
    }
    return out
  }
  const arg = (value as Record<string, Value>)[fn]
  switch (fn) {
    case 'Ref': {
      if (typeof arg !== 'string') throw templateError('Ref requires a string')
      return refValue(arg, ctx)
    }
    case 'Fn::GetAtt': {
      let parts: Value = arg
      if (typeof parts === 'string') {
        const dot = parts.indexOf('.')
        parts = [parts.slice(0, dot), parts.slice(dot + 1)]
      }
      const [id, attrRaw] = args(parts, fn, 2)
      const attr = evaluate(attrRaw, ctx)
      if (typeof id !== 'string' || typeof attr !== 'string') throw templateError('Fn::GetAtt requires a resource name and an attribute name')
      if (!ctx.resources.has(id)) {
        throw templateError(`Instance ${id} referenced by Fn::GetAtt does not exist in the Resources block of the template`)
      }
      return ctx.getAtt(id, attr)
    }
    case 'Fn::Sub': {
      let text: Value
      let vars: Record<string, Value> = {}
      if (typeof arg === 'string') {
        text = arg
      } else {
        const [t, v] = args(arg, fn, 2)
        text = t
        if (!isPlainObject(v)) throw templateError('Fn::Sub variables must be a map')
        vars = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, evaluate(x, ctx)]))
      }
      if (typeof text !== 'string') throw templateError('Fn::Sub requires a string')
      let out = ''
      for (const part of parseSub(text)) {
        if ('literal' in part) {
          out += part.literal
          continue
        }
        const name = part.variable
        let v: Value
        if (name in vars) v = vars[name]
        else if (name.includes('.') && !name.startsWith('AWS::')) {
          const dot = name.indexOf('.')
          const id = name.slice(0, dot)
          if (!ctx.resources.has(id)) {
            throw templateError(`Unresolved resource dependencies [${id}] in the Resources block of the template`)
          }
          v = ctx.getAtt(id, name.slice(dot + 1))
        } else v = refValue(name, ctx)
        if (v instanceof Unresolved) return v
        if (Array.isArray(v)) v = v.join(',')
        out += scalarString(v, 'Fn::Sub')
      }
      return out
    }
    case 'Fn::Join': {
      const [delim, list] = args(arg, fn, 2)
      const items = evaluate(list, ctx)
      if (items instanceof Unresolved) return items
      if (!Array.isArray(items)) throw templateError('Fn::Join requires a list of values to join')
      if (items.some((i) => i instanceof Unresolved)) return items.find((i) => i instanceof Unresolved) as Unresolved
      return items.map((i) => scalarString(i, fn)).join(scalarString(delim, fn))
    }
    case 'Fn::Select': {
      const [indexRaw, listRaw] = args(arg, fn, 2)
      const index = evaluate(indexRaw, ctx)
      const list = evaluate(listRaw, ctx)
      if (index instanceof Unresolved) return index
      if (list instanceof Unresolved) return list
      const i = Number(index)
      if (!Array.isArray(list)) throw templateError('Fn::Select requires a list')
      if (!Number.isInteger(i) || i < 0 || i >= list.length) {
        throw templateError(`Fn::Select cannot select nonexistent value at index ${String(index)}`)
      }
      return list[i]
    }
    case 'Fn::Split': {
      const [delim, sRaw] = args(arg, fn, 2)
      const s = evaluate(sRaw, ctx)
      if (s instanceof Unresolved) return s
      return scalarString(s, fn).split(scalarString(delim, fn))
    }
    case 'Fn::If': {
      const [cond, yes, no] = args(arg, fn, 3)
      return evaluate(conditionValue(cond, ctx) ? yes : no, ctx)
    }
    case 'Fn::Equals': {
      const [a, b] = args(arg, fn, 2).map((x) => evaluate(x, ctx))
      return JSON.stringify(normalizeScalar(a)) === JSON.stringify(normalizeScalar(b))
    }
    case 'Fn::Not': {
      const [c] = args(arg, fn, 1)
      return !evaluateCondition(c as Json, ctx)
    }
    case 'Fn::And':
    case 'Fn::Or': {
      if (!Array.isArray(arg) || arg.length < 2 || arg.length > 10) throw templateError(`${fn} requires 2 to 10 conditions`)
      const values = arg.map((c) => evaluateCondition(c as Json, ctx))
      return fn === 'Fn::And' ? values.every(Boolean) : values.some(Boolean)
    }
    case 'Fn::FindInMap': {
      const [m, k1, k2] = args(arg, fn, 3).map((x) => evaluate(x, ctx))
      const map = ctx.mappings[scalarString(m, fn)]
      if (!map) throw templateError(`Mapping named '${String(m)}' is not present in the 'Mappings' section of template.`)
      const top = map[scalarString(k1, fn)] as Record<string, Json> | undefined
      if (!top || !(scalarString(k2, fn) in top)) {
        throw templateError(`Unable to get mapping for ${String(m)}::${String(k1)}::${String(k2)}`)
      }
      return top[scalarString(k2, fn)]
    }
    case 'Fn::Base64': {
      const s = evaluate(arg, ctx)
      if (s instanceof Unresolved) return s
      return Buffer.from(scalarString(s, fn), 'utf8').toString('base64')
    }
    case 'Fn::GetAZs': {
      const r = evaluate(arg, ctx)
      const region = r === '' || r === undefined || r === null ? ctx.pseudo.region : scalarString(r, fn)
      return ['a', 'b', 'c'].map((z) => `${region}${z}`)
    }
    case 'Fn::ImportValue': {
      const name = evaluate(arg, ctx)
      if (name instanceof Unresolved) return name
      if (!ctx.importValue) throw templateError('Fn::ImportValue is not available here')
      return ctx.importValue(scalarString(name, fn))
    }
    default:
      if ((UNSUPPORTED_FUNCTIONS as readonly string[]).includes(fn)) {
        throw templateError(`${fn} is not supported on the local platform`)
      }
      throw templateError(`Encountered unsupported function: ${fn}`)
  }
}

const normalizeScalar = (v: Value): Value => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : v)

/**
 * Resources a fragment depends on implicitly (Ref, Fn::GetAtt, ${X} / ${X.Attr} in Fn::Sub).
 * `Fn::If` only follows the branch its condition selects when `conditions` is given.
 */
export function referencedResources(value: Value, resourceIds: ReadonlySet<string>, conditions?: Record<string, boolean>): Set<string> {
  const found = new Set<string>()
  const visit = (v: Value): void => {
    if (Array.isArray(v)) {
      v.forEach(visit)
      return
    }
    if (!isPlainObject(v)) return
    const fn = intrinsicName(v)
    const arg = fn === undefined ? undefined : v[fn]
    if (fn === 'Ref') {
      if (typeof arg === 'string' && resourceIds.has(arg)) found.add(arg)
      return
    }
    if (fn === 'Fn::GetAtt') {
      const id = Array.isArray(arg) ? arg[0] : typeof arg === 'string' ? arg.split('.')[0] : undefined
      if (typeof id === 'string') found.add(id)
      if (Array.isArray(arg)) visit(arg[1])
      return
    }
    if (fn === 'Fn::Sub') {
      const [text, vars] = typeof arg === 'string' ? [arg, {}] : Array.isArray(arg) ? [arg[0], arg[1]] : [undefined, {}]
      const varNames = isPlainObject(vars) ? new Set(Object.keys(vars)) : new Set<string>()
      if (typeof text === 'string') {
        for (const part of parseSub(text)) {
          if (!('variable' in part) || varNames.has(part.variable)) continue
          const id = part.variable.split('.')[0]
          if (resourceIds.has(id)) found.add(id)
          else if (part.variable.includes('.') && !part.variable.startsWith('AWS::')) found.add(id)
        }
      }
      if (isPlainObject(vars)) visit(vars)
      return
    }
    if (fn === 'Fn::If' && conditions && Array.isArray(arg) && typeof arg[0] === 'string' && arg[0] in conditions) {
      visit(conditions[arg[0]] ? arg[1] : arg[2])
      return
    }
    Object.values(v).forEach(visit)
  }
  visit(value)
  return found
}
