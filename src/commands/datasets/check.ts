import {Flags} from '@oclif/core'
import {CapeCommand} from '../../lib/cli/base.js'
import {renderCheckReport} from '../../lib/cli/views/datasets.js'
import {checkDatasets, incompatible, type CheckReport} from '../../lib/datasets/check.js'

export default class DatasetsCheck extends CapeCommand<typeof DatasetsCheck> {
  static summary = 'Validate every dataset definition and compare it with the previous one (exit 6 on a change its version does not allow)'
  static description = `Breaking changes (a column removed or renamed, a type narrowed, a column made required or unique, a variant dropped or changed) need a major version bump; additions (an optional column, a variant, a widened type) at least a minor one; a shape change with no bump is refused. Invalid definitions exit 3, naming the file and line.`
  static examples = [
    '<%= config.bin %> datasets check',
    '<%= config.bin %> datasets check --against origin/main --json',
    '<%= config.bin %> datasets check --against-deployed --env prod',
  ]

  static flags = {
    against: Flags.string({summary: 'Compare with the definitions at this git ref (git show REF:path).', helpValue: 'REF', exclusive: ['against-deployed']}),
    'against-deployed': Flags.boolean({summary: 'Compare with the definitions the deployed lakehouse recorded (cape datasets publish).'}),
  }

  async run(): Promise<CheckReport> {
    const against = this.flags.against !== undefined ? {ref: this.flags.against} : this.flags['against-deployed'] ? {deployed: true as const} : undefined
    const report = await checkDatasets({env: this.ctx.env, clients: () => this.ctx.clients(), signal: this.ctx.signal}, against)
    this.out(renderCheckReport(report, this.style))
    if (!report.ok) throw incompatible(report)
    return report
  }
}
