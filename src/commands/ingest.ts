import {homedir} from 'node:os'
import path from 'node:path'
import {Args, Flags} from '@oclif/core'
import {CapeCommand} from '../lib/cli/base.js'
import {parseDuration} from '../lib/cli/duration.js'
import {CapeError} from '../lib/cli/errors.js'
import {ExitCode, type ExitCodeValue} from '../lib/cli/exit-codes.js'
import {renderDbIngest, renderIngest, renderIngestFailures} from '../lib/cli/views/ingest.js'
import {ingestDb, type DbIngestResult} from '../lib/feeds/postgres.js'
import {ingest, ingestExitCode, type IngestOutput, type IngestResult, type TransformMode} from '../lib/ingest/ingest.js'

export default class Ingest extends CapeCommand<typeof Ingest> {
  static summary = 'Land CSV files in raw and, when valid, in curated (canonical columns, CSV or parquet)'
  static description =
    'Sources: files, folders (their *.csv), quoted globs, and sftp://user@host[:port]/path-or-glob (key from ssh-agent or --identity; the host key must be in ~/.ssh/known_hosts or --known-hosts). Each file lands in raw as it is at <dataset>/ingest_date=YYYY-MM-DD/<name> (metadata: sha256, source, variant, cape version); valid data lands in curated at the same key, transformed to the canonical form; invalid data gets only its report (raw _reports/<key>.json, printed) and exit 6. --transform local curates in the CLI; remote leaves it to the deployed transform function and waits for it (--timeout); auto picks remote when the phase has the function. The same content for the same dataset is skipped (exit 0) unless --force.'
  static examples = [
    '<%= config.bin %> ingest fixtures/participants_legacy.csv',
    '<%= config.bin %> ingest exports/ --output parquet --transform local',
    '<%= config.bin %> ingest db:shop --table customers --json',
    '<%= config.bin %> ingest "sftp://alice@files.example.org/exports/*.csv" --known-hosts ./known_hosts --json',
  ]
  static strict = false
  static args = {source: Args.string({required: true, description: 'Files, folders, globs or sftp:// URLs (several allowed), or db:<source> (a database source of cape.yaml)'})}
  static flags = {
    dataset: Flags.string({summary: 'Ingest as this dataset instead of detecting it from the header.'}),
    transform: Flags.string({summary: 'Who validates and transforms: the CLI (local), the transform function (remote), or remote when deployed (auto).', options: ['auto', 'local', 'remote'], default: 'auto'}),
    output: Flags.string({summary: 'Curated format (parquet: typed columns, dates as DATE).', options: ['csv', 'parquet'], default: 'csv'}),
    force: Flags.boolean({summary: 'Ingest again even if this content was already ingested for the dataset.'}),
    'dry-run': Flags.boolean({summary: 'Hash, detect and validate; show the keys; write nothing.'}),
    concurrency: Flags.integer({summary: 'Files processed in parallel.', default: 2, min: 1, max: 32}),
    timeout: Flags.string({summary: 'How long --transform remote waits for the function.', default: '5m'}),
    'max-errors': Flags.integer({summary: 'List at most this many problems per file (all are counted).', default: 100, min: 0}),
    identity: Flags.string({summary: 'SSH private key for sftp:// sources (default: ssh-agent via SSH_AUTH_SOCK, else ~/.ssh/id_*).'}),
    table: Flags.string({summary: 'db: sources: only this table.'}),
    full: Flags.boolean({summary: 'db: sources: ignore the stored watermark and read every row again.'}),
    'batch-rows': Flags.integer({summary: 'db: sources: rows per batch (one raw file, one curated file, one watermark step).', default: 100_000, min: 1}),
    'known-hosts': Flags.string({summary: 'known_hosts file to check SFTP host keys against (default ~/.ssh/known_hosts).'}),
  }

  async run(): Promise<IngestResult | DbIngestResult> {
    const {argv} = await this.parse(Ingest)
    if (argv.length === 1 && String(argv[0]).startsWith('db:')) return this.runDb(String(argv[0]).slice(3))
    const timeoutMs = parseDuration(this.flags.timeout, 'timeout')
    const clients = await this.ctx.clients()
    const ssh = path.join(homedir(), '.ssh')
    const result = await ingest(
      {env: this.ctx.env, clients, reporter: this.renderer, signal: this.ctx.signal},
      {
        sources: argv as string[],
        dataset: this.flags.dataset,
        transform: this.flags.transform as TransformMode,
        output: this.flags.output as IngestOutput,
        force: this.flags.force,
        dryRun: this.flags['dry-run'],
        concurrency: this.flags.concurrency,
        timeoutMs,
        maxErrors: this.flags['max-errors'],
        version: this.config.version,
        resolve: {
          cwd: process.cwd(),
          defaultKnownHostsFile: path.join(ssh, 'known_hosts'),
          sftp: {
            identityFile: this.flags.identity,
            knownHostsFile: this.flags['known-hosts'],
            agentSocket: process.env.SSH_AUTH_SOCK || undefined,
            defaultIdentityFiles: ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => path.join(ssh, f)),
          },
        },
      },
    )
    this.renderer.clearLive()
    this.out(renderIngest(result, this.style))
    const exit = ingestExitCode(result)
    if (exit !== ExitCode.ok) {
      const only = result.files.length === 1 ? result.files[0].error : undefined
      if (only && !this.jsonEnabled()) throw new CapeError(only.code, only.message, {exit: exit as ExitCodeValue, hints: only.hints})
      // the per-file summary is the result either way; the exit code tells a script what went wrong
      if (this.jsonEnabled()) this.logJson(result)
      else if (result.counts.failed + result.counts.timeout > 0) process.stderr.write(`${renderIngestFailures(result, this.style)}\n`)
      this.exit(exit)
    }
    return result
  }

  private async runDb(source: string): Promise<DbIngestResult> {
    // test hook: a real kill -9 of this process right after a stage (CAPE_TEST_CRASH_AFTER=raw|curated|watermark)
    const crashAfter = process.env.CAPE_TEST_CRASH_AFTER
    const result = await ingestDb(
      {env: this.ctx.env, clients: await this.ctx.clients(), reporter: this.renderer, signal: this.ctx.signal},
      {
        source, table: this.flags.table, full: this.flags.full, dryRun: this.flags['dry-run'], batchRows: this.flags['batch-rows'],
        password: process.env.PGPASSWORD || undefined, version: this.config.version,
        afterStage: crashAfter ? (stage) => { if (stage === crashAfter) process.kill(process.pid, 'SIGKILL') } : undefined,
      },
    )
    this.renderer.clearLive()
    this.out(renderDbIngest(result))
    return result
  }
}
