import {Args, Flags} from '@oclif/core'
import {CapeCommand} from '../lib/cli/base.js'
import {ExitCode} from '../lib/cli/exit-codes.js'
import {renderValidation} from '../lib/cli/views/ingest.js'
import {loadDatasets} from '../lib/ingest/datasets.js'
import {DEFAULT_MAX_ERRORS} from '../lib/ingest/pipeline.js'
import {validateFiles, type ValidateResult} from '../lib/ingest/validate-files.js'

export default class Validate extends CapeCommand<typeof Validate> {
  static summary = 'Check CSV files against their dataset format, without uploading anything'
  static description =
    'Detects the dataset and variant from the header (or uses --dataset), checks every row and lists every problem with its line, column, value and rule (up to --max-errors; all are counted). Accepts files, folders (their *.csv) and quoted globs. UTF-8 with or without BOM, LF or CRLF, quoted fields with commas and newlines. Exit 6 when any file is invalid; --json gives the full reports.'
  static examples = [
    '<%= config.bin %> validate fixtures/participants_legacy.csv',
    '<%= config.bin %> validate exports/ --dataset participants --max-errors 20',
    '<%= config.bin %> validate "exports/**/*.csv" --json',
  ]
  static strict = false
  static args = {file: Args.string({required: true, description: 'Files, folders or globs (several allowed)'})}
  static flags = {
    dataset: Flags.string({summary: 'Check against this dataset instead of detecting it from the header.'}),
    'max-errors': Flags.integer({summary: 'List at most this many problems per file (all are counted).', default: DEFAULT_MAX_ERRORS, min: 0}),
  }

  async run(): Promise<ValidateResult> {
    const {argv} = await this.parse(Validate)
    const result = await validateFiles(argv as string[], {
      datasets: loadDatasets(this.ctx.env.datasets, {files: this.ctx.env.datasetFiles}),
      dataset: this.flags.dataset,
      maxErrors: this.flags['max-errors'],
      cwd: process.cwd(),
      reporter: this.renderer,
      signal: this.ctx.signal,
    })
    this.renderer.clearLive()
    this.out(renderValidation(result, this.style))
    if (!result.valid) {
      // the reports are the result either way; the exit code tells a script the input was rejected
      if (this.jsonEnabled()) this.logJson(result)
      this.exit(ExitCode.inputRejected)
    }
    return result
  }
}
