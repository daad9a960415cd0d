import type {AwsClients} from '../aws/clients.js'
import {isCapeError} from '../cli/errors.js'
import {ExitCode} from '../cli/exit-codes.js'
import type {ResolvedEnvironment} from '../config/config.js'
import {phaseOutputs} from '../deploy/outputs.js'

/** Where queries run: the Glue database and Athena workgroup of an environment, and where the names came from. */
export interface QueryTarget {
  database: string
  workgroup: string
  source: 'phase2' | 'default'
}

/** The names phase 2 gives an environment when its stack outputs are not there: `cape_<env>` and `cape-<env>`. */
export function defaultTarget(envName: string): QueryTarget {
  return {database: `cape_${envName.replaceAll('-', '_')}`, workgroup: `cape-${envName}`, source: 'default'}
}

/**
 * The one place query code learns the database and workgroup: the phase-2 stack outputs (`GlueDatabase`,
 * `WorkGroup`; cached, else DescribeStacks) when phase 2 is deployed, else the default names.
 */
export async function resolveQueryTarget(ctx: {env: ResolvedEnvironment; clients: AwsClients}): Promise<QueryTarget> {
  const fallback = defaultTarget(ctx.env.name.value)
  try {
    const {outputs} = await phaseOutputs(ctx, 'phase2')
    return {database: outputs.GlueDatabase || fallback.database, workgroup: outputs.WorkGroup || fallback.workgroup, source: 'phase2'}
  } catch (error) {
    if (isCapeError(error) && error.exit === ExitCode.notFound) return fallback
    throw error
  }
}
