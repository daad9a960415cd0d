import {Flags} from '@oclif/core'
import {CapeCommand} from '../../lib/cli/base.js'
import {CapeError} from '../../lib/cli/errors.js'
import {ExitCode} from '../../lib/cli/exit-codes.js'
import {renderMatrix} from '../../lib/cli/views/users.js'
import {liveCheck, simulateAccess, type AccessReport} from '../../lib/identity/access.js'
import {liveOverwriteCheck, simulateOverwriteAccess} from '../../lib/identity/overwrite-access.js'
import {liveQueryCheck, simulateQueryAccess} from '../../lib/identity/query-access.js'
import {phaseContext} from '../../lib/identity/session.js'
import {resolveQueryTarget} from '../../lib/query/target.js'
import {getPhaseUser, listPhaseUsers} from '../../lib/identity/users.js'

export default class AccessCheck extends CapeCommand<typeof AccessCheck> {
  static summary = 'Prove who can reach what: every user × zone × action (and, with phase 2, query) against the expected matrix'
  static description =
    'Asks IAM SimulatePrincipalPolicy for every cell (the same call on AWS and on the local platform) and compares with the expected matrix. --live also tries each cell for real with the user’s own temporary key, cleaning up what it wrote. Exits 6 on any mismatch.'
  static examples = ['<%= config.bin %> access check', '<%= config.bin %> access check --user partner_user --live --json']
  static flags = {
    user: Flags.string({summary: 'Check one user (default: every user of the phase).'}),
    live: Flags.boolean({summary: 'Also try every cell for real with a temporary key (deleted afterwards).'}),
  }

  async run(): Promise<AccessReport> {
    const clients = await this.ctx.clients()
    const {id, zones} = await phaseContext({env: this.ctx.env, clients})
    const users = this.flags.user ? [await getPhaseUser(clients, id, this.flags.user)] : await listPhaseUsers(clients, id)
    const cells = await simulateAccess(clients, zones, users)
    // raw is write-once: nobody may replace an object there
    const overwriteCells = await simulateOverwriteAccess(clients, zones, users)
    cells.push(...overwriteCells)
    // phase 2 deployed: who may query which zone's tables
    const target = await resolveQueryTarget({env: this.ctx.env, clients})
    const queryCells = target.source === 'phase2' ? await simulateQueryAccess(clients, zones, target, users, {region: this.ctx.env.region.value, accountId: users[0]?.arn.split(':')[4] ?? ''}) : []
    cells.push(...queryCells)
    if (this.flags.live) {
      await liveCheck(clients, zones, users, cells, this.renderer)
      await liveOverwriteCheck(clients, users, overwriteCells)
      await liveQueryCheck(clients, target, users, queryCells)
    }
    const report: AccessReport = {users: users.map((u) => u.name), cells, mismatches: cells.filter((c) => !c.ok).length, live: Boolean(this.flags.live)}
    this.out(renderMatrix(cells, this.style, report.live))
    if (report.mismatches > 0) {
      throw new CapeError('ACCESS_MISMATCH', `${report.mismatches} of ${cells.length} access cells differ from the expected matrix.`, {
        exit: ExitCode.inputRejected,
        hints: ['Fix the policies in templates/ and redeploy, or fix the user’s role with `cape users`.'],
        data: {report},
      })
    }
    this.out(`${this.style.green('✓')} ${cells.length} cells match the expected matrix${report.live ? ' (policy and live)' : ''}.`)
    return report
  }
}
