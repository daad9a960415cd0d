import type {CloudFormationClient} from '@aws-sdk/client-cloudformation'
import type {IAMClient} from '@aws-sdk/client-iam'
import type {S3Client} from '@aws-sdk/client-s3'
import type {STSClient} from '@aws-sdk/client-sts'
import type {AthenaClient} from '@aws-sdk/client-athena'
import type {GlueClient} from '@aws-sdk/client-glue'
import type {SSMClient} from '@aws-sdk/client-ssm'
import type {SecretsManagerClient} from '@aws-sdk/client-secrets-manager'
import type {SNSClient} from '@aws-sdk/client-sns'
import type {SchedulerClient} from '@aws-sdk/client-scheduler'
import {createRequire} from 'node:module'
import type {AwsCredentialIdentity, AwsCredentialIdentityProvider} from '@smithy/types'

/** Everything needed to reach one AWS (or AWS-compatible) target. */
export interface ClientTarget {
  region: string
  /** Unset = real AWS. Set = LocalStack, MinIO, the cape local platform… */
  endpoint?: string
  profile?: string
  /** Explicit credentials; when unset, the standard credential chain (env, profile incl. SSO, IMDS…) is used. */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider
  /** Maximum attempts of the SDK's standard retry strategy (default 3). */
  maxAttempts?: number
}

export interface AwsClients {
  readonly target: ClientTarget
  readonly s3: S3Client
  readonly cloudformation: CloudFormationClient
  readonly iam: IAMClient
  readonly sts: STSClient
  readonly athena: AthenaClient
  readonly glue: GlueClient
  readonly ssm: SSMClient
  readonly secretsManager: SecretsManagerClient
  readonly sns: SNSClient
  readonly scheduler: SchedulerClient
  /** Same target, other credentials (e.g. a user's temporary key in `cape access check --live`). */
  withCredentials(credentials: AwsCredentialIdentity): AwsClients
  destroy(): void
}

// Each SDK client costs 100–350 ms to load; a command loads only those it uses (synchronously, on first use). The
// functions' bundles (esbuild) cannot follow a load by name: they pass the client classes they import statically.
const load = createRequire(import.meta.url)

/** The common configuration of every client. Exported for tests; create clients with createClients(). */
export function clientConfig(target: ClientTarget) {
  const custom = target.endpoint !== undefined
  return {
    region: target.region,
    ...(custom ? {endpoint: target.endpoint} : {}),
    // An explicit profile wins over credentials in the environment; otherwise the standard chain (env, SSO, IMDS…).
    credentials: target.credentials ?? defaultCredentials(target.profile),
    retryMode: 'standard' as const,
    maxAttempts: target.maxAttempts ?? 3,
  }
}

function defaultCredentials(profile?: string): AwsCredentialIdentityProvider {
  const {fromIni, fromNodeProviderChain} = load('@aws-sdk/credential-providers') as typeof import('@aws-sdk/credential-providers')
  return profile ? fromIni({profile}) : fromNodeProviderChain()
}

/** S3 needs more for non-AWS endpoints: path-style addressing, and no aws-chunked checksum trailers. */
export function s3Config(target: ClientTarget) {
  const custom = target.endpoint !== undefined
  return {
    ...clientConfig(target),
    ...(custom
      ? {
          forcePathStyle: true,
          requestChecksumCalculation: 'WHEN_REQUIRED' as const,
          responseChecksumValidation: 'WHEN_REQUIRED' as const,
        }
      : {}),
  }
}

/** The only place cape builds AWS SDK clients. Clients are created lazily, on first use. */
/** Client classes a caller imports itself (the function bundles), instead of loading them on first use. */
export interface PreloadedClients {
  S3Client?: typeof S3Client
}

export function createClients(target: ClientTarget, preloaded: PreloadedClients = {}): AwsClients {
  const made: {
    s3?: S3Client; cloudformation?: CloudFormationClient; iam?: IAMClient; sts?: STSClient; athena?: AthenaClient; glue?: GlueClient
    ssm?: SSMClient; secretsManager?: SecretsManagerClient; sns?: SNSClient; scheduler?: SchedulerClient
  } = {}
  return {
    target,
    get s3() {
      return (made.s3 ??= new (preloaded.S3Client ?? (load('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3')).S3Client)(s3Config(target)))
    },
    get cloudformation() {
      return (made.cloudformation ??= new (load('@aws-sdk/client-cloudformation') as typeof import('@aws-sdk/client-cloudformation')).CloudFormationClient(clientConfig(target)))
    },
    get iam() {
      return (made.iam ??= new (load('@aws-sdk/client-iam') as typeof import('@aws-sdk/client-iam')).IAMClient(clientConfig(target)))
    },
    get sts() {
      return (made.sts ??= new (load('@aws-sdk/client-sts') as typeof import('@aws-sdk/client-sts')).STSClient(clientConfig(target)))
    },
    get athena() {
      return (made.athena ??= new (load('@aws-sdk/client-athena') as typeof import('@aws-sdk/client-athena')).AthenaClient(clientConfig(target)))
    },
    get glue() {
      return (made.glue ??= new (load('@aws-sdk/client-glue') as typeof import('@aws-sdk/client-glue')).GlueClient(clientConfig(target)))
    },
    get ssm() {
      return (made.ssm ??= new (load('@aws-sdk/client-ssm') as typeof import('@aws-sdk/client-ssm')).SSMClient(clientConfig(target)))
    },
    get secretsManager() {
      return (made.secretsManager ??= new (load('@aws-sdk/client-secrets-manager') as typeof import('@aws-sdk/client-secrets-manager')).SecretsManagerClient(clientConfig(target)))
    },
    get sns() {
      return (made.sns ??= new (load('@aws-sdk/client-sns') as typeof import('@aws-sdk/client-sns')).SNSClient(clientConfig(target)))
    },
    get scheduler() {
      return (made.scheduler ??= new (load('@aws-sdk/client-scheduler') as typeof import('@aws-sdk/client-scheduler')).SchedulerClient(clientConfig(target)))
    },
    withCredentials(credentials) {
      return createClients({...target, profile: undefined, credentials}, preloaded)
    },
    destroy() {
      for (const c of Object.values(made)) c?.destroy()
    },
  }
}
