import {Args, Flags} from '@oclif/core'
import {CapeCommand} from '../lib/cli/base.js'
import {parseDuration} from '../lib/cli/duration.js'
import {renderDestroyPlan} from '../lib/cli/views/deploy.js'
import {destroyPhase, planDestroy, type DestroyResult} from '../lib/deploy/apply.js'

export default class Destroy extends CapeCommand<typeof Destroy> {
  static summary = "Delete a phase's stack (retained buckets and their data stay)"
  static examples = ['<%= config.bin %> destroy phase1', '<%= config.bin %> destroy phase1 --yes --json']
  static args = {phase: Args.string({required: true, description: 'Phase to destroy'})}
  static flags = {
    yes: Flags.boolean({char: 'y', summary: 'Destroy without asking.'}),
    timeout: Flags.string({summary: 'Give up following the delete after this long.', default: '30m'}),
  }

  async run(): Promise<DestroyResult> {
    const clients = await this.ctx.clients()
    const ctx = {...this.ctx, clients}
    const plan = await planDestroy(ctx, this.args.phase)
    this.out(renderDestroyPlan(plan, this.style))
    if (!plan.exists) return {stackName: plan.stackName, outcome: 'absent', retained: []}
    await this.confirm(`Destroy ${plan.stackName}?`, {yes: this.flags.yes})
    const result = await destroyPhase(ctx, plan, this.args.phase, {timeoutMs: parseDuration(this.flags.timeout, 'timeout')})
    this.out(`${this.style.green('✓')} ${plan.stackName} deleted${result.retained.length ? `; retained: ${result.retained.map((r) => r.bucket).join(', ')}` : ''}`)
    return result
  }
}
