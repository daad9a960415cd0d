import {mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import type {Stack} from '@aws-sdk/client-cloudformation'
import type {AwsClients} from '../aws/clients.js'
import {notFoundError} from '../cli/errors.js'
import {stackNameFor, type ResolvedEnvironment} from '../config/config.js'

export interface CachedOutputs {
  environment: string
  phase: string
  stackName: string
  stackId?: string
  status?: string
  updatedAt: string
  outputs: Record<string, string>
}

/** Outputs are cached per environment and phase so no command ever asks for a bucket name. */
export function outputsCachePath(env: ResolvedEnvironment, phase: string): string {
  const base = env.dataDir?.value ?? path.join(env.cwd, '.cape')
  return path.join(base, 'outputs', env.name.value, `${phase}.json`)
}

export function outputsOf(stack: Stack): Record<string, string> {
  return Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey!, o.OutputValue ?? '']))
}

export function writeOutputsCache(env: ResolvedEnvironment, phase: string, stack: Stack): CachedOutputs {
  const file = outputsCachePath(env, phase)
  const data: CachedOutputs = {
    environment: env.name.value,
    phase,
    stackName: stack.StackName!,
    stackId: stack.StackId,
    status: stack.StackStatus,
    updatedAt: new Date().toISOString(),
    outputs: outputsOf(stack),
  }
  mkdirSync(path.dirname(file), {recursive: true})
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`)
  renameSync(tmp, file)
  return data
}

export function readOutputsCache(env: ResolvedEnvironment, phase: string): CachedOutputs | undefined {
  try {
    return JSON.parse(readFileSync(outputsCachePath(env, phase), 'utf8')) as CachedOutputs
  } catch {
    return undefined
  }
}

/** Outputs of a deployed phase: from the cache, else from DescribeStacks (and cached). */
export async function phaseOutputs(ctx: {env: ResolvedEnvironment; clients: AwsClients}, phase = 'phase1', refresh = false): Promise<CachedOutputs> {
  const cached = refresh ? undefined : readOutputsCache(ctx.env, phase)
  if (cached) return cached
  const stackName = stackNameFor(ctx.env, phase)
  // Loaded on a cache miss only: most commands never need the CloudFormation client.
  const {describeStack} = await import('./plan.js')
  const stack = await describeStack(ctx.clients, stackName)
  if (!stack || !/_COMPLETE$/.test(stack.StackStatus ?? '') || /^(ROLLBACK|DELETE)_/.test(stack.StackStatus ?? '')) {
    throw notFoundError('PHASE_NOT_DEPLOYED', `${phase} is not deployed in environment "${ctx.env.name.value}" (stack ${stackName}${stack ? ` is ${stack.StackStatus}` : ' does not exist'}).`, [
      `Deploy it: cape deploy ${phase}${ctx.env.name.source === 'default' ? '' : ` --env ${ctx.env.name.value}`}`,
    ])
  }
  return writeOutputsCache(ctx.env, phase, stack)
}
