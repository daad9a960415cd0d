import {Args, Flags} from '@oclif/core'
import {CapeCommand} from '../../lib/cli/base.js'
import {renderPublish} from '../../lib/cli/views/datasets.js'
import {publishDatasets, type PublishResult} from '../../lib/datasets/publish.js'

export default class DatasetsPublish extends CapeCommand<typeof DatasetsPublish> {
  static summary = "Record the project's dataset definitions in the lakehouse (owners only; the transform function uses them)"
  static description = 'Checks the caller (STS GetCallerIdentity) against the owners of the recorded definition (of the new one on a first publish) and the change against the recorded version; IAM lets only the admin role write _datasets/.'
  static examples = ['<%= config.bin %> datasets publish', '<%= config.bin %> datasets publish visits --dry-run --json']
  static args = {dataset: Args.string({description: 'The dataset to publish (default: every one the project defines)'})}
  static flags = {'dry-run': Flags.boolean({summary: 'Check ownership and compatibility, write nothing.'})}

  async run(): Promise<PublishResult> {
    const names = this.args.dataset === undefined ? [] : [this.args.dataset]
    const result = await publishDatasets(this.ctx, {names, dryRun: this.flags['dry-run']})
    this.out(renderPublish(result, this.style))
    return result
  }
}
