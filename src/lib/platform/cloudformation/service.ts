/**
 * The CloudFormation query service of the local platform: change sets, stacks, events, resources, templates.
 * Stack operations are asynchronous (the API answers at once; the engine works in the background), state is
 * persisted, and operations interrupted by a restart are finished or rolled back when the service starts.
 */
import {randomUUID} from 'node:crypto'
import type {Principal} from '../identity.js'
import {
  createQueryHandler, newRequestId, QueryError, QueryParams, queryResponseXml,
  type QueryAction, type QueryHandler, type QueryRequest, type XmlValue,
} from '../query.js'
import {StackEngine, collectImports} from './engine.js'
import {
  alreadyExists, changeSetNotFound, insufficientCapabilities, invalidChangeSetStatus, stackNotFound, validationError,
} from './errors.js'
import {displayParameters, parameterValues, resolveParameterStrings, type GivenParameter} from './parameters.js'
import {isLive, planChanges} from './plan.js'
import type {ProviderRegistry} from './providers/types.js'
import type {ChangeSetState, StackState} from './state.js'
import {IN_PROGRESS} from './state.js'
import {StackStore} from './store.js'
import {isNoEcho, parseTemplate, requiredCapabilities, type Template} from './template.js'

export const CLOUDFORMATION_NAMESPACE = 'http://cloudformation.amazonaws.com/doc/2010-05-15/'

export interface CloudFormationServiceOptions {
  /** `<data>/cloudformation` */
  dataDir: string
  accountId: string
  region: string
  providers: ProviderRegistry
  now?: () => Date
  /** Reads an object for TemplateURL (the S3 service's internal API). */
  getObject?: (bucket: string, key: string) => Promise<Buffer>
  /** Resources provisioned concurrently per stack operation. Default 8. */
  concurrency?: number
}

export interface CloudFormationService {
  /** Run one action; resolves to the full XML response body, throws QueryError for AWS-style errors. */
  handle(action: string, params: Record<string, string>, principal?: Principal): Promise<{xml: string}>
  /** The same, as a QueryHandler for the platform router (`registerQueryService('cloudformation', service.handler)`). */
  handler: QueryHandler
  /** Resolves when no change set computation or stack operation is running (tests, shutdown). */
  idle(): Promise<void>
  /** Waits for running operations, then stops accepting new ones. */
  close(): Promise<void>
}

const UPDATABLE = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE'])
const NO_CHANGES = "The submitted information didn't contain changes. Submit different information to create a change set."
const STACK_NAME = /^[A-Za-z][-A-Za-z0-9]{0,127}$/
const CHANGE_SET_NAME = /^[A-Za-z][-A-Za-z0-9]{0,127}$/

