import {readFileSync} from 'node:fs'
import path from 'node:path'
import {createClients, type AwsClients} from '../../src/lib/aws/clients.js'
import {runCli, tempDir, type CliResult} from './cli.js'

/**
 * A working directory with its own local platform (CAPE_HOME in a temp dir, an ephemeral port) and, optionally,
 * phase1 deployed through the built CLI. Tests drive the CLI as a subprocess and inspect the platform with the
 * real SDK as its admin identity.
 */
export interface LocalWorkspace {
  cwd: string
  home: string
  env: Record<string, string>
  cli(args: string[], options?: {env?: Record<string, string | undefined>; timeoutMs?: number; input?: string}): Promise<CliResult>
  /** Admin (root) clients for the workspace's platform. */
  admin(): AwsClients
  endpoint(): string
  /** Stack outputs of phase1 (after deploy). */
  outputs(): Record<string, string>
  stop(): Promise<void>
}

export async function localWorkspace(options: {deploy?: boolean} = {}): Promise<LocalWorkspace> {
  const cwd = tempDir('cape-ws-')
  const home = path.join(cwd, '.cape')
  const env = {CAPE_HOME: home, AWS_SHARED_CREDENTIALS_FILE: path.join(cwd, 'aws-credentials'), AWS_CONFIG_FILE: path.join(cwd, 'aws-config')}
  const cli = (args: string[], o: {env?: Record<string, string | undefined>; timeoutMs?: number; input?: string} = {}) =>
    runCli(args, {cwd, env: {...env, ...o.env}, timeoutMs: o.timeoutMs, input: o.input})
  const start = await cli(['local', 'start', '--detach', '--port', '0', '--json'])
  if (start.code !== 0) throw new Error(`cape local start failed: ${start.stderr}`)
  const run = start.json() as {endpoint: string}
  let clients: AwsClients | undefined
  const ws: LocalWorkspace = {
    cwd,
    home,
    env,
    cli,
    endpoint: () => run.endpoint,
    admin() {
      if (clients) return clients
      const creds = JSON.parse(readFileSync(path.join(home, 'admin-credentials.json'), 'utf8'))
      const platform = JSON.parse(readFileSync(path.join(home, 'platform.json'), 'utf8'))
      clients = createClients({region: platform.region, endpoint: run.endpoint, credentials: {accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey}})
      return clients
    },
    outputs() {
      return JSON.parse(readFileSync(path.join(home, 'outputs', 'local', 'phase1.json'), 'utf8')).outputs
    },
    async stop() {
      clients?.destroy()
      await cli(['local', 'stop'])
    },
  }
  if (options.deploy) {
    const d = await cli(['deploy', 'phase1', '--yes', '--json'])
    if (d.code !== 0) throw new Error(`cape deploy phase1 failed (${d.code}): ${d.stdout}\n${d.stderr}`)
  }
  return ws
}
