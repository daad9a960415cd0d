import {readFileSync} from 'node:fs'
import {
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  DescribeStacksCommand,
  ListStackResourcesCommand,
  ValidateTemplateCommand,
  type Change,
  type Parameter,
  type Stack,
  type StackResourceSummary,
} from '@aws-sdk/client-cloudformation'
import {GetCallerIdentityCommand} from '@aws-sdk/client-sts'
import {setTimeout as sleep} from 'node:timers/promises'
import type {AwsClients} from '../aws/clients.js'
import {mapAwsError} from '../aws/errors.js'
import {CapeError, notFoundError, usageError} from '../cli/errors.js'
import {ExitCode} from '../cli/exit-codes.js'
import {stackNameFor, type ResolvedEnvironment} from '../config/config.js'
import type {Reporter} from '../reporter.js'
import {planAssets, type AssetsPlan} from './assets.js'
import {loadPhase, type PhaseDefinition} from './phases.js'
import {waitForStackStable} from './monitor.js'

export interface PlannedChange {
  action: 'Add' | 'Modify' | 'Remove' | 'Import' | 'Dynamic'
  logicalId: string
  physicalId?: string
  type: string
  /** 'True' | 'False' | 'Conditional' (Modify only). */
  replacement?: string
  /** Changed properties (Modify). */
  details: string[]
}

export interface Plan {
  phase: string
  stackName: string
  stackId?: string
  /** CREATE for a new stack, UPDATE otherwise. */
  changeSetType: 'CREATE' | 'UPDATE'
  changeSetName?: string
  changeSetId?: string
  parameters: Record<string, string>
  assets: AssetsPlan
  changes: PlannedChange[]
  /** A stack left in ROLLBACK_COMPLETE by a failed create, removed before this plan. */
  replacedFailedStack: boolean
}

export interface PlanOptions {
  phase: string
  /** --param Key=Value overrides (beat cape.yaml's per-phase parameters). */
  params?: Record<string, string>
  signal?: AbortSignal
  timeoutMs?: number
}

const NO_CHANGES = /didn't contain changes|No updates are to be performed/i

export function parseParams(pairs: string[] = []): Record<string, string> {
  const out: Record<string, string> = {}
  for (const p of pairs) {
    const i = p.indexOf('=')
    if (i <= 0) throw usageError(`--param "${p}" is not Key=Value.`, ['Example: --param EnvironmentName=dev'])
    out[p.slice(0, i)] = p.slice(i + 1)
  }
  return out
}

export async function describeStack(clients: AwsClients, stackName: string): Promise<Stack | undefined> {
  try {
    const r = await clients.cloudformation.send(new DescribeStacksCommand({StackName: stackName}))
    return r.Stacks?.[0]
  } catch (e) {
    if (/does not exist/i.test((e as Error).message ?? '')) return undefined
    throw mapAwsError(e, {doing: `describing stack ${stackName}`})
  }
}

export async function listStackResources(clients: AwsClients, stackName: string): Promise<StackResourceSummary[]> {
  const resources: StackResourceSummary[] = []
  try {
    let token: string | undefined
    do {
      const page = await clients.cloudformation.send(new ListStackResourcesCommand({StackName: stackName, NextToken: token}))
      resources.push(...(page.StackResourceSummaries ?? []))
      token = page.NextToken
    } while (token)
  } catch (e) {
    throw mapAwsError(e, {doing: `listing resources of ${stackName}`})
  }
  return resources
}

function toChange(c: Change): PlannedChange {
  const r = c.ResourceChange ?? {}
  return {
    action: (r.Action ?? 'Dynamic') as PlannedChange['action'],
    logicalId: r.LogicalResourceId ?? '?',
    physicalId: r.PhysicalResourceId || undefined,
    type: r.ResourceType ?? '?',
    replacement: r.Action === 'Modify' ? r.Replacement : undefined,
    details: [...new Set((r.Details ?? []).map((d) => d.Target?.Name).filter((n): n is string => Boolean(n)))],
  }
}

/**
 * A phase that builds on phase 1 (it declares `Phase1Stack` and imports its exports) needs it deployed: say so
 * before CloudFormation answers "No export named …".
 */
