/**
 * The stack engine: executes change sets (create / update with replacement), deletes stacks, rolls back on
 * failure, and finishes operations a restart interrupted. Walks the resource graph in dependency order (independent
 * resources concurrently), emits stack events, and saves the stack after every step.
 */
import {randomUUID} from 'node:crypto'
import {isQueryError} from '../query.js'
import {buildGraph} from './graph.js'
import type {ParamValues, Pseudo} from './intrinsics.js'
import {parameterValues} from './parameters.js'
import {changedProperties, concreteProperties, evalContext, evaluateOutputs, isLive, resolveProperties} from './plan.js'
import {unsupportedResourceType, type Properties, type ProviderContext, type ProviderRegistry} from './providers/types.js'
import {requiresRecreation} from './replacement.js'
import {runGraph} from './run-graph.js'
import type {ChangeSetState, JournalStep, OperationJournal, ResourceState, ResourceStatus, StackState, StackStatus} from './state.js'
import {parseTemplate, type Template} from './template.js'

export interface EngineOptions {
  providers: ProviderRegistry
  accountId: string
  region: string
  now: () => Date
  /** Persist the stack (called after every state change). */
  save: (stack: StackState) => void
  /** Value of an export of another stack (Fn::ImportValue). */
  importValue: (name: string) => string
  concurrency?: number
}

class StepFailure extends Error {
  constructor(readonly logicalId: string, readonly reason: string) {
    super(reason)
  }
}

/** A provider error as a ResourceStatusReason. */
export function failureReason(error: unknown): string {
  if (isQueryError(error)) return `${error.message} (${error.code})`
  if (error instanceof Error) return error.message
  return String(error)
}

const clone = <T>(v: T): T => structuredClone(v)

export class StackEngine {
  private readonly o: EngineOptions

  constructor(options: EngineOptions) {
    this.o = options
  }

  // ------------------------------------------------------------------------------------------------------------
  // events

  private secrets(stack: StackState): string[] {
    const out: string[] = []
    for (const r of Object.values(stack.resources)) {
      for (const name of this.o.providers.get(r.type)?.secretAttributes ?? []) {
        const v = r.attributes[name]
        if (typeof v === 'string' && v.length > 0) out.push(v)
      }
    }
    return out
  }

  private redact(stack: StackState, text: string | undefined): string | undefined {
    if (text === undefined) return undefined
    let out = text
    for (const s of this.secrets(stack)) out = out.split(s).join('****')
    return out
  }

  private resourceEvent(stack: StackState, r: {logicalId: string; type: string; physicalId?: string}, status: ResourceStatus,
    reason?: string, props?: Properties): void {
    stack.events.push({
      EventId: randomUUID(), StackId: stack.stackId, StackName: stack.stackName,
      LogicalResourceId: r.logicalId, PhysicalResourceId: r.physicalId ?? '', ResourceType: r.type,
      Timestamp: this.o.now().toISOString(), ResourceStatus: status,
      ...(reason === undefined ? {} : {ResourceStatusReason: this.redact(stack, reason)}),
      ...(props === undefined ? {} : {ResourceProperties: this.redact(stack, JSON.stringify(props))}),
    })
    this.o.save(stack)
  }

  private stackEvent(stack: StackState, status: StackStatus, reason?: string): void {
    stack.status = status
    stack.statusReason = reason
    stack.events.push({
      EventId: randomUUID(), StackId: stack.stackId, StackName: stack.stackName, LogicalResourceId: stack.stackName,
      PhysicalResourceId: stack.stackId, ResourceType: 'AWS::CloudFormation::Stack', Timestamp: this.o.now().toISOString(),
      ResourceStatus: status, ...(reason === undefined ? {} : {ResourceStatusReason: this.redact(stack, reason)}),
    })
    this.o.save(stack)
  }

  private setResource(stack: StackState, r: ResourceState, status: ResourceStatus, reason?: string, props?: Properties): void {
    r.status = status
    r.statusReason = reason
    r.updatedAt = this.o.now().toISOString()
    stack.resources[r.logicalId] = r
    this.resourceEvent(stack, r, status, reason, props)
  }

