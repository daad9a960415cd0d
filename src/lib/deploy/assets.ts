import {createHash} from 'node:crypto'
import {existsSync, readFileSync} from 'node:fs'
import {
  CreateBucketCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutBucketEncryptionCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  type BucketLocationConstraint,
} from '@aws-sdk/client-s3'
import type {AwsClients} from '../aws/clients.js'
import {mapAwsError} from '../aws/errors.js'
import {CapeError} from '../cli/errors.js'
import {ExitCode} from '../cli/exit-codes.js'
import type {Reporter} from '../reporter.js'
import {functionBundlePath, type PhaseDefinition} from './phases.js'

export interface Asset {
  function: string
  parameter: string
  file: string
  key: string
  sha256: string
  bytes: number
  /** Already in the assets bucket (no upload needed). */
  present: boolean
}

export interface AssetsPlan {
  bucket: string
  /** The assets bucket does not exist yet and will be created (like `cdk bootstrap`). */
  createBucket: boolean
  assets: Asset[]
}

export const assetsBucketName = (accountId: string, region: string) => `cape-assets-${accountId}-${region}`

async function exists(p: Promise<unknown>): Promise<boolean> {
  try {
    await p
    return true
  } catch (e) {
    const status = (e as {$metadata?: {httpStatusCode?: number}}).$metadata?.httpStatusCode
    if (status === 404 || (e as Error).name === 'NotFound' || (e as Error).name === 'NoSuchBucket') return false
    throw e
  }
}

/** What packaging will do: the bundles' content-addressed keys, and whether the bucket and objects exist. */
export async function planAssets(clients: AwsClients, phase: PhaseDefinition, accountId: string): Promise<AssetsPlan> {
  const region = clients.target.region
  const bucket = assetsBucketName(accountId, region)
  const bucketExists = await exists(clients.s3.send(new HeadBucketCommand({Bucket: bucket}))).catch((e) => {
    throw mapAwsError(e, {doing: `checking the assets bucket ${bucket}`})
  })
  const assets: Asset[] = []
  for (const [fn, parameter] of Object.entries(phase.functions)) {
    const file = functionBundlePath(fn)
    if (!existsSync(file)) {
      throw new CapeError('BUNDLE_MISSING', `The ${fn} function bundle ${file} is missing.`, {
        exit: ExitCode.config,
        hints: ['Run `npm run build` (it bundles src/functions/* with esbuild).'],
      })
    }
    const body = readFileSync(file)
    const sha256 = createHash('sha256').update(body).digest('hex')
    const key = `functions/${fn}-${sha256.slice(0, 16)}.zip`
    const present = bucketExists && (await exists(clients.s3.send(new HeadObjectCommand({Bucket: bucket, Key: key}))))
    assets.push({function: fn, parameter, file, key, sha256, bytes: body.length, present})
  }
  return {bucket, createBucket: !bucketExists, assets}
}

/** Create the assets bucket if needed (private, encrypted) and upload missing bundles. */
export async function publishAssets(clients: AwsClients, plan: AssetsPlan, reporter: Reporter): Promise<void> {
  const {s3} = clients
  try {
    if (plan.createBucket) {
      const region = clients.target.region
      await s3.send(
        new CreateBucketCommand({
          Bucket: plan.bucket,
          ...(region === 'us-east-1' ? {} : {CreateBucketConfiguration: {LocationConstraint: region as BucketLocationConstraint}}),
        }),
      )
      await s3.send(
        new PutPublicAccessBlockCommand({
          Bucket: plan.bucket,
          PublicAccessBlockConfiguration: {BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true},
        }),
      )
      await s3.send(
        new PutBucketEncryptionCommand({
          Bucket: plan.bucket,
          ServerSideEncryptionConfiguration: {Rules: [{ApplyServerSideEncryptionByDefault: {SSEAlgorithm: 'AES256'}}]},
        }),
      )
      reporter.notify({code: 'deploy.assets.bucket', level: 'info', message: `Created the assets bucket ${plan.bucket}`})
    }
    for (const a of plan.assets.filter((x) => !x.present)) {
      await s3.send(
        new PutObjectCommand({
          Bucket: plan.bucket,
          Key: a.key,
          Body: readFileSync(a.file),
          ContentType: 'application/zip',
          Metadata: {sha256: a.sha256},
        }),
      )
      a.present = true
      reporter.notify({code: 'deploy.assets.upload', level: 'info', message: `Uploaded the ${a.function} bundle (${a.bytes} bytes) to s3://${plan.bucket}/${a.key}`})
    }
  } catch (e) {
    throw mapAwsError(e, {doing: `publishing function bundles to ${plan.bucket}`})
  }
}
