import type {AwsClients} from '../aws/clients.js'
import {notFoundError, usageError} from '../cli/errors.js'
import type {ResolvedEnvironment} from '../config/config.js'
import {phaseOutputs, type CachedOutputs} from '../deploy/outputs.js'

export const ZONES = ['raw', 'curated', 'requests', 'results'] as const
export type Zone = (typeof ZONES)[number]

const OUTPUT_KEY: Record<Zone, string> = {
  raw: 'RawBucketName',
  curated: 'CuratedBucketName',
  requests: 'RequestsBucketName',
  results: 'ResultsBucketName',
}

export interface ZoneBuckets {
  phase: string
  stackName: string
  buckets: Record<Zone, string>
  outputs: Record<string, string>
}

export function bucketsFrom(outputs: CachedOutputs): ZoneBuckets {
  const buckets = {} as Record<Zone, string>
  for (const z of ZONES) {
    const b = outputs.outputs[OUTPUT_KEY[z]]
    if (!b) throw notFoundError('ZONE_NOT_IN_PHASE', `The ${outputs.phase} stack has no ${OUTPUT_KEY[z]} output.`, [`Re-deploy: cape deploy ${outputs.phase}`])
    buckets[z] = b
  }
  return {phase: outputs.phase, stackName: outputs.stackName, buckets, outputs: outputs.outputs}
}

/** The phase's zones → bucket names, from the cached stack outputs (never asks the user for a bucket). */
export async function resolveZones(ctx: {env: ResolvedEnvironment; clients: AwsClients}, phase = 'phase1'): Promise<ZoneBuckets> {
  return bucketsFrom(await phaseOutputs(ctx, phase))
}

export function isZone(z: string): z is Zone {
  return (ZONES as readonly string[]).includes(z)
}

/** `curated/participants/` → {zone: 'curated', prefix: 'participants/'}. */
export function parseZonePath(input: string): {zone: Zone; prefix: string} {
  const trimmed = input.replace(/^\/+/, '')
  const i = trimmed.indexOf('/')
  const zone = i === -1 ? trimmed : trimmed.slice(0, i)
  const prefix = i === -1 ? '' : trimmed.slice(i + 1)
  if (!isZone(zone)) throw usageError(`"${zone}" is not a zone.`, [`Zones: ${ZONES.join(', ')}; e.g. curated/participants/`])
  return {zone, prefix}
}
