/**
 * Change-set computation: the new template (with its parameters) against the stack's resources as provisioned
 * → Add / Modify / Remove with Replacement, Scope and Details. Also the evaluation context shared with the engine.
 * Pure.
 */
import {templateError, validationError} from './errors.js'
import {buildGraph, type ResourceGraph} from './graph.js'
import {containsUnresolved, evaluate, Unresolved, type EvalContext, type ParamValues, type Pseudo, type Value} from './intrinsics.js'
import type {Properties, ProviderRegistry} from './providers/types.js'
import {requiresRecreation} from './replacement.js'
import type {ResourceChange, ResourceChangeDetail, ResourceState, StackOutput} from './state.js'
import type {Json, Template} from './template.js'

/** A resource that exists (has a physical id and was not deleted). */
export const isLive = (r: ResourceState | undefined): r is ResourceState & {physicalId: string} =>
  r !== undefined && r.physicalId !== undefined && r.status !== 'DELETE_COMPLETE' && r.status !== 'DELETE_SKIPPED' &&
  !(r.status === 'CREATE_FAILED')

export interface ContextInput {
  template: Template
  graph: ResourceGraph
  parameters: ParamValues
  pseudo: Pseudo
  providers: ProviderRegistry
  importValue?: (name: string) => string
  /** Physical id + attributes of a resource, or undefined when not known (yet). */
  lookup: (logicalId: string) => {physicalId: string; attributes: Record<string, Json>} | undefined
}

/** The evaluation context for resource properties and outputs of one template instance. */
export function evalContext(input: ContextInput): EvalContext {
  const {template, graph, providers} = input
  return {
    parameters: input.parameters,
    pseudo: input.pseudo,
    conditions: graph.conditions,
    mappings: template.Mappings,
    resources: new Set(graph.active),
    importValue: input.importValue,
    ref: (id) => input.lookup(id)?.physicalId ?? new Unresolved(`${id}`),
    getAtt: (id, attr) => {
      const type = template.Resources[id].Type
      const allowed = providers.get(type)?.attributes
      if (allowed !== undefined && !allowed.includes(attr)) {
        throw templateError(`resource ${id} does not support attribute type ${attr} in Fn::GetAtt`)
      }
      const found = input.lookup(id)
      if (!found) return new Unresolved(`${id}.${attr}`)
      if (!(attr in found.attributes)) {
        if (allowed === undefined) throw templateError(`resource ${id} does not support attribute type ${attr} in Fn::GetAtt`)
        return new Unresolved(`${id}.${attr}`)
      }
      return found.attributes[attr]
    },
  }
}

/** Compare two property values the way CloudFormation does: scalars as strings. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Unresolved || b instanceof Unresolved) return false
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i]))
  }
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null
  if (isObj(a) || isObj(b)) {
    if (!isObj(a) || !isObj(b)) return false
    const keys = new Set([...Object.keys(a), ...Object.keys(b)])
    return [...keys].every((k) => sameValue(a[k], b[k]))
  }
  if (a === undefined || b === undefined || a === null || b === null) return a === b
  return String(a) === String(b)
}

/** Names of the top-level properties that differ. */
export function changedProperties(oldProps: Record<string, unknown>, newProps: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(oldProps), ...Object.keys(newProps)])]
  return keys.filter((k) => !sameValue(oldProps[k], newProps[k])).sort()
}

export interface PlanInput {
  template: Template
  parameters: ParamValues
  pseudo: Pseudo
  providers: ProviderRegistry
  /** The stack's resources (empty for a new stack). */
  current: Record<string, ResourceState>
  /** The stack's previous template (for telling direct modifications from reference changes). */
  previousTemplate?: Template
  importValue?: (name: string) => string
}

export interface Plan {
  graph: ResourceGraph
  changes: ResourceChange[]
}

/** Evaluate a resource's Properties; the result may contain Unresolved values. */
export function resolveProperties(template: Template, logicalId: string, ctx: EvalContext): Record<string, Value> {
  return evaluate((template.Resources[logicalId].Properties ?? {}) as Value, ctx) as Record<string, Value>
}

