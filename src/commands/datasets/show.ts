import {Args} from '@oclif/core'
import {CapeCommand} from '../../lib/cli/base.js'
import {renderDataset} from '../../lib/cli/views/datasets.js'
import {getDataset, loadDatasets, type Dataset} from '../../lib/ingest/datasets.js'

export default class DatasetsShow extends CapeCommand<typeof DatasetsShow> {
  static summary = 'Show one dataset: version, owners, columns, variants, history'
  static examples = ['<%= config.bin %> datasets show participants', '<%= config.bin %> datasets show visits --json']
  static args = {dataset: Args.string({required: true, description: 'Dataset name'})}

  async run(): Promise<Dataset> {
    const dataset = getDataset(loadDatasets(this.ctx.env.datasets, {files: this.ctx.env.datasetFiles}), this.args.dataset)
    this.out(renderDataset(dataset))
    return dataset
  }
}
