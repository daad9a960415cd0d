import {CapeCommand} from '../../lib/cli/base.js'
import {table} from '../../lib/cli/render.js'
import {localStatus, requireLocal, type LocalStatus as Result} from '../../lib/local/manage.js'

export default class LocalStatus extends CapeCommand<typeof LocalStatus> {
  static summary = 'Show whether the local platform runs: endpoint, pid, data dir, counts'
  static examples = ['<%= config.bin %> local status', '<%= config.bin %> local status --json']

  async run(): Promise<Result> {
    const env = this.ctx.env
    requireLocal(env.target.value, env.name.value)
    const s = await localStatus(env.dataDir!.value)
    if (!s.running) {
      this.out(`not running (data: ${s.dataDir}); \`cape local start\` starts it, and any local command starts it when needed.`)
      return s
    }
    const rows = [
      ['endpoint', s.endpoint!],
      ['pid', String(s.pid)],
      ['data dir', s.dataDir],
      ['account', `${s.accountId} (${s.region})`],
      ['started', s.startedAt ?? ''],
      ['buckets', String(s.counts!.buckets)],
      ['users', String(s.counts!.users)],
      ['roles', String(s.counts!.roles)],
      ['stacks', String(s.counts!.stacks)],
      ['functions', String(s.counts!.functions)],
    ]
    this.out(table(rows))
    return s
  }
}
