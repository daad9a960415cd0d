import {CloudFormationClient} from '@aws-sdk/client-cloudformation'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {platformProviders} from '../../../../src/lib/platform/cloudformation/providers/index.js'
import type {ResourceProvider} from '../../../../src/lib/platform/cloudformation/providers/types.js'
import {createCloudFormationService, type CloudFormationService} from '../../../../src/lib/platform/cloudformation/service.js'
import {startPlatform, type Platform} from '../../../../src/lib/platform/server.js'

/** The one fake: a resource type that always fails to create (registered only in tests). */
export const failingProvider: ResourceProvider = {
  async create() {
    throw new Error('boom: Test::Fails always fails')
  },
  async update() {
    throw new Error('boom: Test::Fails always fails')
  },
  async delete() {},
}

export interface CfnFixture {
  dataDir: string
  platform: Platform
  service: CloudFormationService
  cfn: CloudFormationClient
  /** Wait until every background operation finished. */
  idle(): Promise<void>
  close(): Promise<void>
}

/**
 * A real local platform (S3, IAM, Lambda) on an ephemeral port with the CloudFormation service registered, and the
 * real SDK v3 CloudFormation client pointed at it. `extra` providers are added to the real ones (test-only types).
 */
export async function startCfn(options: {dataDir?: string; extra?: Record<string, ResourceProvider>} = {}): Promise<CfnFixture> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'cape-cfn-'))
  const platform = await startPlatform({dataDir, port: 0})
  const providers = platformProviders({
    s3: platform.s3, iam: platform.iam, lambda: platform.lambda, accountId: platform.accountId, region: platform.region,
  })
  for (const [type, p] of Object.entries(options.extra ?? {'Test::Fails': failingProvider})) providers.set(type, p)
  const service = createCloudFormationService({
    dataDir: join(dataDir, 'cloudformation'), accountId: platform.accountId, region: platform.region, providers,
    getObject: (b, k) => platform.s3.getObjectBytes(b, k),
  })
  platform.registerQueryService('cloudformation', service.handler)
  const cfn = new CloudFormationClient({
    endpoint: platform.endpoint, region: platform.region, credentials: {...platform.adminCredentials}, maxAttempts: 1,
  })
  return {
    dataDir, platform, service, cfn,
    idle: () => service.idle(),
    async close() {
      cfn.destroy()
      await service.close()
      await platform.close()
    },
  }
}

export const removeDir = (dir: string) => rmSync(dir, {recursive: true, force: true})
