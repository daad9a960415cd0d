import path from 'node:path'
import {QueryEngine} from '../platform/athena/engine.js'
import {createAthenaService} from '../platform/athena/service.js'
import {AthenaStore} from '../platform/athena/store.js'
import {createCloudFormationService} from '../platform/cloudformation/service.js'
import {platformProviders} from '../platform/cloudformation/providers/index.js'
import {EventBus} from '../platform/events/rules.js'
import {GlueCatalog} from '../platform/glue/catalog.js'
import {createGlueService} from '../platform/glue/service.js'
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
 * The whole local platform: the server (S3, IAM, STS, Lambda), CloudFormation with every resource provider, SSM
 * Parameter Store and Secrets Manager, and the Glue catalog with the Athena query engine (DuckDB on the platform's
 * own object files).
 */
export async function bootPlatform(options: BootOptions): Promise<Platform> {
  const platform = await startPlatform({dataDir: options.dataDir, port: options.port, region: options.region})
  const catalog = new GlueCatalog(path.join(options.dataDir, 'glue'), platform.accountId)
  const athena = new AthenaStore(path.join(options.dataDir, 'athena'))
  const objectsDir = path.join(options.dataDir, 's3', 'buckets')
  const engine = new QueryEngine({iam: platform.iam, catalog, s3: platform.s3, objectsDir, tmpDir: path.join(options.dataDir, 'athena', 'tmp'), region: platform.region})
  // EventBridge's default bus: rules (AWS::Events::Rule) deliver the services' events to Lambda targets
  const events = new EventBus(path.join(options.dataDir, 'events'), {
    accountId: platform.accountId, region: platform.region,
    deliver: async (arn, event) => { await platform.lambda.invoke(arn, event) },
  })
  platform.registerJsonService('glue', createGlueService(catalog, platform.iam, platform.region))
  platform.registerJsonService('athena', createAthenaService({store: athena, engine, events, iam: platform.iam, region: platform.region, accountId: platform.accountId, objectsDir}))
  const registry = platformProviders({s3: platform.s3, iam: platform.iam, lambda: platform.lambda, accountId: platform.accountId, region: platform.region, catalog, athena, events})
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
