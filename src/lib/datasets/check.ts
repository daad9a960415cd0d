import type {AwsClients} from '../aws/clients.js'
import {CapeError} from '../cli/errors.js'
import {ExitCode} from '../cli/exit-codes.js'
import type {ResolvedEnvironment} from '../config/config.js'
import type {Dataset} from '../ingest/datasets.js'
import {resolveZones} from '../lakehouse/zones.js'
import {compareDatasets, type DatasetComparison} from './compare.js'
import {datasetsAtRef, projectDatasets, recordedDatasets, recordedDefinitions} from './sources.js'

export interface DatasetSummary {
  name: string
  version: string | null
  owners: string[]
  /** built-in, cape.yaml, or the definition's file (datasets/visits.yaml). */
  from: string
  columns: number
  variants: string[]
  history: 'milestoned' | null
  key: string[] | null
}

export function summarize(d: Dataset): DatasetSummary {
  return {
    name: d.name,
    version: d.version ?? null,
    owners: d.owners ?? [],
    from: d.source === 'built-in' ? 'built-in' : d.file ?? 'cape.yaml',
    columns: d.columns.length,
    variants: d.variants.slice(1).map((v) => v.name),
    history: d.history ?? null,
    key: d.key ?? null,
  }
}

export interface CheckReport {
  /** git ref, "deployed", or null (validation only). */
  against: string | null
  datasets: DatasetSummary[]
  comparisons: DatasetComparison[]
  ok: boolean
}

export type Against = {ref: string} | {deployed: true} | undefined

/**
 * `cape datasets check`: every definition valid (throws DATASET_DEFINITION_INVALID, exit config, otherwise), and,
 * with a previous version to compare with, each change classed with its verdict. The caller decides what a failing
 * report means (the command: DATASET_INCOMPATIBLE, exit inputRejected).
 */
export async function checkDatasets(ctx: {env: ResolvedEnvironment; clients?: () => Promise<AwsClients>; signal?: AbortSignal}, against: Against): Promise<CheckReport> {
  const next = projectDatasets(ctx.env)
  const datasets = [...next.values()].map(summarize)
  if (against === undefined) return {against: null, datasets, comparisons: [], ok: true}
  let prev
  if ('ref' in against) {
    prev = await datasetsAtRef(ctx.env, against.ref)
  } else {
    const clients = await ctx.clients!()
    const {buckets} = await resolveZones({env: ctx.env, clients})
    const recorded = await recordedDefinitions(clients.s3, buckets.raw, ctx.signal)
    prev = recordedDatasets(recorded)
  }
  const comparisons = compareDatasets(prev, next)
  return {against: 'ref' in against ? against.ref : 'deployed', datasets, comparisons, ok: comparisons.every((c) => c.ok)}
}

export function incompatible(report: CheckReport): CapeError {
  const failing = report.comparisons.filter((c) => !c.ok)
  return new CapeError('DATASET_INCOMPATIBLE', `${failing.length} dataset${failing.length === 1 ? '' : 's'} changed incompatibly against ${report.against}: ${failing.map((c) => `${c.dataset}: ${c.problem}`).join('; ')}`, {
    exit: ExitCode.inputRejected,
    hints: ['Breaking changes need a major version bump, additions a minor one (README, "Datasets as a governed model").'],
    data: {report},
  })
}
