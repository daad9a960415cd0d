import {CapeCommand} from '../../lib/cli/base.js'
import {renderDatasetList} from '../../lib/cli/views/datasets.js'
import {summarize, type DatasetSummary} from '../../lib/datasets/check.js'
import {loadDatasets} from '../../lib/ingest/datasets.js'

export default class DatasetsList extends CapeCommand<typeof DatasetsList> {
  static summary = 'List the datasets: built-in, cape.yaml `datasets:` and datasets/*.yaml (version, owners, where defined; `check` holds them to the schema)'
  static examples = ['<%= config.bin %> datasets list', '<%= config.bin %> datasets list --json']

  async run(): Promise<DatasetSummary[]> {
    const datasets = [...loadDatasets(this.ctx.env.datasets, {files: this.ctx.env.datasetFiles}).values()].map(summarize)
    this.out(renderDatasetList(datasets))
    return datasets
  }
}
