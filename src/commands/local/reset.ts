import {Flags} from '@oclif/core'
import {CapeCommand} from '../../lib/cli/base.js'
import {requireLocal, resetLocal, type ResetResult} from '../../lib/local/manage.js'

export default class LocalReset extends CapeCommand<typeof LocalReset> {
  static summary = 'Stop the local platform and delete all its state (buckets, objects, users, stacks, functions)'
  static examples = ['<%= config.bin %> local reset --yes']
  static flags = {yes: Flags.boolean({char: 'y', summary: 'Delete without asking.'})}

  async run(): Promise<ResetResult> {
    const env = this.ctx.env
    requireLocal(env.target.value, env.name.value)
    const dataDir = env.dataDir!.value
    await this.confirm(`Delete all local platform state in ${dataDir}?`, {yes: this.flags.yes})
    const result = await resetLocal(dataDir)
    this.out(`Reset the local platform (${result.removed.length} entries removed from ${dataDir}).`)
    return result
  }
}