  private pctx(stack: StackState, logicalId: string): ProviderContext {
    return {stackName: stack.stackName, stackId: stack.stackId, logicalId, accountId: this.o.accountId, region: this.o.region}
  }

  pseudo(stack: StackState): Pseudo {
    return {accountId: this.o.accountId, region: this.o.region, stackName: stack.stackName, stackId: stack.stackId}
  }

  // ------------------------------------------------------------------------------------------------------------
  // execute a change set

  /** Execute a change set (the service has checked the statuses). Resolves when the stack is at rest. */
  async execute(stack: StackState, cs: ChangeSetState): Promise<void> {
    const template = parseTemplate(cs.templateBody)
    const parameters = parameterValues(template, cs.parameters)
    const isCreate = stack.status === 'REVIEW_IN_PROGRESS'
    const journal: OperationJournal = {
      kind: isCreate ? 'CREATE' : 'UPDATE', changeSetId: cs.id, startedAt: this.o.now().toISOString(), steps: [], replaced: [], removed: [],
      ...(isCreate ? {} : {previous: {
        templateBody: stack.templateBody ?? '', parameters: stack.parameters, outputs: stack.outputs, description: stack.description,
        capabilities: stack.capabilities, imports: stack.imports,
      }}),
    }
    stack.operation = journal
    cs.executionStatus = 'EXECUTE_IN_PROGRESS'
    stack.templateBody = cs.templateBody
    stack.parameters = cs.parameters
    stack.capabilities = cs.capabilities
    stack.description = template.Description
    if (!isCreate) stack.lastUpdatedTime = this.o.now().toISOString()
    this.stackEvent(stack, isCreate ? 'CREATE_IN_PROGRESS' : 'UPDATE_IN_PROGRESS', 'User Initiated')

    const failure = await this.forward(stack, template, parameters, journal)
    if (failure) {
      journal.failure = failure
      this.o.save(stack)
      if (isCreate) await this.rollbackCreate(stack, failure)
      else await this.rollbackUpdate(stack)
      cs.executionStatus = 'EXECUTE_FAILED'
    } else {
      if (!isCreate) await this.cleanup(stack)
      cs.executionStatus = 'EXECUTE_COMPLETE'
      for (const id of Object.keys(stack.changeSets)) if (id !== cs.id) delete stack.changeSets[id]
      stack.operation = undefined
      this.stackEvent(stack, isCreate ? 'CREATE_COMPLETE' : 'UPDATE_COMPLETE')
    }
    stack.operation = undefined
    this.o.save(stack)
  }

  private async forward(stack: StackState, template: Template, parameters: ParamValues, journal: OperationJournal)
    : Promise<{logicalId: string; reason: string} | undefined> {
    let graph
    try {
      graph = buildGraph(template, parameters, this.pseudo(stack))
    } catch (error) {
      return {logicalId: stack.stackName, reason: failureReason(error)}
    }
    const active = new Set(graph.active)
    journal.removed = Object.values(stack.resources).filter((r) => !active.has(r.logicalId) && isLive(r))
      .map((r) => ({logicalId: r.logicalId, resource: clone(r)}))
    this.o.save(stack)
    const ctx = evalContext({
      template, graph, parameters, pseudo: this.pseudo(stack), providers: this.o.providers, importValue: this.o.importValue,
      lookup: (id) => {
        const r = stack.resources[id]
        return isLive(r) ? {physicalId: r.physicalId, attributes: r.attributes} : undefined
      },
    })
    const result = await runGraph(graph.active, (id) => graph.deps.get(id) ?? [], async (id) => {
      let props: Properties
      try {
        props = concreteProperties(resolveProperties(template, id, ctx), id)
      } catch (error) {
        const r = this.blank(stack, template, id, [...(graph.deps.get(id) ?? [])])
        const reason = failureReason(error)
        this.setResource(stack, isLive(stack.resources[id]) ? stack.resources[id] : r,
          isLive(stack.resources[id]) ? 'UPDATE_FAILED' : 'CREATE_FAILED', reason)
        throw new StepFailure(id, reason)
      }
      await this.provision(stack, template, id, props, [...(graph.deps.get(id) ?? [])], journal)
    }, {concurrency: this.o.concurrency})
    const first = result.failed[0]
    if (first) {
      const e = first.error
      return e instanceof StepFailure ? {logicalId: e.logicalId, reason: e.reason} : {logicalId: first.id, reason: failureReason(e)}
    }
    try {
      stack.outputs = evaluateOutputs(template, ctx).outputs
      stack.imports = collectImports(template)
    } catch (error) {
      return {logicalId: stack.stackName, reason: failureReason(error)}
    }
    return undefined
  }

