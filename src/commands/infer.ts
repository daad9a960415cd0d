import {Args, Flags} from '@oclif/core'
import {CapeCommand} from '../lib/cli/base.js'
import {inferDataset, inferYaml, type InferResult} from '../lib/query/infer.js'

export default class Infer extends CapeCommand<typeof Infer> {
  static summary = 'Infer a dataset definition from a CSV file, ready to paste into cape.yaml'
  static description =
    'Reads the whole file (streamed) and checks every value with ingest\'s own checks: column types (integer, number, boolean, date as YYYY-MM-DD, else string), required (no empty values), and a unique key candidate. The file then validates against the printed definition.'
  static examples = ['<%= config.bin %> infer fixtures/visits.csv', '<%= config.bin %> infer export.csv --name visits --json']
  static args = {file: Args.string({required: true, description: 'A CSV file'})}
  static flags = {name: Flags.string({summary: 'Dataset name (default: from the file name).'})}

  async run(): Promise<InferResult> {
    const result = await inferDataset(this.args.file, {name: this.flags.name, signal: this.ctx.signal})
    this.out(inferYaml(result))
    return result
  }
}
