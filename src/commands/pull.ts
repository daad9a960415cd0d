import {Args, Flags} from '@oclif/core'
import {CapeCommand} from '../lib/cli/base.js'
import {ExitCode} from '../lib/cli/exit-codes.js'
import {renderPullFailures, renderPullSummary} from '../lib/cli/views/lakehouse.js'
import {pull, type PullResult} from '../lib/lakehouse/pull.js'
import {parseZonePath, resolveZones} from '../lib/lakehouse/zones.js'

export default class Pull extends CapeCommand<typeof Pull> {
  static summary = 'Download every object under a zone path into a local folder'
  static description =
    'Mirrors zone/prefix into dest (default: the current folder), keys relative to the prefix. Unchanged files are skipped without downloading (.cape-pull.json in dest records what was pulled); each file is verified (size, MD5/SHA-256) before it takes its name; an interrupted pull resumes. Keys that would land outside dest are refused and reported; if any object fails the exit code is 9.'
  static examples = [
    '<%= config.bin %> pull curated/participants/ ./data',
    '<%= config.bin %> pull raw/ --include "*.csv" --exclude "tmp/**" --dry-run',
    '<%= config.bin %> pull results/ --json',
  ]
  static args = {
    path: Args.string({required: true, description: 'zone/prefix, e.g. curated/participants/'}),
    dest: Args.string({description: 'Local folder (default: the current folder)'}),
  }
  static flags = {
    'dry-run': Flags.boolean({summary: 'Show what would be downloaded; write nothing.'}),
    include: Flags.string({summary: 'Only keys matching this glob (relative to the prefix; repeatable).', multiple: true}),
    exclude: Flags.string({summary: 'Skip keys matching this glob (repeatable; beats --include).', multiple: true}),
    concurrency: Flags.integer({summary: 'Parallel downloads.', default: 16, min: 1, max: 256}),
    checksum: Flags.boolean({summary: 'Hash local files cape has no record of, to skip those already identical.'}),
  }

  async run(): Promise<PullResult> {
    const {zone, prefix} = parseZonePath(this.args.path)
    const clients = await this.ctx.clients()
    const zones = await resolveZones({env: this.ctx.env, clients})
    const result = await pull(
      {s3: clients.s3, reporter: this.renderer},
      {
        bucket: zones.buckets[zone],
        prefix,
        source: `${zone}/${prefix}`,
        dest: this.args.dest ?? process.cwd(),
        include: this.flags.include,
        exclude: this.flags.exclude,
        concurrency: this.flags.concurrency,
        dryRun: this.flags['dry-run'],
        checksum: this.flags.checksum,
        progress: this.mode === 'tty',
        signal: this.ctx.signal,
      },
    )
    this.renderer.clearLive()
    this.out(renderPullSummary(result, this.style))
    if (result.failed.length > 0) {
      // the summary is the result either way; the exit code tells a script that some objects failed
      if (this.jsonEnabled()) this.logJson(result)
      else process.stderr.write(`${renderPullFailures(result, this.style)}\n`)
      this.exit(ExitCode.partial)
    }
    return result
  }
}
