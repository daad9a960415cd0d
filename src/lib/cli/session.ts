import {createClients, type AwsClients} from '../aws/clients.js'
import type {ResolvedEnvironment} from '../config/config.js'
import type {Reporter} from '../reporter.js'

/**
 * Clients for the resolved environment. For the local target this makes sure the local platform runs
 * (starting it in the background, with one line on stderr) and uses its admin identity unless a profile is given.
 */
export async function openClients(env: ResolvedEnvironment, reporter: Reporter): Promise<AwsClients> {
  if (env.target.value === 'aws') {
    return createClients({region: env.region.value, endpoint: env.endpoint?.value, profile: env.profile?.value})
  }
  const {ensureLocalPlatform} = await import('../local/launcher.js')
  const platform = await ensureLocalPlatform({dataDir: env.dataDir!.value, reporter})
  return createClients({
    region: platform.region,
    endpoint: env.endpoint?.value ?? platform.endpoint,
    profile: env.profile?.value,
    credentials: env.profile ? undefined : platform.adminCredentials,
  })
}