/** Parse an S3 TemplateURL: virtual-hosted or path style, AWS or local endpoint. */
export function parseTemplateUrl(url: string): {bucket: string; key: string} | undefined {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return undefined
  }
  const path = decodeURIComponent(u.pathname.replace(/^\//, ''))
  const vhost = /^(.+)\.s3[.-]([a-z0-9-]+\.)?amazonaws\.com$/.exec(u.hostname)
  if (vhost) return path ? {bucket: vhost[1], key: path} : undefined
  const slash = path.indexOf('/')
  if (slash <= 0) return undefined
  return {bucket: path.slice(0, slash), key: path.slice(slash + 1)}
}

export function createCloudFormationService(options: CloudFormationServiceOptions): CloudFormationService {
  const now = options.now ?? (() => new Date())
  const store = new StackStore(options.dataDir)
  const stacks = new Map<string, StackState>()
  for (const s of store.loadAll()) stacks.set(s.stackId, s)
  const running = new Set<Promise<unknown>>()
  let closed = false

  const exportsMap = (): Map<string, {value: string; stackId: string}> => {
    const m = new Map<string, {value: string; stackId: string}>()
    for (const s of stacks.values()) {
      if (s.status === 'DELETE_COMPLETE') continue
      for (const o of s.outputs) if (o.ExportName) m.set(o.ExportName, {value: o.OutputValue, stackId: s.stackId})
    }
    return m
  }
  const importValue = (name: string): string => {
    const e = exportsMap().get(name)
    if (!e) throw validationError(`No export named ${name} found.`)
    return e.value
  }

  const engine = new StackEngine({
    providers: options.providers, accountId: options.accountId, region: options.region, now,
    save: (s) => store.save(s), importValue, concurrency: options.concurrency,
  })

  const background = (task: () => Promise<void>): void => {
    const p: Promise<void> = new Promise<void>((resolve) => setTimeout(resolve, 0))
      .then(task)
      .catch(() => {
        // the engine records failures on the stack; a throw here is a bug we must not crash the process for
      })
      .finally(() => running.delete(p))
    running.add(p)
  }

  const idle = async (): Promise<void> => {
    while (running.size > 0) await Promise.allSettled([...running])
  }

  // ---------------------------------------------------------------------------------------------------------------
  // lookups

  const isoNow = () => now().toISOString()

  /** A stack by name (the current, not-deleted one) or by stack id (deleted ones included). */
  const findStack = (nameOrId: string): StackState | undefined => {
    if (nameOrId.startsWith('arn:')) return stacks.get(nameOrId)
    return [...stacks.values()].find((s) => s.stackName === nameOrId && s.status !== 'DELETE_COMPLETE')
  }
  const getStack = (nameOrId: string): StackState => {
    const s = findStack(nameOrId)
    if (!s) throw stackNotFound(nameOrId)
    return s
  }

  const findChangeSet = (p: QueryParams): {stack: StackState; cs: ChangeSetState} => {
    const name = p.required('ChangeSetName')
    if (name.startsWith('arn:')) {
      for (const stack of stacks.values()) {
        const cs = stack.changeSets[name]
        if (cs) return {stack, cs}
      }
      throw changeSetNotFound(name)
    }
    const stackName = p.string('StackName')
    if (!stackName) throw validationError('StackName must be specified if ChangeSetName is not specified as an ARN.')
    const stack = findStack(stackName)
    const cs = stack && Object.values(stack.changeSets).find((c) => c.name === name)
    if (!stack || !cs) throw changeSetNotFound(name)
    return {stack, cs}
  }

  const templateBodyFrom = async (p: QueryParams, previous?: string): Promise<string> => {
    const body = p.string('TemplateBody')
    if (body !== undefined && body !== '') return body
    const url = p.string('TemplateURL')
    if (url) {
      const loc = parseTemplateUrl(url)
      if (!loc) throw validationError(`TemplateURL must be a supported URL: ${url}`)
      if (!options.getObject) throw validationError('TemplateURL is not available on this local platform: send TemplateBody')
      try {
        return (await options.getObject(loc.bucket, loc.key)).toString('utf8')
      } catch (error) {
        throw validationError(`TemplateURL ${url} could not be read: ${(error as Error).message}`)
      }
    }
    if (p.bool('UsePreviousTemplate')) {
      if (previous === undefined) throw validationError('UsePreviousTemplate can only be used with an existing stack')
      return previous
    }
    throw validationError('Either Template URL or Template Body must be specified.')
  }

  const givenParameters = (p: QueryParams): GivenParameter[] => p.structs('Parameters').map((x) => ({
    key: String(x.ParameterKey ?? ''),
    ...(typeof x.ParameterValue === 'string' ? {value: x.ParameterValue} : {}),
    ...(typeof x.UsePreviousValue === 'string' && x.UsePreviousValue.toLowerCase() === 'true' ? {usePreviousValue: true} : {}),
  }))

  const checkCapabilities = (template: Template, given: string[]) => {
    const {capabilities} = requiredCapabilities(template)
    if (capabilities.length === 0) return
    if (given.includes('CAPABILITY_NAMED_IAM')) return
    if (capabilities[0] === 'CAPABILITY_IAM' && given.includes('CAPABILITY_IAM')) return
    throw insufficientCapabilities(capabilities)
  }

  const newStack = (name: string): StackState => {
    const t = isoNow()
    return {
      stackId: `arn:aws:cloudformation:${options.region}:${options.accountId}:stack/${name}/${randomUUID()}`,
      stackName: name, status: 'REVIEW_IN_PROGRESS', statusReason: 'User Initiated', creationTime: t, parameters: {}, capabilities: [],
      tags: [], resources: {}, outputs: [], imports: [], events: [], changeSets: {},
    }
  }

  const stackEventNow = (stack: StackState, status: string, reason?: string) => {
    stack.events.push({
      EventId: randomUUID(), StackId: stack.stackId, StackName: stack.stackName, LogicalResourceId: stack.stackName,
      PhysicalResourceId: stack.stackId, ResourceType: 'AWS::CloudFormation::Stack', Timestamp: isoNow(), ResourceStatus: status,
      ...(reason ? {ResourceStatusReason: reason} : {}),
    })
  }

  const assertOpen = () => {
    if (closed) throw new QueryError('ServiceUnavailable', 'The CloudFormation service of the local platform is shutting down', 503)
  }

  /** Compute a change set's resource changes in the background: CREATE_PENDING → CREATE_COMPLETE | FAILED. */
  const computeChangeSet = (stack: StackState, cs: ChangeSetState, template: Template, previousTemplate?: Template,
    then?: () => Promise<void>) => {
    background(async () => {
      cs.status = 'CREATE_IN_PROGRESS'
      store.save(stack)
      try {
        const plan = planChanges({
          template, parameters: parameterValues(template, cs.parameters), pseudo: engine.pseudo(stack),
          providers: options.providers, current: stack.resources, previousTemplate, importValue,
        })
        cs.changes = plan.changes
        const sameRest = previousTemplate !== undefined &&
          JSON.stringify(previousTemplate.Outputs) === JSON.stringify(template.Outputs) &&
          previousTemplate.Description === template.Description &&
          JSON.stringify(stack.parameters) === JSON.stringify(cs.parameters)
        if (cs.type === 'UPDATE' && plan.changes.length === 0 && sameRest) {
          cs.status = 'FAILED'
          cs.statusReason = NO_CHANGES
          cs.executionStatus = 'UNAVAILABLE'
        } else {
          cs.status = 'CREATE_COMPLETE'
          cs.executionStatus = 'AVAILABLE'
        }
      } catch (error) {
        cs.status = 'FAILED'
        cs.statusReason = error instanceof Error ? error.message : String(error)
        cs.executionStatus = 'UNAVAILABLE'
      }
      store.save(stack)
      if (then) await then()
    })
  }

  /** A change set execution was accepted but the engine has not switched the stack's status yet. */
  const executing = (stack: StackState) => Object.values(stack.changeSets).some((c) => c.executionStatus === 'EXECUTE_IN_PROGRESS')

  const startExecution = (stack: StackState, cs: ChangeSetState) => {
    cs.executionStatus = 'EXECUTE_IN_PROGRESS'
    store.save(stack)
    background(() => engine.execute(stack, cs))
  }

  /** Validate and register a change set; the diff is computed in the background. */
  const createChangeSet = async (p: QueryParams, internal?: {name: string; type: 'CREATE' | 'UPDATE'; then?: (s: StackState, c: ChangeSetState) => Promise<void>})
    : Promise<{stack: StackState; cs: ChangeSetState}> => {
    assertOpen()
    const stackName = p.required('StackName')
    const csName = internal?.name ?? p.required('ChangeSetName')
    const type = internal?.type ?? ((p.string('ChangeSetType') ?? 'UPDATE') as 'CREATE' | 'UPDATE' | 'IMPORT')
    if (type !== 'CREATE' && type !== 'UPDATE') throw validationError(`ChangeSetType ${type} is not supported on the local platform (CREATE or UPDATE)`)
    if (!STACK_NAME.test(stackName) && !stackName.startsWith('arn:')) {
      throw validationError(`1 validation error detected: Value '${stackName}' at 'stackName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*|arn:[-a-zA-Z0-9:/._+]*`)
    }
    if (!CHANGE_SET_NAME.test(csName)) {
      throw validationError(`1 validation error detected: Value '${csName}' at 'changeSetName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*`)
    }
    let stack = findStack(stackName)
    if (type === 'UPDATE') {
      if (!stack || stack.status === 'REVIEW_IN_PROGRESS') throw validationError(`Stack [${stackName}] does not exist`)
      if (!UPDATABLE.has(stack.status)) {
        throw validationError(`Stack:${stack.stackId} is in ${stack.status} state and can not be updated.`)
      }
    } else if (stack && stack.status !== 'REVIEW_IN_PROGRESS') {
      throw validationError(`Stack [${stackName}] already exists and cannot be created again with the changeSet [${csName}].`)
    }
    if (stack && Object.values(stack.changeSets).some((c) => c.name === csName)) {
      throw alreadyExists(`ChangeSet ${csName} already exists`)
    }
    const body = await templateBodyFrom(p, stack?.templateBody)
    const template = parseTemplate(body)
    const previousTemplate = type === 'UPDATE' && stack?.templateBody ? parseTemplate(stack.templateBody) : undefined
    const parameters = resolveParameterStrings(template, givenParameters(p), type === 'UPDATE' ? stack?.parameters : {})
    const capabilities = p.list('Capabilities')
    checkCapabilities(template, capabilities)
    const isNew = !stack
    stack ??= newStack(stackName)
    // graph problems (cycles, unresolved dependencies, bad conditions) are answered synchronously like AWS
    planChanges({
      template, parameters: parameterValues(template, parameters), pseudo: engine.pseudo(stack), providers: options.providers,
      current: {}, importValue,
    })
    if (isNew) {
      stacks.set(stack.stackId, stack)
      stackEventNow(stack, 'REVIEW_IN_PROGRESS', 'User Initiated')
    }
    const cs: ChangeSetState = {
      id: `arn:aws:cloudformation:${options.region}:${options.accountId}:changeSet/${csName}/${randomUUID()}`,
      name: csName, type, status: 'CREATE_PENDING', executionStatus: 'UNAVAILABLE', creationTime: isoNow(),
      templateBody: body, parameters, capabilities, tags: p.tags(), changes: [],
      ...(p.string('Description') ? {description: p.string('Description')} : {}),
    }
    stack.changeSets[cs.id] = cs
    store.save(stack)
    const s = stack
    computeChangeSet(stack, cs, template, previousTemplate, internal?.then ? () => internal.then!(s, cs) : undefined)
    return {stack, cs}
  }

  // ---------------------------------------------------------------------------------------------------------------
  // rendering

  const stackXml = (s: StackState): XmlValue => {
    const template = s.templateBody ? parseTemplate(s.templateBody) : undefined
    return {
      StackId: s.stackId, StackName: s.stackName,
      ChangeSetId: Object.values(s.changeSets).find((c) => c.executionStatus === 'EXECUTE_COMPLETE')?.id,
      Description: s.description,
      Parameters: template ? displayParameters(template, s.parameters) : [],
      CreationTime: s.creationTime, DeletionTime: s.deletionTime, LastUpdatedTime: s.lastUpdatedTime,
      StackStatus: s.status, StackStatusReason: s.statusReason,
      DisableRollback: false,
      NotificationARNs: [],
      Capabilities: s.capabilities,
      Outputs: s.outputs.map((o) => ({...o})),
      Tags: s.tags,
      EnableTerminationProtection: false,
      DriftInformation: {StackDriftStatus: 'NOT_CHECKED'},
    }
  }

  const changeSetParameters = (cs: ChangeSetState): XmlValue => {
    const template = parseTemplate(cs.templateBody)
    return Object.entries(cs.parameters).map(([k, v]) => ({
      ParameterKey: k, ParameterValue: template.Parameters[k] && isNoEcho(template.Parameters[k]) ? '****' : v,
    }))
  }

  const changeSetSummary = (stack: StackState, cs: ChangeSetState) => ({
    StackId: stack.stackId, StackName: stack.stackName, ChangeSetId: cs.id, ChangeSetName: cs.name,
    ExecutionStatus: cs.executionStatus, Status: cs.status, StatusReason: cs.statusReason, CreationTime: cs.creationTime,
    Description: cs.description, IncludeNestedStacks: false,
  })

  const resourceXml = (s: StackState, r: StackState['resources'][string]) => ({
    StackName: s.stackName, StackId: s.stackId, LogicalResourceId: r.logicalId, PhysicalResourceId: r.physicalId,
    ResourceType: r.type, Timestamp: r.updatedAt, ResourceStatus: r.status, ResourceStatusReason: r.statusReason,
    DriftInformation: {StackResourceDriftStatus: 'NOT_CHECKED'},
  })

  // ---------------------------------------------------------------------------------------------------------------
  // actions

  const actions: Record<string, QueryAction> = {
    ValidateTemplate: async ({params: p}) => {
      const template = parseTemplate(await templateBodyFrom(p))
      const caps = requiredCapabilities(template)
      return {
        Parameters: Object.entries(template.Parameters).map(([k, d]) => ({
          ParameterKey: k,
          DefaultValue: d.Default === undefined ? undefined : Array.isArray(d.Default) ? d.Default.map(String).join(',') : String(d.Default),
          NoEcho: isNoEcho(d), Description: d.Description,
        })),
        Description: template.Description,
        Capabilities: caps.capabilities,
        CapabilitiesReason: caps.reason,
        DeclaredTransforms: [],
      }
    },

    CreateChangeSet: async ({params: p}) => {
      const {stack, cs} = await createChangeSet(p)
      return {Id: cs.id, StackId: stack.stackId}
    },

    DescribeChangeSet: ({params: p}) => {
      const {stack, cs} = findChangeSet(p)
      return {
        ...changeSetSummary(stack, cs),
        Parameters: changeSetParameters(cs),
        NotificationARNs: [],
        RollbackConfiguration: {},
        Capabilities: cs.capabilities,
        Tags: cs.tags,
        Changes: cs.changes.map((c) => ({Type: 'Resource', ResourceChange: {...c, Details: c.Details.map((d) => ({...d}))}})),
      }
    },

    ListChangeSets: ({params: p}) => {
      const stack = getStack(p.required('StackName'))
      return {Summaries: Object.values(stack.changeSets).map((cs) => changeSetSummary(stack, cs))}
    },

    DeleteChangeSet: ({params: p}) => {
      const {stack, cs} = findChangeSet(p)
      if (cs.executionStatus === 'EXECUTE_IN_PROGRESS' || cs.status === 'CREATE_IN_PROGRESS' || cs.status === 'CREATE_PENDING') {
        throw invalidChangeSetStatus(`ChangeSet [${cs.id}] cannot be deleted: it is ${cs.executionStatus === 'EXECUTE_IN_PROGRESS' ? 'executing' : 'being created'}`)
      }
      delete stack.changeSets[cs.id]
      store.save(stack)
      return {}
    },

    ExecuteChangeSet: ({params: p}) => {
      assertOpen()
      const {stack, cs} = findChangeSet(p)
      if (cs.status !== 'CREATE_COMPLETE' || cs.executionStatus !== 'AVAILABLE') {
        throw invalidChangeSetStatus(`ChangeSet [${cs.id}] cannot be executed in its current status of [${cs.status}] and execution status [${cs.executionStatus}]`)
      }
      if (IN_PROGRESS(stack.status) || executing(stack)) {
        throw invalidChangeSetStatus(`ChangeSet [${cs.id}] cannot be executed: stack ${stack.stackName} is in ${stack.status} state`)
      }
      if (cs.type === 'UPDATE' && !UPDATABLE.has(stack.status)) {
        throw validationError(`Stack:${stack.stackId} is in ${stack.status} state and can not be updated.`)
      }
      startExecution(stack, cs)
      return {}
    },

    CreateStack: async ({params: p}) => {
      const name = p.required('StackName')
      const existing = findStack(name)
      if (existing && existing.status !== 'REVIEW_IN_PROGRESS') throw alreadyExists(`Stack [${name}] already exists`)
      const {stack} = await createChangeSet(p, {
        name: `cape-create-${randomUUID().slice(0, 8)}`, type: 'CREATE',
        then: async (s, cs) => {
          if (cs.status === 'CREATE_COMPLETE') {
            startExecution(s, cs)
            return
          }
          stackEventNow(s, 'ROLLBACK_COMPLETE', cs.statusReason)
          s.status = 'ROLLBACK_COMPLETE'
          s.statusReason = cs.statusReason
          store.save(s)
        },
      })
      return {StackId: stack.stackId}
    },

    UpdateStack: async ({params: p}) => {
      const stack = getStack(p.required('StackName'))
      if (!UPDATABLE.has(stack.status)) throw validationError(`Stack:${stack.stackId} is in ${stack.status} state and can not be updated.`)
      // AWS answers "No updates are to be performed." synchronously: compute the diff now
      const body = await templateBodyFrom(p, stack.templateBody)
      const template = parseTemplate(body)
      const params = resolveParameterStrings(template, givenParameters(p), stack.parameters)
      const plan = planChanges({
        template, parameters: parameterValues(template, params), pseudo: engine.pseudo(stack), providers: options.providers,
        current: stack.resources, importValue,
      })
      const previous = stack.templateBody ? parseTemplate(stack.templateBody) : undefined
      if (plan.changes.length === 0 && JSON.stringify(previous?.Outputs) === JSON.stringify(template.Outputs) &&
        JSON.stringify(params) === JSON.stringify(stack.parameters)) {
        throw validationError('No updates are to be performed.')
      }
      await createChangeSet(p, {
        name: `cape-update-${randomUUID().slice(0, 8)}`, type: 'UPDATE',
        then: async (s, cs) => {
          if (cs.status === 'CREATE_COMPLETE') startExecution(s, cs)
        },
      })
      return {StackId: stack.stackId}
    },

    DescribeStacks: ({params: p}) => {
      const name = p.string('StackName')
      if (name) return {Stacks: [stackXml(getStack(name))]}
      const list = [...stacks.values()].filter((s) => s.status !== 'DELETE_COMPLETE').reverse()
      return {Stacks: list.map(stackXml)}
    },

    ListStacks: ({params: p}) => {
      const filter = p.list('StackStatusFilter')
      const list = [...stacks.values()].filter((s) => filter.length === 0 || filter.includes(s.status)).reverse()
      return {
        StackSummaries: list.map((s) => ({
          StackId: s.stackId, StackName: s.stackName, TemplateDescription: s.description, CreationTime: s.creationTime,
          LastUpdatedTime: s.lastUpdatedTime, DeletionTime: s.deletionTime, StackStatus: s.status, StackStatusReason: s.statusReason,
          DriftInformation: {StackDriftStatus: 'NOT_CHECKED'},
        })),
      }
    },

    DescribeStackEvents: ({params: p}) => {
      const stack = getStack(p.required('StackName'))
      return {StackEvents: [...stack.events].reverse().map((e) => ({...e}))}
    },

    DescribeStackResources: ({params: p}) => {
      const name = p.string('StackName')
      const physical = p.string('PhysicalResourceId')
      let stack: StackState | undefined
      if (name) stack = getStack(name)
      else if (physical) {
        stack = [...stacks.values()].find((s) => s.status !== 'DELETE_COMPLETE' && Object.values(s.resources).some((r) => r.physicalId === physical))
        if (!stack) throw validationError(`Stack for ${physical} does not exist`)
      } else throw validationError('Either StackName or PhysicalResourceId must be specified.')
      const logical = p.string('LogicalResourceId')
      const s = stack
      return {
        StackResources: Object.values(s.resources)
          .filter((r) => (!logical || r.logicalId === logical) && (!physical || name || r.physicalId === physical))
          .map((r) => resourceXml(s, r)),
      }
    },

    DescribeStackResource: ({params: p}) => {
      const stack = getStack(p.required('StackName'))
      const id = p.required('LogicalResourceId')
      const r = stack.resources[id]
      if (!r) throw validationError(`Resource ${id} does not exist for stack ${stack.stackName}`)
      return {StackResourceDetail: {...resourceXml(stack, r), LastUpdatedTimestamp: r.updatedAt, Timestamp: undefined}}
    },

    ListStackResources: ({params: p}) => {
      const stack = getStack(p.required('StackName'))
      return {
        StackResourceSummaries: Object.values(stack.resources).map((r) => ({
          LogicalResourceId: r.logicalId, PhysicalResourceId: r.physicalId, ResourceType: r.type, LastUpdatedTimestamp: r.updatedAt,
          ResourceStatus: r.status, ResourceStatusReason: r.statusReason, DriftInformation: {StackResourceDriftStatus: 'NOT_CHECKED'},
        })),
      }
    },

    GetTemplate: ({params: p}) => {
      if (p.string('ChangeSetName')) {
        const {cs} = findChangeSet(p)
        return {TemplateBody: cs.templateBody, StagesAvailable: ['Original', 'Processed']}
      }
      const stack = getStack(p.required('StackName'))
      if (stack.templateBody === undefined) throw validationError(`Stack ${stack.stackName} has no template yet (REVIEW_IN_PROGRESS)`)
      return {TemplateBody: stack.templateBody, StagesAvailable: ['Original', 'Processed']}
    },

    GetTemplateSummary: async ({params: p}) => {
      const stackName = p.string('StackName')
      const body = stackName ? getStack(stackName).templateBody ?? '' : await templateBodyFrom(p)
      const template = parseTemplate(body)
      const caps = requiredCapabilities(template)
      return {
        Parameters: Object.entries(template.Parameters).map(([k, d]) => ({
          ParameterKey: k, ParameterType: d.Type, NoEcho: isNoEcho(d), Description: d.Description,
          DefaultValue: d.Default === undefined ? undefined : String(d.Default),
          ParameterConstraints: {AllowedValues: (d.AllowedValues ?? []).map(String)},
        })),
        Description: template.Description, Capabilities: caps.capabilities, CapabilitiesReason: caps.reason,
        ResourceTypes: [...new Set(Object.values(template.Resources).map((r) => r.Type))],
        Version: template.AWSTemplateFormatVersion, DeclaredTransforms: [],
        ResourceIdentifierSummaries: [],
      }
    },

    ListExports: () => ({
      Exports: [...exportsMap()].map(([Name, e]) => ({ExportingStackId: e.stackId, Name, Value: e.value})),
    }),

    DeleteStack: ({params: p}) => {
      assertOpen()
      const stack = findStack(p.required('StackName'))
      if (!stack || stack.status === 'DELETE_COMPLETE' || stack.status === 'DELETE_IN_PROGRESS') return {}
      if (IN_PROGRESS(stack.status) || executing(stack)) {
        throw validationError(`Stack [${stack.stackName}] is in ${stack.status} state and can not be deleted until the operation completes`)
      }
      const inUse = stack.outputs.filter((o) => o.ExportName).flatMap((o) => {
        const importers = [...stacks.values()].filter((s) => s !== stack && s.status !== 'DELETE_COMPLETE' && s.imports.includes(o.ExportName as string))
        return importers.map((s) => `Export ${o.ExportName} cannot be deleted as it is in use by ${s.stackName}`)
      })
      if (inUse.length > 0) throw validationError(inUse[0])
      const retain = p.list('RetainResources')
      if (retain.length > 0 && stack.status !== 'DELETE_FAILED') {
        throw validationError('RetainResources can only be specified when the stack is in the DELETE_FAILED state')
      }
      if (stack.status === 'REVIEW_IN_PROGRESS' && !Object.values(stack.resources).some(isLive)) {
        stackEventNow(stack, 'DELETE_COMPLETE')
        stack.status = 'DELETE_COMPLETE'
        stack.statusReason = undefined
        stack.deletionTime = isoNow()
        stack.changeSets = {}
        store.save(stack)
        return {}
      }
      stack.status = 'DELETE_IN_PROGRESS'
      store.save(stack)
      background(() => engine.deleteStack(stack, retain))
      return {}
    },
  }

  const handler = createQueryHandler({namespace: CLOUDFORMATION_NAMESPACE, actions})

  // finish what a restart interrupted
  for (const stack of stacks.values()) {
    const pendingChangeSet = Object.values(stack.changeSets)
      .some((c) => c.status === 'CREATE_PENDING' || c.status === 'CREATE_IN_PROGRESS' || c.executionStatus === 'EXECUTE_IN_PROGRESS')
    if (IN_PROGRESS(stack.status) || pendingChangeSet || stack.operation) background(() => engine.recover(stack))
  }

  return {
    async handle(action, params, principal) {
      const req: QueryRequest = {
        action, params: new QueryParams(params), requestId: newRequestId(), accountId: options.accountId, region: options.region,
        principal: principal ?? {arn: `arn:aws:iam::${options.accountId}:root`, accountId: options.accountId, type: 'root', accessKeyId: ''},
      }
      const fn = Object.hasOwn(actions, action) ? actions[action] : undefined
      if (!fn) throw new QueryError('InvalidAction', `NotImplemented: ${action} is not implemented by the cape local platform`, 400)
      const result = await fn(req)
      return {xml: queryResponseXml(action, CLOUDFORMATION_NAMESPACE, (result ?? undefined) as XmlValue, req.requestId)}
    },
    handler,
    idle,
    async close() {
      closed = true
      await idle()
    },
  }
}

export {collectImports}