  private blank(stack: StackState, template: Template, id: string, dependsOn: string[]): ResourceState {
    const decl = template.Resources[id]
    return {
      logicalId: id, type: decl.Type, status: 'CREATE_IN_PROGRESS', props: {}, attributes: {}, dependsOn,
      deletionPolicy: decl.DeletionPolicy, updateReplacePolicy: decl.UpdateReplacePolicy, updatedAt: this.o.now().toISOString(),
    }
  }

  private async provision(stack: StackState, template: Template, id: string, props: Properties, dependsOn: string[],
    journal: OperationJournal): Promise<void> {
    const decl = template.Resources[id]
    const provider = this.o.providers.get(decl.Type)
    const existing = stack.resources[id]
    const ctx = this.pctx(stack, id)
    if (!isLive(existing)) {
      const step: JournalStep = {logicalId: id, action: 'create', done: false}
      journal.steps.push(step)
      const r = {...this.blank(stack, template, id, dependsOn), props}
      this.setResource(stack, r, 'CREATE_IN_PROGRESS', undefined, props)
      try {
        if (!provider) throw new Error(unsupportedResourceType(decl.Type))
        const created = await provider.create(ctx, id, props)
        r.physicalId = created.physicalId
        r.attributes = created.attributes
        step.createdPhysicalId = created.physicalId
        step.done = true
      } catch (error) {
        const reason = failureReason(error)
        this.setResource(stack, r, 'CREATE_FAILED', reason)
        throw new StepFailure(id, reason)
      }
      this.setResource(stack, r, 'CREATE_COMPLETE')
      return
    }
    existing.dependsOn = dependsOn
    existing.deletionPolicy = decl.DeletionPolicy
    existing.updateReplacePolicy = decl.UpdateReplacePolicy
    const changed = changedProperties(existing.props, props)
    if (changed.length === 0) return
    const replace = changed.some((p) => requiresRecreation(decl.Type, p) === 'Always')
    const before = clone(existing)
    const step: JournalStep = {logicalId: id, action: replace ? 'replace' : 'update', before, done: false}
    journal.steps.push(step)
    const r: ResourceState = {...clone(existing), props}
    try {
      if (!provider) throw new Error(unsupportedResourceType(decl.Type))
      if (replace) {
        this.setResource(stack, r, 'UPDATE_IN_PROGRESS', 'Requested update requires the creation of a new physical resource; hence creating one.', props)
        const created = await provider.create(ctx, id, props)
        step.createdPhysicalId = created.physicalId
        journal.replaced.push({logicalId: id, resource: before})
        r.physicalId = created.physicalId
        r.attributes = created.attributes
      } else {
        this.setResource(stack, r, 'UPDATE_IN_PROGRESS', undefined, props)
        const updated = await provider.update(ctx, id, existing.physicalId, before.props, props)
        r.physicalId = updated.physicalId ?? existing.physicalId
        r.attributes = {...before.attributes, ...updated.attributes}
      }
      step.done = true
    } catch (error) {
      const reason = failureReason(error)
      this.setResource(stack, r, 'UPDATE_FAILED', reason)
      throw new StepFailure(id, reason)
    }
    this.setResource(stack, r, 'UPDATE_COMPLETE')
  }

  // ------------------------------------------------------------------------------------------------------------
  // deletion helpers

