import {Flags} from '@oclif/core'
import {CapeCommand} from '../lib/cli/base.js'
import {describeTables, syncEnvironmentTables, type SyncResult, type TableInfo} from '../lib/query/tables.js'
import {resolveQueryTarget} from '../lib/query/target.js'

export default class Tables extends CapeCommand<typeof Tables> {
  static summary = 'List the lakehouse tables (columns, types, partitions, location, format); --sync makes them from the datasets'
  static description =
    'Every dataset (built-in and cape.yaml) has three tables in the phase-2 Glue database: <dataset> (curated CSV, columns as text), <dataset>_parquet (curated parquet, typed) and raw_<dataset> (raw uploads, admin only), partitioned by ingest_date with partition projection — new data is queryable as soon as ingest stores it. cape deploy phase2 creates them; --sync brings them in step after cape.yaml changed.'
  static examples = [
    '<%= config.bin %> tables',
    '<%= config.bin %> tables --json',
    '<%= config.bin %> tables --sync',
  ]
  static flags = {
    sync: Flags.boolean({summary: 'Create or update the tables from the dataset definitions first (admin).'}),
  }

  async run(): Promise<{database: string; tables: TableInfo[]; sync?: SyncResult}> {
    const clients = await this.ctx.clients()
    const ctx = {env: this.ctx.env, clients, reporter: this.renderer}
    const sync = this.flags.sync ? await syncEnvironmentTables(ctx) : undefined
    if (sync) this.out(`${this.style.green('✓')} ${sync.created.length} created, ${sync.updated.length} updated, ${sync.unchanged.length} unchanged, ${sync.deleted.length} removed`)
    const target = await resolveQueryTarget(ctx)
    const tables = await describeTables(clients, target)
    for (const t of tables) {
      this.out(`${this.style.bold(t.name)}  ${t.format}  ${t.location}  ${t.partitions.length} partition${t.partitions.length === 1 ? '' : 's'}${t.partitions.length > 0 ? ` (${t.partitions[0]} … ${t.partitions.at(-1)})` : ''}`)
      this.out(`  ${[...t.columns.map((c) => `${c.name} ${c.type}`), ...t.partitionKeys.map((k) => `${k} (partition)`)].join(', ')}`)
    }
    if (tables.length === 0) this.out(`No tables in ${target.database}: cape tables --sync (or cape deploy phase2) makes them from the datasets.`)
    return {database: target.database, tables, ...(sync ? {sync} : {})}
  }
}
