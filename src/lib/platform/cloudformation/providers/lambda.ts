/**
 * AWS::Lambda::Function (code from the platform's S3 service, run by the local Lambda runtime) and
 * AWS::Lambda::Permission (recorded: the local S3 service invokes functions without checking permissions).
 */
import {strToU8, zipSync} from 'fflate'
import type {IamStore} from '../../iam/store.js'
import type {LambdaRuntime} from '../../lambda/types.js'
import type {S3Service} from '../../s3/types.js'
import type {Json} from '../template.js'
import {generatedName, randomSuffix} from './names.js'
import {ProviderError, type Properties, type ProviderContext, type ResourceProvider} from './types.js'
import {requireStr, str} from './util.js'

export interface LambdaDeps {
  lambda: Pick<LambdaRuntime, 'putFunction' | 'deleteFunction' | 'getFunction'>
  s3: Pick<S3Service, 'getObjectBytes'>
  iam: Pick<IamStore, 'roleByArn'>
}

type Obj = Record<string, Json>
const obj = (v: Json | undefined): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {})

const functionArn = (ctx: ProviderContext, name: string) => `arn:aws:lambda:${ctx.region}:${ctx.accountId}:function:${name}`

async function code(deps: LambdaDeps, props: Properties): Promise<Buffer> {
  const c = obj(props.Code)
  if (c.ZipFile !== undefined) {
    // inline code: AWS stores it as index.js (Node.js runtimes)
    return Buffer.from(zipSync({'index.js': strToU8(String(c.ZipFile))}))
  }
  const bucket = str(c.S3Bucket)
  const key = str(c.S3Key)
  if (!bucket || !key) {
    if (c.ImageUri !== undefined) throw new ProviderError('Container image functions (Code.ImageUri) are not supported on the local platform')
    throw new ProviderError('Code must have S3Bucket and S3Key, or ZipFile (AWS::Lambda::Function)')
  }
  try {
    return await deps.s3.getObjectBytes(bucket, key)
  } catch (error) {
    throw new ProviderError(`Error occurred while GetObject. S3 Error Code: ${(error as {code?: string}).code ?? 'Error'}. S3 Error Message: ${(error as Error).message} (s3://${bucket}/${key})`)
  }
}

function environment(props: Properties): Record<string, string> {
  const vars = obj(obj(props.Environment).Variables)
  return Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, v === null ? '' : String(v)]))
}

async function put(deps: LambdaDeps, ctx: ProviderContext, name: string, props: Properties) {
  const runtime = requireStr('AWS::Lambda::Function', props, 'Runtime')
  if (!runtime.startsWith('nodejs')) throw new ProviderError(`Runtime ${runtime} is not supported on the local platform (Node.js runtimes only)`)
  const roleArn = requireStr('AWS::Lambda::Function', props, 'Role')
  try {
    deps.iam.roleByArn(roleArn)
  } catch {
    throw new ProviderError(`The role defined for the function cannot be assumed by Lambda. (${roleArn} does not exist)`)
  }
  if ((str(props.PackageType) ?? 'Zip') !== 'Zip') throw new ProviderError('PackageType Image is not supported on the local platform')
  const arn = functionArn(ctx, name)
  await deps.lambda.putFunction({
    name, arn, roleArn, handler: requireStr('AWS::Lambda::Function', props, 'Handler'), runtime,
    timeoutSeconds: props.Timeout === undefined ? 3 : Number(props.Timeout),
    memoryMb: props.MemorySize === undefined ? 128 : Number(props.MemorySize),
    environment: environment(props), code: await code(deps, props),
  })
  return {Arn: arn}
}

export function lambdaProviders(deps: LambdaDeps): Record<string, ResourceProvider> {
  const fn: ResourceProvider = {
    attributes: ['Arn', 'SnapStartResponse.ApplyOn', 'SnapStartResponse.OptimizationStatus'],
    async create(ctx, _id, props) {
      const name = str(props.FunctionName) ?? generatedName(ctx, {maxLength: 64})
      if (deps.lambda.getFunction(name)) throw new ProviderError(`${name} already exists`)
      return {physicalId: name, attributes: await put(deps, ctx, name, props)}
    },
    async update(ctx, _id, name, _oldProps, newProps) {
      return {attributes: await put(deps, ctx, name, newProps)}
    },
    async delete(_ctx, name) {
      await deps.lambda.deleteFunction(name)
    },
  }

  const permission: ResourceProvider = {
    attributes: [],
    async create(ctx, _id, props) {
      const target = requireStr('AWS::Lambda::Permission', props, 'FunctionName')
      requireStr('AWS::Lambda::Permission', props, 'Action')
      requireStr('AWS::Lambda::Permission', props, 'Principal')
      if (!deps.lambda.getFunction(target)) throw new ProviderError(`Function not found: ${target}`)
      const name = target.includes(':') ? target.split(':').pop() as string : target
      return {physicalId: `${name}-${ctx.logicalId.slice(0, 16)}-${randomSuffix(12)}`, attributes: {}}
    },
    async update() {
      return {attributes: {}}
    },
    async delete() {},
  }
  return {'AWS::Lambda::Function': fn, 'AWS::Lambda::Permission': permission}
}
