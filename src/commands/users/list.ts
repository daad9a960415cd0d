import {CapeCommand} from '../../lib/cli/base.js'
import {renderUsers} from '../../lib/cli/views/users.js'
import {phaseContext} from '../../lib/identity/session.js'
import {listPhaseUsers, type UserInfo} from '../../lib/identity/users.js'

export default class UsersList extends CapeCommand<typeof UsersList> {
  static summary = "List the phase's users, their roles and access key ids (never secrets)"
  static examples = ['<%= config.bin %> users list', '<%= config.bin %> users list --json']

  async run(): Promise<UserInfo[]> {
    const clients = await this.ctx.clients()
    const {id} = await phaseContext({env: this.ctx.env, clients})
    const users = await listPhaseUsers(clients, id)
    this.out(renderUsers(users))
    return users
  }
}