  /**
   * Delete live resources in reverse dependency order. Returns the logical ids that failed, and those not attempted
   * because something depending on them failed.
   */
  private async deleteResources(stack: StackState, resources: ResourceState[], retain: (r: ResourceState) => boolean,
    onDeleted: (r: ResourceState) => void = () => {}): Promise<{failed: string[]; blocked: string[]}> {
    const byId = new Map(resources.map((r) => [r.logicalId, r]))
    // reverse edges: a resource waits for the resources that depend on it
    const dependents = new Map<string, string[]>()
    for (const r of resources) for (const d of r.dependsOn) if (byId.has(d)) dependents.set(d, [...(dependents.get(d) ?? []), r.logicalId])
    const result = await runGraph([...byId.keys()], (id) => dependents.get(id) ?? [], async (id) => {
      const r = byId.get(id) as ResourceState
      await this.deleteOne(stack, r, retain(r))
      onDeleted(r)
    }, {concurrency: this.o.concurrency, continueOnError: true})
    return {failed: result.failed.map((f) => f.id), blocked: result.skipped}
  }

  private async deleteOne(stack: StackState, r: ResourceState, retained: boolean): Promise<void> {
    if (retained) {
      this.setResource(stack, r, 'DELETE_SKIPPED')
      return
    }
    this.setResource(stack, r, 'DELETE_IN_PROGRESS')
    try {
      const provider = this.o.providers.get(r.type)
      if (provider && r.physicalId !== undefined) await provider.delete(this.pctx(stack, r.logicalId), r.physicalId, r.props)
    } catch (error) {
      this.setResource(stack, r, 'DELETE_FAILED', failureReason(error))
      throw error
    }
    this.setResource(stack, r, 'DELETE_COMPLETE')
  }

  /** Delete a physical resource that is not (or no longer) the stack's current one: replaced or rolled back. */
  private async deleteDetached(stack: StackState, r: ResourceState, retained: boolean): Promise<boolean> {
    const shadow = clone(r)
    const event = (status: ResourceStatus, reason?: string) => this.resourceEvent(stack, shadow, status, reason)
    if (retained) {
      event('DELETE_SKIPPED')
      return true
    }
    event('DELETE_IN_PROGRESS')
    try {
      const provider = this.o.providers.get(r.type)
      if (provider && r.physicalId !== undefined) await provider.delete(this.pctx(stack, r.logicalId), r.physicalId, r.props)
    } catch (error) {
      event('DELETE_FAILED', failureReason(error))
      return false
    }
    event('DELETE_COMPLETE')
    return true
  }

  // ------------------------------------------------------------------------------------------------------------
  // update cleanup and rollbacks