async function requirePhase1(clients: AwsClients, phase1Stack: string, phase: string): Promise<string> {
  const stack = await describeStack(clients, phase1Stack)
  if (!stack || /^(DELETE_COMPLETE|ROLLBACK_COMPLETE|REVIEW_IN_PROGRESS)$/.test(stack.StackStatus ?? '')) {
    throw notFoundError('PHASE1_NOT_DEPLOYED', `${phase} builds on phase 1, and phase 1 is not deployed here (no stack ${phase1Stack}).`, [
      'Deploy it first: cape deploy phase1',
    ])
  }
  return phase1Stack
}

/**
 * Package → change set → plan. Nothing is changed except: the change set itself, and a stack left in
 * ROLLBACK_COMPLETE by a failed create (removed with a notice, like the CLI of any other tool would ask you to).
 */
export async function planPhase(
  ctx: {env: ResolvedEnvironment; reporter: Reporter; clients: AwsClients},
  options: PlanOptions,
): Promise<Plan> {
  const {clients, reporter, env} = ctx
  const phase: PhaseDefinition = loadPhase(options.phase)
  const stackName = stackNameFor(env, phase.name)
  const cfn = clients.cloudformation
  const templateBody = readFileSync(phase.templatePath, 'utf8')

  let accountId: string
  try {
    accountId = (await clients.sts.send(new GetCallerIdentityCommand({}))).Account!
  } catch (e) {
    throw mapAwsError(e, {doing: 'identifying the account (sts:GetCallerIdentity)'})
  }

  let declared: Set<string>
  try {
    const v = await cfn.send(new ValidateTemplateCommand({TemplateBody: templateBody}))
    declared = new Set((v.Parameters ?? []).map((p) => p.ParameterKey!))
  } catch (e) {
    throw mapAwsError(e, {doing: `validating ${phase.templatePath}`})
  }

  const assets = await planAssets(clients, phase, accountId)
  const parameters: Record<string, string> = {}
  if (declared.has('EnvironmentName')) parameters.EnvironmentName = env.name.value
  if (declared.has('AssetsBucket')) parameters.AssetsBucket = assets.bucket
  if (declared.has('Phase1Stack')) parameters.Phase1Stack = await requirePhase1(clients, stackNameFor(env, 'phase1'), phase.name)
  for (const a of assets.assets) parameters[a.parameter] = a.key
  Object.assign(parameters, env.parameters[phase.name] ?? {}, options.params ?? {})
  for (const k of Object.keys(parameters)) {
    if (!declared.has(k)) {
      throw usageError(`Parameter "${k}" is not declared by ${phase.templatePath}.`, [`Declared parameters: ${[...declared].sort().join(', ')}.`])
    }
  }

  let stack = await describeStack(clients, stackName)
  let replacedFailedStack = false
  if (stack?.StackStatus === 'ROLLBACK_COMPLETE' || stack?.StackStatus === 'ROLLBACK_FAILED') {
    reporter.notify({
      code: 'deploy.replace-failed',
      level: 'warn',
      message: `Stack ${stackName} is in ${stack.StackStatus} after a failed create; deleting it before deploying again.`,
    })
    try {
      await cfn.send(new DeleteStackCommand({StackName: stackName}))
    } catch (e) {
      throw mapAwsError(e, {doing: `deleting the failed stack ${stackName}`})
    }
    await waitForStackStable(clients, stackName, {reporter, signal: options.signal, timeoutMs: options.timeoutMs, since: new Date()})
    stack = undefined
    replacedFailedStack = true
  } else if (stack && /_IN_PROGRESS$/.test(stack.StackStatus ?? '') && stack.StackStatus !== 'REVIEW_IN_PROGRESS') {
    throw new CapeError('STACK_BUSY', `Stack ${stackName} is ${stack.StackStatus}; another operation is running.`, {
      exit: ExitCode.stillRunning,
      hints: [`Wait for it (\`cape status ${phase.name}\`), then deploy again.`],
    })
  }
  const changeSetType = !stack || stack.StackStatus === 'REVIEW_IN_PROGRESS' ? 'CREATE' : 'UPDATE'
  const changeSetName = `cape-${Date.now()}`
  const Parameters: Parameter[] = Object.entries(parameters).map(([ParameterKey, ParameterValue]) => ({ParameterKey, ParameterValue}))

  let changeSetId: string | undefined
  try {
    const created = await cfn.send(
      new CreateChangeSetCommand({
        StackName: stackName,
        ChangeSetName: changeSetName,
        ChangeSetType: changeSetType,
        TemplateBody: templateBody,
        Parameters,
        Capabilities: ['CAPABILITY_NAMED_IAM', 'CAPABILITY_IAM'],
        Tags: [
          {Key: 'cape:environment', Value: env.name.value},
          {Key: 'cape:phase', Value: phase.name},
        ],
        Description: `cape deploy ${phase.name}`,
      }),
    )
    changeSetId = created.Id
  } catch (e) {
    throw mapAwsError(e, {doing: `creating a change set for ${stackName}`})
  }

  // Wait for the change set to be computed.
  const deadline = Date.now() + (options.timeoutMs ?? 5 * 60_000)
  const changes: PlannedChange[] = []
  let delay = 100
  for (;;) {
    options.signal?.throwIfAborted()
    let described
    try {
      described = await cfn.send(new DescribeChangeSetCommand({StackName: stackName, ChangeSetName: changeSetName}))
    } catch (e) {
      throw mapAwsError(e, {doing: `describing change set ${changeSetName}`})
    }
    const status = described.Status
    if (status === 'CREATE_COMPLETE') {
      changes.push(...(described.Changes ?? []).map(toChange))
      let next = described.NextToken
      while (next) {
        const page = await cfn.send(new DescribeChangeSetCommand({StackName: stackName, ChangeSetName: changeSetName, NextToken: next}))
        changes.push(...(page.Changes ?? []).map(toChange))
        next = page.NextToken
      }
      break
    }
    if (status === 'FAILED') {
      if (NO_CHANGES.test(described.StatusReason ?? '')) {
        await cfn.send(new DeleteChangeSetCommand({StackName: stackName, ChangeSetName: changeSetName})).catch(() => undefined)
        return {phase: phase.name, stackName, stackId: stack?.StackId, changeSetType, parameters, assets, changes: [], replacedFailedStack}
      }
      throw new CapeError('CHANGE_SET_FAILED', `The change set for ${stackName} failed: ${described.StatusReason ?? 'no reason given'}`, {
        exit: ExitCode.remoteFailed,
        hints: ['Fix the template or parameters, then deploy again.'],
      })
    }
    if (Date.now() > deadline) {
      throw new CapeError('CHANGE_SET_TIMEOUT', `The change set for ${stackName} is still ${status}.`, {exit: ExitCode.stillRunning})
    }
    await sleep(delay, undefined, {signal: options.signal})
    delay = Math.min(delay * 2, 2000)
  }
  return {
    phase: phase.name,
    stackName,
    stackId: stack?.StackId,
    changeSetType,
    changeSetName,
    changeSetId,
    parameters,
    assets,
    changes,
    replacedFailedStack,
  }
}

/** A plan with nothing to do (no resource changes, and every bundle already published). */
export const isEmptyPlan = (plan: Plan) => plan.changes.length === 0 && plan.changeSetName === undefined

export async function discardPlan(clients: AwsClients, plan: Plan): Promise<void> {
  if (!plan.changeSetName) return
  try {
    await clients.cloudformation.send(new DeleteChangeSetCommand({StackName: plan.stackName, ChangeSetName: plan.changeSetName}))
    if (plan.changeSetType === 'CREATE') {
      // A CREATE change set leaves an empty REVIEW_IN_PROGRESS stack behind; remove it too.
      const stack = await describeStack(clients, plan.stackName)
      if (stack?.StackStatus === 'REVIEW_IN_PROGRESS') await clients.cloudformation.send(new DeleteStackCommand({StackName: plan.stackName}))
    }
  } catch (e) {
    throw mapAwsError(e, {doing: `deleting change set ${plan.changeSetName}`})
  }
}
