import {DescribeStackEventsCommand, DescribeStacksCommand, type StackEvent} from '@aws-sdk/client-cloudformation'
import {setTimeout as sleep} from 'node:timers/promises'
import type {AwsClients} from '../aws/clients.js'
import {mapAwsError} from '../aws/errors.js'
import {CapeError} from '../cli/errors.js'
import {ExitCode} from '../cli/exit-codes.js'
import type {Reporter} from '../reporter.js'

export interface DeployEvent {
  timestamp: string
  logicalId: string
  type: string
  status: string
  reason?: string
  physicalId?: string
}

export interface StackOutcome {
  stackName: string
  status: string
  statusReason?: string
  events: DeployEvent[]
  /** The first failed resources and their reasons (not the cascade of cancellations). */
  rootCause: DeployEvent[]
}

const TERMINAL = /(_COMPLETE|_FAILED)$/
const CANCELLED = /cancelled|canceled/i

export function rootCauseOf(events: DeployEvent[]): DeployEvent[] {
  const failed = events.filter((e) => /_FAILED$/.test(e.status) && e.reason && !CANCELLED.test(e.reason))
  const resources = failed.filter((e) => e.type !== 'AWS::CloudFormation::Stack')
  const picked = resources.length > 0 ? resources : failed
  return picked.slice(0, 3)
}

function toEvent(e: StackEvent): DeployEvent {
  return {
    timestamp: (e.Timestamp ?? new Date()).toISOString(),
    logicalId: e.LogicalResourceId ?? '?',
    type: e.ResourceType ?? '?',
    status: e.ResourceStatus ?? '?',
    reason: e.ResourceStatusReason || undefined,
    physicalId: e.PhysicalResourceId || undefined,
  }
}

/**
 * Follow a stack until it reaches a terminal status: stream new events to the reporter (oldest first), with a
 * deadline and an abort signal. A stack that no longer exists (after delete) ends as DELETE_COMPLETE.
 */
export async function waitForStackStable(
  clients: AwsClients,
  stackName: string,
  options: {reporter: Reporter; signal?: AbortSignal; timeoutMs?: number; since: Date; stackId?: string},
): Promise<StackOutcome> {
  const cfn = clients.cloudformation
  const seen = new Set<string>()
  const events: DeployEvent[] = []
  const deadline = Date.now() + (options.timeoutMs ?? 30 * 60_000)
  const since = options.since.getTime() - 1000
  const id = options.stackId ?? stackName
  let delay = 150
  let finalRound = false
  for (;;) {
    options.signal?.throwIfAborted()
    let fresh: DeployEvent[] = []
    try {
      const page = await cfn.send(new DescribeStackEventsCommand({StackName: id}))
      fresh = (page.StackEvents ?? [])
        .filter((e) => e.EventId && !seen.has(e.EventId) && (e.Timestamp?.getTime() ?? 0) >= since)
        .map((e) => {
          seen.add(e.EventId!)
          return toEvent(e)
        })
        .reverse()
    } catch (e) {
      if (!/does not exist/i.test((e as Error).message ?? '')) throw mapAwsError(e, {doing: `reading events of ${stackName}`})
    }
    for (const ev of fresh) {
      events.push(ev)
      options.reporter.notify({
        code: 'deploy.event',
        level: /_FAILED$/.test(ev.status) ? 'error' : /_COMPLETE$/.test(ev.status) ? 'info' : 'debug',
        message: `${ev.status.padEnd(22)} ${ev.type.padEnd(32)} ${ev.logicalId}${ev.reason ? `  ${ev.reason}` : ''}`,
        data: {...ev},
      })
    }
    let status: string | undefined
    let statusReason: string | undefined
    try {
      const r = await cfn.send(new DescribeStacksCommand({StackName: id}))
      status = r.Stacks?.[0]?.StackStatus
      statusReason = r.Stacks?.[0]?.StackStatusReason
    } catch (e) {
      if (/does not exist/i.test((e as Error).message ?? '')) status = 'DELETE_COMPLETE'
      else throw mapAwsError(e, {doing: `describing ${stackName}`})
    }
    if (status && TERMINAL.test(status) && !/_IN_PROGRESS$/.test(status)) {
      // The stack may have finished between reading its events and its status: read the events once more.
      if (finalRound) return {stackName, status, statusReason, events, rootCause: rootCauseOf(events)}
      finalRound = true
      continue
    }
    if (Date.now() > deadline) {
      throw new CapeError('DEPLOY_TIMEOUT', `Stack ${stackName} is still ${status} after the deadline.`, {
        exit: ExitCode.stillRunning,
        hints: [`It keeps running remotely; follow it with \`cape status\`.`],
      })
    }
    await sleep(delay, undefined, {signal: options.signal})
    delay = Math.min(Math.round(delay * 1.5), 2000)
  }
}
