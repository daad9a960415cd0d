/**
 * The resource graph of a template instance: which resources exist (resource Conditions), what each one depends on
 * (DependsOn plus implicit Ref/GetAtt/Sub references), and a topological order in parallel levels. Pure.
 */
import {formatError} from './errors.js'
import {evaluateConditions, referencedResources, type EvalContext, type ParamValues, type Pseudo} from './intrinsics.js'
import {dependsOnList, type Template} from './template.js'

export interface ResourceGraph {
  conditions: Record<string, boolean>
  /** Logical ids of the resources whose Condition is true (or that have none), in template order. */
  active: string[]
  /** logical id → the logical ids it depends on (all active). */
  deps: Map<string, Set<string>>
  /** Topological levels: every resource of level n depends only on resources of levels < n. */
  levels: string[][]
}

/** Kahn's algorithm in levels; throws `Circular dependency between resources: [...]` on a cycle. */
export function topologicalLevels(nodes: string[], deps: Map<string, Set<string>>): string[][] {
  const remaining = new Set(nodes)
  const levels: string[][] = []
  while (remaining.size > 0) {
    const level = [...remaining].filter((n) => [...(deps.get(n) ?? [])].every((d) => !remaining.has(d)))
    if (level.length === 0) {
      throw formatError(`Circular dependency between resources: [${[...remaining].sort().join(', ')}]`)
    }
    level.forEach((n) => remaining.delete(n))
    levels.push(level)
  }
  return levels
}

export function buildGraph(template: Template, parameters: ParamValues, pseudo: Pseudo): ResourceGraph {
  const base: Omit<EvalContext, 'conditions'> = {
    parameters, pseudo, mappings: template.Mappings, resources: new Set(),
    ref: () => null, getAtt: () => null,
  }
  const conditions = evaluateConditions(template, base)
  const all = Object.keys(template.Resources)
  const active = all.filter((id) => {
    const c = template.Resources[id].Condition
    return c === undefined || conditions[c]
  })
  const activeSet = new Set(active)
  const allSet = new Set(all)
  const deps = new Map<string, Set<string>>()
  for (const id of active) {
    const decl = template.Resources[id]
    const d = new Set<string>()
    for (const dep of dependsOnList(decl)) {
      if (!activeSet.has(dep)) {
        throw formatError(`Unresolved resource dependencies [${dep}] in the Resources block of the template (its Condition is false)`)
      }
      d.add(dep)
    }
    for (const ref of referencedResources(decl.Properties ?? {}, allSet, conditions)) {
      if (!activeSet.has(ref)) {
        throw formatError(`Unresolved resource dependencies [${ref}] in the Resources block of the template`)
      }
      d.add(ref)
    }
    if (d.has(id)) throw formatError(`Circular dependency between resources: [${id}]`)
    deps.set(id, d)
  }
  return {conditions, active, deps, levels: topologicalLevels(active, deps)}
}

/** Reverse order for deletion: dependents before what they depend on. */
export const deletionOrder = (levels: string[][]): string[][] => [...levels].reverse()
