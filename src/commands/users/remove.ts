import {Args, Flags} from '@oclif/core'
import {CapeCommand} from '../../lib/cli/base.js'
import {phaseContext} from '../../lib/identity/session.js'
import {getPhaseUser, removeUser, type UserInfo} from '../../lib/identity/users.js'

export default class UsersRemove extends CapeCommand<typeof UsersRemove> {
  static summary = "Remove a phase user (its keys, group memberships and policies first)"
  static examples = ['<%= config.bin %> users remove alice --yes']
  static args = {name: Args.string({required: true, description: 'IAM user name'})}
  static flags = {yes: Flags.boolean({char: 'y', summary: 'Remove without asking.'})}

  async run(): Promise<{removed: UserInfo}> {
    const clients = await this.ctx.clients()
    const {id} = await phaseContext({env: this.ctx.env, clients})
    const user = await getPhaseUser(clients, id, this.args.name)
    await this.confirm(`Remove ${user.name} (${user.roles.join(',') || 'no role'}, ${user.keys.length} keys)?`, {yes: this.flags.yes})
    const removed = await removeUser(clients, id, user.name, this.renderer)
    this.out(`Removed ${removed.name}.`)
    return {removed}
  }
}
