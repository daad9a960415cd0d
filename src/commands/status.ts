import {Args} from '@oclif/core'
import {CapeCommand} from '../lib/cli/base.js'
import {table} from '../lib/cli/render.js'
import {renderOutputs} from '../lib/cli/views/deploy.js'
import {listPhases, phaseStatus, type PhaseStatus} from '../lib/deploy/status.js'

export default class Status extends CapeCommand<typeof Status> {
  static summary = 'Show the deployed phases: stack status, last change, resources and outputs'
  static examples = ['<%= config.bin %> status', '<%= config.bin %> status phase1 --json']
  static args = {phase: Args.string({description: 'One phase (default: every phase in templates/)'})}

  async run(): Promise<PhaseStatus[]> {
    const clients = await this.ctx.clients()
    const phases = this.args.phase ? [this.args.phase] : listPhases()
    const result: PhaseStatus[] = []
    for (const p of phases) result.push(await phaseStatus({env: this.ctx.env, clients}, p))
    this.out(
      table(
        result.map((r) => [r.phase, r.stackName, r.status ?? 'not deployed', r.lastChange ?? '', String(r.resources.total)]),
        ['PHASE', 'STACK', 'STATUS', 'LAST CHANGE', 'RESOURCES'],
      ),
    )
    for (const r of result) {
      if (r.statusReason && !r.deployed) this.out(`  ${r.phase}: ${r.statusReason}`)
      if (this.args.phase && Object.keys(r.outputs).length > 0) this.out(`\n${renderOutputs(r.outputs, this.style)}`)
    }
    return result
  }
}