  private async cleanup(stack: StackState): Promise<void> {
    const journal = stack.operation as OperationJournal
    this.stackEvent(stack, 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS')
    for (const {resource} of journal.replaced) await this.deleteDetached(stack, resource, resource.updateReplacePolicy === 'Retain')
    const removed = journal.removed.map((x) => stack.resources[x.logicalId] ?? x.resource).filter((r) => isLive(r))
    await this.deleteResources(stack, removed, (r) => r.deletionPolicy === 'Retain' || r.deletionPolicy === 'RetainExceptOnCreate',
      (r) => {
        delete stack.resources[r.logicalId]
      })
    journal.replaced = []
    journal.removed = []
  }

  private rollbackReason(stack: StackState, verb: 'create' | 'update', failure: {logicalId: string; reason: string}): string {
    const failed = Object.values(stack.resources).filter((r) => r.status === (verb === 'create' ? 'CREATE_FAILED' : 'UPDATE_FAILED') ||
      (verb === 'update' && r.status === 'CREATE_FAILED')).map((r) => r.logicalId)
    const list = failed.length > 0 ? failed : [failure.logicalId]
    return `The following resource(s) failed to ${verb}: [${list.join(', ')}]. Rollback requested by user. ` +
      `${failure.logicalId}: ${failure.reason}`
  }

  private async rollbackCreate(stack: StackState, failure: {logicalId: string; reason: string}): Promise<void> {
    const reason = stack.status === 'ROLLBACK_IN_PROGRESS' && stack.statusReason ? stack.statusReason : this.rollbackReason(stack, 'create', failure)
    this.stackEvent(stack, 'ROLLBACK_IN_PROGRESS', reason)
    const live = Object.values(stack.resources).filter((r) => isLive(r) || r.status === 'DELETE_FAILED' || r.status === 'DELETE_IN_PROGRESS')
    const {failed} = await this.deleteResources(stack, live, (r) => r.deletionPolicy === 'Retain')
    if (failed.length > 0) {
      this.stackEvent(stack, 'ROLLBACK_FAILED', `The following resource(s) failed to delete: [${failed.join(', ')}]. ${reason}`)
    } else {
      this.stackEvent(stack, 'ROLLBACK_COMPLETE')
      stack.statusReason = reason
    }
    stack.outputs = []
    stack.operation = undefined
    this.o.save(stack)
  }

  private async rollbackUpdate(stack: StackState): Promise<void> {
    const journal = stack.operation as OperationJournal
    const failure = journal.failure ?? {logicalId: stack.stackName, reason: 'Stack operation interrupted'}
    const reason = stack.status === 'UPDATE_ROLLBACK_IN_PROGRESS' && stack.statusReason ? stack.statusReason : this.rollbackReason(stack, 'update', failure)
    if (stack.status !== 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS') this.stackEvent(stack, 'UPDATE_ROLLBACK_IN_PROGRESS', reason)
    const previous = journal.previous
    if (previous) {
      stack.templateBody = previous.templateBody
      stack.parameters = previous.parameters
      stack.outputs = previous.outputs
      stack.description = previous.description
      stack.capabilities = previous.capabilities
      stack.imports = previous.imports
    }
    let ok = true
    journal.rollbackDeletes ??= []
    if (stack.status === 'UPDATE_ROLLBACK_IN_PROGRESS') {
      for (const step of [...journal.steps].reverse()) {
        if (step.undone) continue
        const current = stack.resources[step.logicalId]
        if (step.action === 'create') {
          if (current && (isLive(current) || current.status === 'CREATE_IN_PROGRESS' || current.status === 'DELETE_FAILED')) {
            try {
              await this.deleteOne(stack, current, false)
            } catch {
              ok = false
              continue
            }
          }
          delete stack.resources[step.logicalId]
        } else if (step.before) {
          const before = clone(step.before)
          if (step.action === 'update' && step.done && current?.physicalId !== undefined) {
            this.setResource(stack, {...current}, 'UPDATE_IN_PROGRESS', undefined, before.props)
            try {
              const provider = this.o.providers.get(before.type)
              const updated = await provider?.update(this.pctx(stack, step.logicalId), step.logicalId, current.physicalId, current.props, before.props)
              before.attributes = {...before.attributes, ...updated?.attributes}
              before.physicalId = updated?.physicalId ?? current.physicalId
            } catch (error) {
              this.setResource(stack, {...current}, 'UPDATE_FAILED', failureReason(error))
              ok = false
              continue
            }
          }
          if (step.action === 'replace' && step.createdPhysicalId !== undefined && current) {
            journal.rollbackDeletes.push({logicalId: step.logicalId, resource: {...clone(current), physicalId: step.createdPhysicalId}})
          }
          this.setResource(stack, before, 'UPDATE_COMPLETE')
        }
        step.undone = true
        this.o.save(stack)
      }
      if (!ok) {
        this.stackEvent(stack, 'UPDATE_ROLLBACK_FAILED', reason)
        stack.operation = undefined
        this.o.save(stack)
        return
      }
      this.stackEvent(stack, 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS')
    }
    for (const {resource} of journal.rollbackDeletes) await this.deleteDetached(stack, resource, false)
    journal.rollbackDeletes = []
    this.stackEvent(stack, 'UPDATE_ROLLBACK_COMPLETE')
    stack.statusReason = reason
    stack.operation = undefined
    this.o.save(stack)
  }

  // ------------------------------------------------------------------------------------------------------------
  // delete stack

  async deleteStack(stack: StackState, retainResources: string[] = []): Promise<void> {
    stack.operation = {kind: 'DELETE', startedAt: this.o.now().toISOString(), steps: [], replaced: [], removed: [], retainResources}
    this.stackEvent(stack, 'DELETE_IN_PROGRESS', 'User Initiated')
    await this.continueDelete(stack)
  }

  private async continueDelete(stack: StackState): Promise<void> {
    const retain = new Set(stack.operation?.retainResources ?? [])
    const live = Object.values(stack.resources).filter((r) => isLive(r) || r.status === 'DELETE_FAILED' || r.status === 'DELETE_IN_PROGRESS')
    const {failed} = await this.deleteResources(stack, live, (r) => r.deletionPolicy === 'Retain' || r.deletionPolicy === 'RetainExceptOnCreate' || retain.has(r.logicalId))
    stack.operation = undefined
    if (failed.length > 0) {
      this.stackEvent(stack, 'DELETE_FAILED', `The following resource(s) failed to delete: [${failed.join(', ')}]. `)
      return
    }
    stack.deletionTime = this.o.now().toISOString()
    stack.changeSets = {}
    stack.outputs = []
    this.stackEvent(stack, 'DELETE_COMPLETE')
  }

  // ------------------------------------------------------------------------------------------------------------
  // restart recovery

  /** Finish (or roll back) an operation a restart interrupted; change sets being computed are marked FAILED. */
  async recover(stack: StackState): Promise<void> {
    const interrupted = 'Stack operation interrupted: the cape local platform was restarted'
    for (const cs of Object.values(stack.changeSets)) {
      if (cs.status === 'CREATE_PENDING' || cs.status === 'CREATE_IN_PROGRESS') {
        cs.status = 'FAILED'
        cs.statusReason = 'Change set creation interrupted: the cape local platform was restarted'
        cs.executionStatus = 'UNAVAILABLE'
      }
    }
    const changeSetId = stack.operation?.changeSetId ??
      Object.values(stack.changeSets).find((c) => c.executionStatus === 'EXECUTE_IN_PROGRESS')?.id
    const markExecution = (status: 'EXECUTE_COMPLETE' | 'EXECUTE_FAILED') => {
      if (changeSetId && stack.changeSets[changeSetId]) stack.changeSets[changeSetId].executionStatus = status
    }
    for (const r of Object.values(stack.resources)) {
      if (r.status === 'CREATE_IN_PROGRESS' && r.physicalId === undefined) {
        this.setResource(stack, r, 'CREATE_FAILED', interrupted)
      } else if (r.status === 'UPDATE_IN_PROGRESS') {
        this.setResource(stack, r, 'UPDATE_FAILED', interrupted)
      }
    }
    this.o.save(stack)
    switch (stack.status) {
      case 'CREATE_IN_PROGRESS':
      case 'ROLLBACK_IN_PROGRESS':
        await this.rollbackCreate(stack, stack.operation?.failure ?? {logicalId: stack.stackName, reason: interrupted})
        markExecution('EXECUTE_FAILED')
        break
      case 'UPDATE_IN_PROGRESS':
        stack.operation ??= {kind: 'UPDATE', startedAt: this.o.now().toISOString(), steps: [], replaced: [], removed: []}
        stack.operation.failure ??= {logicalId: stack.stackName, reason: interrupted}
        await this.rollbackUpdate(stack)
        markExecution('EXECUTE_FAILED')
        break
      case 'UPDATE_ROLLBACK_IN_PROGRESS':
      case 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS':
        stack.operation ??= {kind: 'UPDATE', startedAt: this.o.now().toISOString(), steps: [], replaced: [], removed: []}
        await this.rollbackUpdate(stack)
        markExecution('EXECUTE_FAILED')
        break
      case 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS':
        stack.operation ??= {kind: 'UPDATE', startedAt: this.o.now().toISOString(), steps: [], replaced: [], removed: []}
        await this.cleanup(stack)
        markExecution('EXECUTE_COMPLETE')
        stack.operation = undefined
        this.stackEvent(stack, 'UPDATE_COMPLETE')
        break
      case 'DELETE_IN_PROGRESS':
        await this.continueDelete(stack)
        break
      default: {
        // execution requested but never started (restart in between): executable again
        const cs = changeSetId ? stack.changeSets[changeSetId] : undefined
        if (cs?.executionStatus === 'EXECUTE_IN_PROGRESS') cs.executionStatus = 'AVAILABLE'
        break
      }
    }
    this.o.save(stack)
  }
}

/** Export names a template imports with Fn::ImportValue (literal names only). */
export function collectImports(template: Template): string[] {
  const names = new Set<string>()
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit)
    else if (typeof v === 'object' && v !== null) {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'Fn::ImportValue' && typeof x === 'string') names.add(x)
        visit(x)
      }
    }
  }
  visit(template.Resources)
  visit(template.Outputs)
  return [...names].sort()
}
