import path from 'node:path'
import {createCloudFormationService} from '../platform/cloudformation/service.js'
import {platformProviders} from '../platform/cloudformation/providers/index.js'
import {decide} from '../platform/iam/authz.js'
import {QueryError} from '../platform/query.js'
import {createSecretsService} from '../platform/secrets/service.js'
import {SecretStore} from '../platform/secrets/store.js'
import {startPlatform, type Platform} from '../platform/server.js'
import {createSsmService} from '../platform/ssm/service.js'
import {ParameterStore} from '../platform/ssm/store.js'

export interface BootOptions {
  dataDir: string
  port?: number
  region?: string
}

/**
 * The whole local platform: the server (S3, IAM, STS, Lambda) plus CloudFormation with every resource provider, SSM
 * Parameter Store and Secrets Manager.
 */
export async function bootPlatform(options: BootOptions): Promise<Platform> {
  const platform = await startPlatform({dataDir: options.dataDir, port: options.port, region: options.region})
  const registry = platformProviders({s3: platform.s3, iam: platform.iam, lambda: platform.lambda, accountId: platform.accountId, region: platform.region})
  const cfn = createCloudFormationService({
    dataDir: path.join(options.dataDir, 'cloudformation'),
    accountId: platform.accountId,
    region: platform.region,
    providers: registry,
    getObject: (bucket, key) => platform.s3.getObjectBytes(bucket, key),
  })
  // CloudFormation calls are authorized like on AWS: `cloudformation:<Action>` on the stack's ARN.
  platform.registerQueryService('cloudformation', async (req) => {
    const name = req.params.string('StackName')
    const stack = name?.startsWith('arn:') ? name : name ? `arn:aws:cloudformation:${platform.region}:${platform.accountId}:stack/${name}/*` : '*'
    if (decide(platform.iam, req.principal, {action: `cloudformation:${req.action}`, resource: stack}) !== 'allowed') {
      throw new QueryError('AccessDenied', `User: ${req.principal.arn} is not authorized to perform: cloudformation:${req.action} on resource: ${stack}`, 403)
    }
    return cfn.handler(req)
  })
  platform.registerJsonService('ssm', createSsmService({iam: platform.iam, store: ParameterStore.open(path.join(options.dataDir, 'ssm'))}))
  platform.registerJsonService('secretsmanager', createSecretsService({iam: platform.iam, store: SecretStore.open(path.join(options.dataDir, 'secrets'))}))
  const close = platform.close.bind(platform)
  platform.close = async () => {
    await cfn.close()
    await close()
  }
  return platform
}
