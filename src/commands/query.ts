import {readFileSync} from 'node:fs'
import {Args, Flags} from '@oclif/core'
import {CapeCommand} from '../lib/cli/base.js'
import {parseDuration} from '../lib/cli/duration.js'
import {usageError} from '../lib/cli/errors.js'
import {humanBytes} from '../lib/cli/render.js'
import {renderBarChart} from '../lib/query/chart.js'
import {listQueries} from '../lib/query/execute.js'
import {runQuery, type QueryResult} from '../lib/query/query.js'
import {queryFormats, type QueryFormat} from '../lib/query/render.js'
import {resolveQueryTarget} from '../lib/query/target.js'

export default class Query extends CapeCommand<typeof Query> {
  static summary = 'Run SQL on the lakehouse (Athena) and print or export the result'
  static description =
    'Runs in the environment\'s workgroup and Glue database (phase-2 outputs, else cape-<env> / cape_<env>). Ctrl-C stops the query (exit 130); --timeout stops it too (exit 8); a failed query prints Athena\'s reason (exit 5). Results stream page by page; --out writes the whole result atomically.'
  static examples = [
    '<%= config.bin %> query "SELECT site, count(*) AS n FROM participants GROUP BY site"',
    '<%= config.bin %> query --file fixtures/analyses/participants_per_site.sql --chart bar',
    '<%= config.bin %> query "SELECT * FROM participants_parquet" --out all.csv',
    '<%= config.bin %> query --list',
  ]
  static args = {sql: Args.string({description: 'The SQL statement'})}
  static flags = {
    file: Flags.string({char: 'f', summary: 'Read the SQL from this file.'}),
    format: Flags.string({summary: 'Output format (default: table on a terminal, else csv).', options: [...queryFormats]}),
    out: Flags.string({char: 'o', summary: 'Write the whole result to this file (atomically).'}),
    timeout: Flags.string({summary: 'Stop the query if it has not finished after this long (e.g. 30s, 5m).'}),
    chart: Flags.string({summary: 'Draw a two-column (label, number) result as a chart.', options: ['bar']}),
    list: Flags.boolean({summary: 'Show recent query executions of the workgroup.'}),
  }

  async run(): Promise<unknown> {
    const clients = await this.ctx.clients()
    const target = await resolveQueryTarget({env: this.ctx.env, clients})
    if (this.flags.list) {
      const list = await listQueries(clients.athena, target)
      for (const q of list) this.out(`${q.queryExecutionId}  ${q.state.padEnd(9)}  ${q.submitted ?? ''}  ${humanBytes(q.dataScannedBytes).padStart(8)}  ${q.query.replaceAll(/\s+/g, ' ').slice(0, 60)}`)
      return list
    }
    const sql = this.flags.file ? readFileSync(this.flags.file, 'utf8') : this.args.sql
    if (!sql?.trim()) throw usageError('No SQL given.', ['Pass it as an argument, or --file q.sql.'])
    const format = (this.flags.format ?? (this.flags.out ? 'csv' : process.stdout.isTTY ? 'table' : 'csv')) as QueryFormat
    const chart = this.flags.chart === 'bar'
    const result: QueryResult = await runQuery({clients, reporter: this.renderer}, {
      sql,
      target,
      // --json is the envelope on stdout; a file written with --out keeps its own format (csv unless --format)
      format: this.jsonEnabled() && !this.flags.out ? 'json' : format,
      out: this.flags.out,
      collect: chart ? 'chart' : this.jsonEnabled() ? 'all' : undefined,
      timeoutMs: this.flags.timeout === undefined ? undefined : parseDuration(this.flags.timeout, 'timeout'),
      signal: this.ctx.signal,
    })
    this.renderer.clearLive()
    if (chart && result.rows) for (const line of renderBarChart(result.columns, result.rows, process.stdout.columns ?? 80)) this.out(line)
    if (!this.jsonEnabled()) {
      const rows = result.rowCount === undefined ? '' : `${result.rowCount} rows · `
      const out = result.out ? ` → ${result.out.file} (${humanBytes(result.out.bytes)})` : ''
      process.stderr.write(`${rows}${humanBytes(result.dataScannedBytes)} scanned · engine ${result.engineMs} ms · ${result.wallMs} ms total · ${result.queryExecutionId}${out}\n`)
    }
    return result
  }
}
