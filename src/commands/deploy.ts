import {Args, Flags} from '@oclif/core'
import {CapeCommand} from '../lib/cli/base.js'
import {parseDuration} from '../lib/cli/duration.js'
import {renderOutputs, renderPlan} from '../lib/cli/views/deploy.js'
import {withLiveTask} from '../lib/cli/live.js'
import {applyPlan, type DeployResult} from '../lib/deploy/apply.js'
import type {ProgressEvent, Reporter} from '../lib/reporter.js'
import {discardPlan, parseParams, planPhase} from '../lib/deploy/plan.js'
import {syncEnvironmentTables, type SyncResult} from '../lib/query/tables.js'

export default class Deploy extends CapeCommand<typeof Deploy> {
  static summary = 'Deploy a rollout phase (plan a change set, confirm, execute, follow its events)'
  static description =
    'Stack cape-<env>-<phase>. Packages the phase functions into the assets bucket (created on first deploy), shows the plan (+ add, ~ modify, - remove, replacements flagged), asks, executes and follows the events. "No changes" exits 0. A failure shows the root cause and exits 5.'
  static examples = [
    '<%= config.bin %> deploy phase1 --yes',
    '<%= config.bin %> deploy phase2 --yes',
    '<%= config.bin %> deploy phase1 --dry-run --json',
    '<%= config.bin %> deploy phase1 --env dev --param FunctionMemory=2048',
  ]
  static args = {phase: Args.string({required: true, description: 'Phase to deploy (a template in templates/, e.g. phase1)'})}
  static flags = {
    'dry-run': Flags.boolean({summary: 'Stop after the plan (the change set is deleted).'}),
    yes: Flags.boolean({char: 'y', summary: 'Apply without asking.'}),
    param: Flags.string({summary: 'Template parameter Key=Value (repeatable; beats cape.yaml).', multiple: true}),
    timeout: Flags.string({summary: 'Give up following the deploy after this long.', default: '30m'}),
  }

  async run(): Promise<DeployResult & {tables?: SyncResult}> {
    const timeoutMs = parseDuration(this.flags.timeout, 'timeout')
    const clients = await this.ctx.clients()
    const ctx = {...this.ctx, clients}
    const plan = await planPhase(ctx, {phase: this.args.phase, params: parseParams(this.flags.param), signal: this.ctx.signal, timeoutMs})
    this.out(renderPlan(plan, this.style))
    if (plan.changes.length === 0) return {outcome: 'no-changes', stackName: plan.stackName, plan, ...(await this.syncTables(plan.phase))}
    if (this.flags['dry-run']) {
      await discardPlan(clients, plan)
      return {outcome: 'planned', stackName: plan.stackName, plan}
    }
    await this.confirm(`Apply ${plan.changes.length} changes to ${plan.stackName}?`, {yes: this.flags.yes})
    const apply = (reporter: Reporter) => applyPlan({...ctx, reporter}, plan, {timeoutMs})
    const result =
      this.mode === 'tty'
        ? await withLiveTask(`Deploying ${plan.stackName}`, apply, {summarize: (events) => `${countDone(events)}/${plan.changes.length} resources`})
        : await apply(this.renderer)
    this.out(`${this.style.green('✓')} ${plan.stackName} ${result.status}`)
    if (result.outputs) this.out(renderOutputs(result.outputs, this.style))
    return {...result, ...(await this.syncTables(plan.phase))}
  }

  /** A phase with the query engine (its outputs name a Glue database) gets its tables from the datasets. */
  private async syncTables(phase: string): Promise<{tables?: SyncResult}> {
    if (phase !== 'phase2') return {}
    const tables = await syncEnvironmentTables({env: this.ctx.env, clients: await this.ctx.clients(), reporter: this.renderer})
    const changed = tables.created.length + tables.updated.length + tables.deleted.length
    this.out(`${this.style.green('✓')} tables of ${tables.database}: ${changed === 0 ? `${tables.unchanged.length} up to date` : `${tables.created.length} created, ${tables.updated.length} updated, ${tables.deleted.length} removed`}`)
    return {tables}
  }
}

const countDone = (events: ProgressEvent[]) =>
  new Set(events.filter((e) => e.code === 'deploy.event' && /_COMPLETE$/.test(String(e.data?.status)) && e.data?.type !== 'AWS::CloudFormation::Stack').map((e) => e.data?.logicalId)).size
