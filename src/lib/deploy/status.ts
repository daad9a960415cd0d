import type {StackResourceSummary} from '@aws-sdk/client-cloudformation'
import type {AwsClients} from '../aws/clients.js'
import {stackNameFor, type ResolvedEnvironment} from '../config/config.js'
import {outputsOf, writeOutputsCache} from './outputs.js'
import {describeStack, listStackResources} from './plan.js'
import {listPhases, loadPhase} from './phases.js'

export interface PhaseStatus {
  phase: string
  stackName: string
  deployed: boolean
  status?: string
  statusReason?: string
  lastChange?: string
  resources: {total: number; byStatus: Record<string, number>; byType: Record<string, number>}
  outputs: Record<string, string>
}

export async function phaseStatus(ctx: {env: ResolvedEnvironment; clients: AwsClients}, phaseName: string): Promise<PhaseStatus> {
  const phase = loadPhase(phaseName)
  const stackName = stackNameFor(ctx.env, phase.name)
  const stack = await describeStack(ctx.clients, stackName)
  const empty = {total: 0, byStatus: {}, byType: {}}
  if (!stack) return {phase: phase.name, stackName, deployed: false, resources: empty, outputs: {}}
  const resources = await listStackResources(ctx.clients, stackName)
  const count = (key: (r: StackResourceSummary) => string) =>
    resources.reduce<Record<string, number>>((acc, r) => ((acc[key(r)] = (acc[key(r)] ?? 0) + 1), acc), {})
  const ok = /^(CREATE|UPDATE)_COMPLETE$|^UPDATE_ROLLBACK_COMPLETE$/.test(stack.StackStatus ?? '')
  if (ok) writeOutputsCache(ctx.env, phase.name, stack)
  return {
    phase: phase.name,
    stackName,
    deployed: ok,
    status: stack.StackStatus,
    statusReason: stack.StackStatusReason,
    lastChange: (stack.LastUpdatedTime ?? stack.CreationTime)?.toISOString(),
    resources: {total: resources.length, byStatus: count((r) => r.ResourceStatus ?? '?'), byType: count((r) => r.ResourceType ?? '?')},
    outputs: outputsOf(stack),
  }
}

export {listPhases}
