import {DeleteStackCommand, ExecuteChangeSetCommand} from '@aws-sdk/client-cloudformation'
import {HeadBucketCommand, ListObjectsV2Command} from '@aws-sdk/client-s3'
import type {AwsClients} from '../aws/clients.js'
import {mapAwsError} from '../aws/errors.js'
import {CapeError} from '../cli/errors.js'
import {ExitCode} from '../cli/exit-codes.js'
import {stackNameFor, type ResolvedEnvironment} from '../config/config.js'
import type {Reporter} from '../reporter.js'
import {publishAssets} from './assets.js'
import {waitForStackStable, type DeployEvent} from './monitor.js'
import {outputsCachePath, writeOutputsCache} from './outputs.js'
import {describeStack, listStackResources, type Plan} from './plan.js'
import {loadPhase} from './phases.js'
import {rmSync} from 'node:fs'

interface Ctx {
  env: ResolvedEnvironment
  reporter: Reporter
  clients: AwsClients
  signal?: AbortSignal
}

export interface DeployResult {
  outcome: 'deployed' | 'no-changes' | 'planned'
  stackName: string
  status?: string
  plan: Plan
  outputs?: Record<string, string>
  durationMs?: number
}

/** Publish the bundles, execute the change set, follow it to the end, cache the outputs. */
export async function applyPlan(ctx: Ctx, plan: Plan, options: {timeoutMs?: number} = {}): Promise<DeployResult> {
  const started = Date.now()
  await publishAssets(ctx.clients, plan.assets, ctx.reporter)
  const since = new Date()
  try {
    await ctx.clients.cloudformation.send(new ExecuteChangeSetCommand({StackName: plan.stackName, ChangeSetName: plan.changeSetName}))
  } catch (e) {
    throw mapAwsError(e, {doing: `executing change set ${plan.changeSetName}`})
  }
  ctx.reporter.notify({code: 'deploy.executing', level: 'info', message: `Executing ${plan.changes.length} changes on ${plan.stackName}…`})
  const outcome = await waitForStackStable(ctx.clients, plan.stackName, {reporter: ctx.reporter, signal: ctx.signal, timeoutMs: options.timeoutMs, since})
  if (!/^(CREATE|UPDATE)_COMPLETE$/.test(outcome.status)) {
    throw deployFailed(plan.stackName, outcome.status, outcome.statusReason, outcome.rootCause)
  }
  const stack = await describeStack(ctx.clients, plan.stackName)
  const cached = writeOutputsCache(ctx.env, plan.phase, stack!)
  return {outcome: 'deployed', stackName: plan.stackName, status: outcome.status, plan, outputs: cached.outputs, durationMs: Date.now() - started}
}

export function deployFailed(stackName: string, status: string, reason: string | undefined, rootCause: DeployEvent[]): CapeError {
  const first = rootCause[0]
  const message = first
    ? `Deploying ${stackName} failed (${status}): ${first.logicalId} (${first.type}): ${first.reason}`
    : `Deploying ${stackName} failed (${status})${reason ? `: ${reason}` : ''}`
  return new CapeError('DEPLOY_FAILED', message, {
    exit: ExitCode.remoteFailed,
    hints: [
      ...rootCause.slice(1).map((e) => `also ${e.logicalId} (${e.type}): ${e.reason}`),
      status === 'ROLLBACK_COMPLETE' ? 'The failed stack is removed automatically by the next `cape deploy`.' : 'The stack was rolled back to its previous state.',
    ],
    data: {status, rootCause},
  })
}

export interface RetainedBucket {
  logicalId: string
  bucket: string
  objects: number | 'unknown'
}

export interface DestroyPlan {
  stackName: string
  exists: boolean
  status?: string
  retained: RetainedBucket[]
  resources: number
}

/** What destroy will remove and what it will leave (retained buckets, and whether they hold data). */
export async function planDestroy(ctx: Ctx, phaseName: string): Promise<DestroyPlan> {
  const phase = loadPhase(phaseName)
  const stackName = stackNameFor(ctx.env, phase.name)
  const stack = await describeStack(ctx.clients, stackName)
  if (!stack) return {stackName, exists: false, retained: [], resources: 0}
  const resources = await listStackResources(ctx.clients, stackName)
  const {parseTemplateRetained} = await import('./retained.js')
  const retainedIds = parseTemplateRetained(phase.templatePath)
  const retained: RetainedBucket[] = []
  for (const r of resources) {
    if (r.ResourceType !== 'AWS::S3::Bucket' || !r.PhysicalResourceId || !retainedIds.has(r.LogicalResourceId!)) continue
    let objects: number | 'unknown' = 'unknown'
    try {
      await ctx.clients.s3.send(new HeadBucketCommand({Bucket: r.PhysicalResourceId}))
      const page = await ctx.clients.s3.send(new ListObjectsV2Command({Bucket: r.PhysicalResourceId, MaxKeys: 1000}))
      objects = page.KeyCount ?? 0
    } catch {
      objects = 'unknown'
    }
    retained.push({logicalId: r.LogicalResourceId!, bucket: r.PhysicalResourceId, objects})
  }
  return {stackName, exists: true, status: stack.StackStatus, retained, resources: resources.length}
}

export interface DestroyResult {
  stackName: string
  outcome: 'destroyed' | 'absent'
  retained: RetainedBucket[]
}

export async function destroyPhase(ctx: Ctx, plan: DestroyPlan, phase: string, options: {timeoutMs?: number} = {}): Promise<DestroyResult> {
  if (!plan.exists) return {stackName: plan.stackName, outcome: 'absent', retained: []}
  const since = new Date()
  const stack = await describeStack(ctx.clients, plan.stackName)
  try {
    await ctx.clients.cloudformation.send(new DeleteStackCommand({StackName: plan.stackName}))
  } catch (e) {
    throw mapAwsError(e, {doing: `deleting ${plan.stackName}`})
  }
  const outcome = await waitForStackStable(ctx.clients, plan.stackName, {
    reporter: ctx.reporter,
    signal: ctx.signal,
    timeoutMs: options.timeoutMs,
    since,
    stackId: stack?.StackId,
  })
  if (outcome.status !== 'DELETE_COMPLETE') throw deployFailed(plan.stackName, outcome.status, outcome.statusReason, outcome.rootCause)
  rmSync(outputsCachePath(ctx.env, phase), {force: true})
  return {stackName: plan.stackName, outcome: 'destroyed', retained: plan.retained}
}
