import type {AwsClients} from '../aws/clients.js'
import type {ResolvedEnvironment} from '../config/config.js'
import {phaseOutputs} from '../deploy/outputs.js'
import {bucketsFrom, type ZoneBuckets} from '../lakehouse/zones.js'
import {phaseIdentity, type PhaseIdentity} from './users.js'

/** The deployed phase's identity layout (IAM path, role groups) and zones, from the cached outputs. */
export async function phaseContext(ctx: {env: ResolvedEnvironment; clients: AwsClients}, phase = 'phase1'): Promise<{id: PhaseIdentity; zones: ZoneBuckets}> {
  const outputs = await phaseOutputs(ctx, phase)
  return {id: phaseIdentity(outputs), zones: bucketsFrom(outputs)}
}
