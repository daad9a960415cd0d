import {rmSync, existsSync, readdirSync} from 'node:fs'
import {ListBucketsCommand} from '@aws-sdk/client-s3'
import {ListUsersCommand, ListRolesCommand} from '@aws-sdk/client-iam'
import {DescribeStacksCommand} from '@aws-sdk/client-cloudformation'
import {createClients} from '../aws/clients.js'
import {CapeError} from '../cli/errors.js'
import {ExitCode} from '../cli/exit-codes.js'
import {readLambdaState} from '../platform/lambda/index.js'
import path from 'node:path'
import {isAlive, readIdentity, readRunInfo, stopPlatform, type LocalIdentity, type RunInfo} from './launcher.js'

export interface LocalStatus {
  running: boolean
  endpoint?: string
  pid?: number
  port?: number
  dataDir: string
  startedAt?: string
  accountId?: string
  region?: string
  counts?: {buckets: number; users: number; roles: number; stacks: number; functions: number}
}

export async function localStatus(dataDir: string): Promise<LocalStatus> {
  const info = readRunInfo(dataDir)
  if (!(await isAlive(info))) return {running: false, dataDir}
  const id = readIdentity(dataDir, info!.endpoint)
  const clients = createClients({region: id.region, endpoint: id.endpoint, credentials: id.adminCredentials, maxAttempts: 1})
  try {
    const [buckets, users, roles, stacks] = await Promise.all([
      clients.s3.send(new ListBucketsCommand({})),
      clients.iam.send(new ListUsersCommand({})),
      clients.iam.send(new ListRolesCommand({})),
      clients.cloudformation.send(new DescribeStacksCommand({})),
    ])
    const lambda = await readLambdaState(path.join(dataDir, 'lambda'))
    return {
      running: true,
      endpoint: info!.endpoint,
      pid: info!.pid,
      port: info!.port,
      dataDir,
      startedAt: info!.startedAt,
      accountId: id.accountId,
      region: id.region,
      counts: {
        buckets: buckets.Buckets?.length ?? 0,
        users: users.Users?.length ?? 0,
        roles: roles.Roles?.length ?? 0,
        stacks: (stacks.Stacks ?? []).filter((s) => s.StackStatus !== 'DELETE_COMPLETE').length,
        functions: lambda.functions.length,
      },
    }
  } finally {
    clients.destroy()
  }
}

/** The shell exports that point the AWS CLI and SDKs at the platform as its admin (root) identity. */
export function envExports(id: LocalIdentity): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: id.endpoint,
    AWS_ACCESS_KEY_ID: id.adminCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: id.adminCredentials.secretAccessKey,
    AWS_REGION: id.region,
    AWS_DEFAULT_REGION: id.region,
    // s3rver-compatible checksums for SDKs that read these (the AWS CLI and SDK v3 do).
    AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
    AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
  }
}

export function shellQuote(v: string): string {
  return /^[A-Za-z0-9_./:@-]+$/.test(v) ? v : `'${v.replaceAll("'", `'\\''`)}'`
}

export interface ResetResult {
  dataDir: string
  stopped: RunInfo | undefined
  removed: string[]
}

/** Stop the platform and delete all of its state (buckets, objects, users, keys, stacks, functions, logs). */
export async function resetLocal(dataDir: string): Promise<ResetResult> {
  if (!existsSync(dataDir)) return {dataDir, stopped: undefined, removed: []}
  const stopped = await stopPlatform(dataDir)
  const removed: string[] = []
  for (const entry of readdirSync(dataDir)) {
    // Outputs of AWS environments are cached here too; they are not local platform state.
    if (entry === 'outputs') {
      rmSync(path.join(dataDir, 'outputs', 'local'), {recursive: true, force: true})
      continue
    }
    rmSync(path.join(dataDir, entry), {recursive: true, force: true})
    removed.push(entry)
  }
  return {dataDir, stopped, removed}
}

export function requireLocal(target: string, envName: string): void {
  if (target !== 'local') {
    throw new CapeError('NOT_LOCAL', `Environment "${envName}" targets AWS; \`cape local\` manages the local platform only.`, {
      exit: ExitCode.usage,
      hints: ['Use --env local (or no --env).'],
    })
  }
}
