import path from 'node:path'
import {createCloudFormationService} from '../platform/cloudformation/service.js'
import {platformProviders} from '../platform/cloudformation/providers/index.js'
import {startPlatform, type Platform} from '../platform/server.js'

export interface BootOptions {
  dataDir: string
  port?: number
  region?: string
}

/** The whole local platform: the server (S3, IAM, STS, Lambda) plus CloudFormation with every resource provider. */
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
  platform.registerQueryService('cloudformation', cfn.handler)
  const close = platform.close.bind(platform)
  platform.close = async () => {
    await cfn.close()
    await close()
  }
  return platform
}
