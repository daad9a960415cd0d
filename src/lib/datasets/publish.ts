import {PutObjectCommand} from '@aws-sdk/client-s3'
import {ListGroupsForUserCommand} from '@aws-sdk/client-iam'
import {GetCallerIdentityCommand} from '@aws-sdk/client-sts'
import type {AwsClients} from '../aws/clients.js'
import {mapAwsError} from '../aws/errors.js'
import {CapeError} from '../cli/errors.js'
import {ExitCode} from '../cli/exit-codes.js'
import type {ResolvedEnvironment} from '../config/config.js'
import {ROLES, type Role} from '../identity/matrix.js'
import {datasetDefinitionKey} from '../ingest/curate.js'
import {getDataset, type Dataset} from '../ingest/datasets.js'
import {resolveZones} from '../lakehouse/zones.js'
import type {Reporter} from '../reporter.js'
import {compareDataset, type DatasetComparison} from './compare.js'
import {PUBLISHED_BY, projectDatasets, recordedDatasets, recordedDefinitions} from './sources.js'

/**
 * `cape datasets publish`: records the project's definitions in the lakehouse (raw bucket, `_datasets/<name>.json`,
 * where the transform function reads them), for the dataset's owners only. Two locks: the CLI checks the caller
 * (STS GetCallerIdentity, IAM groups) against the owners of the recorded definition (of the new one for a first
 * publish); IAM on the bucket lets only the admin role write `_datasets/` (templates/phase1.yaml), so a caller who
 * is neither is refused by AWS itself, whatever the CLI says. A definition must pass `check --against-deployed`.
 */

export interface Caller {
  arn: string
  account: string
  /** IAM user or role name; undefined for the account root. */
  name?: string
  groups: string[]
  root: boolean
}

export interface PublishItem {
  dataset: string
  version: string | null
  key: string
  status: 'published' | 'unchanged' | 'planned'
  comparison: DatasetComparison
}

export interface PublishResult {
  caller: string
  bucket: string
  dryRun: boolean
  datasets: PublishItem[]
}

export async function callerIdentity(clients: AwsClients): Promise<Caller> {
  const id = await clients.sts.send(new GetCallerIdentityCommand({})).catch((e) => {
    throw mapAwsError(e, {doing: 'identifying the caller (sts:GetCallerIdentity)'})
  })
  const arn = id.Arn!
  if (/:root$/.test(arn)) return {arn, account: id.Account!, groups: [], root: true}
  const user = /:user\/(?:.*\/)?([^/]+)$/.exec(arn)?.[1]
  const role = /:assumed-role\/([^/]+)\//.exec(arn)?.[1]
  let groups: string[] = []
  if (user) {
    // a producer may not be allowed to list its own groups: then only its user name can make it an owner
    groups = await clients.iam.send(new ListGroupsForUserCommand({UserName: user})).then((r) => (r.Groups ?? []).map((g) => g.GroupName!), () => [])
  }
  return {arn, account: id.Account!, name: user ?? role, groups, root: false}
}

/** An owner entry is an IAM user (or role) name, a group name, or a cape role naming the phase's group. */
export function isOwner(caller: Caller, owners: string[], roleGroups: Partial<Record<Role, string>>): boolean {
  if (caller.root) return true
  const names = owners.map((o) => ((ROLES as readonly string[]).includes(o) ? roleGroups[o as Role] ?? o : o))
  return names.some((o) => o === caller.name || caller.groups.includes(o))
}

/** The stored form: the definition as written (cape.yaml entry or file), with its name. */
function storedDefinition(env: ResolvedEnvironment, dataset: Dataset): Record<string, unknown> {
  return {name: dataset.name, ...(env.datasets[dataset.name] as Record<string, unknown>)}
}

export async function publishDatasets(
  ctx: {env: ResolvedEnvironment; clients(): Promise<AwsClients>; reporter: Reporter; signal?: AbortSignal},
  options: {names?: string[]; dryRun?: boolean},
): Promise<PublishResult> {
  const datasets = projectDatasets(ctx.env)
  const names = options.names?.length ? options.names : Object.keys(ctx.env.datasets).sort()
  const targets = names.map((n) => getDataset(datasets, n))
  for (const d of targets) {
    if (!Object.hasOwn(ctx.env.datasets, d.name)) throw new CapeError('DATASET_BUILT_IN', `${d.name} is built in: it ships with cape and is not published`, {exit: ExitCode.usage})
  }
  const clients = await ctx.clients()
  const zones = await resolveZones({env: ctx.env, clients})
  const bucket = zones.buckets.raw
  const o = zones.outputs
  const roleGroups: Partial<Record<Role, string>> = {reg: o.RegGroupName, admin: o.AdminGroupName, partner: o.PartnerGroupName}
  const recorded = await recordedDefinitions(clients.s3, bucket, ctx.signal)
  const previous = recordedDatasets(recorded)
  const caller = await callerIdentity(clients)
  const items: PublishItem[] = []
  for (const d of targets) {
    const published = recorded.get(d.name)?.publishedBy !== undefined ? previous.get(d.name) : undefined
    // the owners of the recorded version decide (else anyone could name themselves owner in the new file)
    const owners = published?.owners ?? d.owners ?? []
    if (!isOwner(caller, owners, roleGroups)) {
      throw new CapeError('DATASET_NOT_OWNER', `${caller.arn} is not an owner of dataset ${d.name} (owners: ${owners.join(', ') || 'none'})`, {
        exit: ExitCode.config,
        hints: ['Ask an owner to publish it, or to add you to `owners` and publish that first.'],
      })
    }
    const comparison = compareDataset(d.name, published, d)
    if (!comparison.ok) {
      throw new CapeError('DATASET_INCOMPATIBLE', `dataset ${d.name}: ${comparison.problem}`, {exit: ExitCode.inputRejected, data: {comparison}, hints: ['`cape datasets check --against-deployed` lists every change with its class.']})
    }
    const key = datasetDefinitionKey(d.name)
    const base = {dataset: d.name, version: d.version ?? null, key, comparison}
    if (published && comparison.status === 'unchanged' && published.version === d.version) {
      items.push({...base, status: 'unchanged'})
      continue
    }
    if (options.dryRun) {
      items.push({...base, status: 'planned'})
      continue
    }
    try {
      await clients.s3.send(new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: JSON.stringify(storedDefinition(ctx.env, d), null, 2),
        ContentType: 'application/json',
        Metadata: {[PUBLISHED_BY]: caller.arn, 'cape-dataset-version': d.version ?? ''},
      }), {abortSignal: ctx.signal})
    } catch (error) {
      const mapped = mapAwsError(error, {doing: `publishing ${d.name} to s3://${bucket}/${key}`})
      if (mapped.code !== 'AWS_AccessDenied') throw mapped
      throw new CapeError('DATASET_PUBLISH_DENIED', `IAM denied ${caller.arn} writing s3://${bucket}/${key}`, {
        exit: ExitCode.config,
        cause: error,
        hints: ['Only the admin role may write dataset definitions (templates/phase1.yaml, DatasetDefinitionsByAdminsOnly): publish with an admin identity that is an owner.'],
      })
    }
    ctx.reporter.notify({code: 'datasets.published', level: 'success', message: `published ${d.name} ${d.version ?? ''} to s3://${bucket}/${key}`, data: {dataset: d.name}})
    items.push({...base, status: 'published'})
  }
  return {caller: caller.arn, bucket, dryRun: options.dryRun === true, datasets: items}
}