/** Compute the resource changes of a change set. Throws ValidationError for template errors. */
export function planChanges(input: PlanInput): Plan {
  const {template, current} = input
  const graph = buildGraph(template, input.parameters, input.pseudo)
  const changing = new Set<string>()
  const ctx = evalContext({
    ...input, graph,
    lookup: (id) => {
      const r = current[id]
      return !changing.has(id) && isLive(r) ? {physicalId: r.physicalId, attributes: r.attributes} : undefined
    },
  })
  const typeChanged = graph.active.filter((id) => isLive(current[id]) && current[id].type !== template.Resources[id].Type)
  if (typeChanged.length > 0) {
    throw validationError(`Update of resource type is not permitted. The new template modifies resource type of the following resources: [${typeChanged.join(', ')}]`)
  }

  const changes: ResourceChange[] = []
  for (const id of graph.levels.flat()) {
    const decl = template.Resources[id]
    const props = resolveProperties(template, id, ctx)
    const existing = current[id]
    if (!isLive(existing)) {
      changing.add(id)
      changes.push({Action: 'Add', LogicalResourceId: id, ResourceType: decl.Type, Scope: [], Details: []})
      continue
    }
    const changed = changedProperties(existing.props, props)
    if (changed.length === 0) continue
    const previousProps = input.previousTemplate?.Resources[id]?.Properties ?? {}
    const details: ResourceChangeDetail[] = changed.map((name) => {
      const dynamic = containsUnresolved(props[name])
      const direct = !sameValue(previousProps[name], (decl.Properties ?? {})[name])
      const recreation = requiresRecreation(decl.Type, name)
      return {
        Target: {Attribute: 'Properties', Name: name, RequiresRecreation: recreation === 'Always' && dynamic ? 'Conditionally' : recreation},
        Evaluation: dynamic ? 'Dynamic' : 'Static',
        ChangeSource: direct ? 'DirectModification' : dynamic ? 'ResourceReference' : 'ParameterReference',
      }
    })
    const recreations = details.map((d) => d.Target.RequiresRecreation)
    const replacement = recreations.includes('Always') ? 'True' : recreations.includes('Conditionally') ? 'Conditional' : 'False'
    if (replacement !== 'False') changing.add(id)
    changes.push({
      Action: 'Modify', LogicalResourceId: id, PhysicalResourceId: existing.physicalId, ResourceType: decl.Type,
      Replacement: replacement, Scope: changed.includes('Tags') ? ['Properties', 'Tags'] : ['Properties'], Details: details,
    })
  }
  const active = new Set(graph.active)
  for (const [id, r] of Object.entries(current)) {
    if (active.has(id) || !isLive(r)) continue
    changes.push({Action: 'Remove', LogicalResourceId: id, PhysicalResourceId: r.physicalId, ResourceType: r.type, Scope: [], Details: []})
  }
  // outputs must evaluate (unknown attributes, bad Fn::Select… are template errors now, not at execution)
  evaluateOutputs(template, ctx)
  return {graph, changes}
}

const outputString = (v: Value): string =>
  Array.isArray(v) ? v.map(outputString).join(',') : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)

/**
 * Evaluate the Outputs (those whose Condition is true). Unresolved values are kept as Unresolved in `pending`
 * (change-set time); at execution time every value is known.
 */
export function evaluateOutputs(template: Template, ctx: EvalContext): {outputs: StackOutput[]; pending: string[]} {
  const outputs: StackOutput[] = []
  const pending: string[] = []
  for (const [key, decl] of Object.entries(template.Outputs)) {
    if (decl.Condition !== undefined && !ctx.conditions[decl.Condition]) continue
    const value = evaluate(decl.Value as Value, ctx)
    const exportName = decl.Export === undefined ? undefined : evaluate(decl.Export.Name as Value, ctx)
    if (containsUnresolved(value) || containsUnresolved(exportName)) {
      pending.push(key)
      continue
    }
    outputs.push({
      OutputKey: key, OutputValue: outputString(value),
      ...(decl.Description === undefined ? {} : {Description: decl.Description}),
      ...(exportName === undefined ? {} : {ExportName: outputString(exportName)}),
    })
  }
  return {outputs, pending}
}

/** Resolved properties (no Unresolved left) as JSON for a provider. */
export function concreteProperties(props: Record<string, Value>, logicalId: string): Properties {
  if (containsUnresolved(props)) throw templateError(`properties of ${logicalId} reference values that are not available`)
  return props as Properties
}
