import {CapeCommand} from '../../lib/cli/base.js'
import {renderDatasetList} from '../../lib/cli/views/datasets.js'
import {summarize, type DatasetSummary} from '../../lib/datasets/check.js'
import {projectDatasets} from '../../lib/datasets/sources.js'

export default class DatasetsList extends CapeCommand<typeof DatasetsList> {
  static summary = 'List the datasets: built-in, cape.yaml `datasets:` and datasets/*.yaml (version, owners, where defined)'
  static examples = ['<%= config.bin %> datasets list', '<%= config.bin %> datasets list --json']

  async run(): Promise<DatasetSummary[]> {
    const datasets = [...projectDatasets(this.ctx.env).values()].map(summarize)
    this.out(renderDatasetList(datasets))
    return datasets
  }
}
