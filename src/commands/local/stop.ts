import {CapeCommand} from '../../lib/cli/base.js'
import {stopPlatform} from '../../lib/local/launcher.js'
import {requireLocal} from '../../lib/local/manage.js'

export default class LocalStop extends CapeCommand<typeof LocalStop> {
  static summary = 'Stop the local platform (its data stays)'
  static examples = ['<%= config.bin %> local stop']

  async run(): Promise<{stopped: boolean; pid?: number; endpoint?: string}> {
    const env = this.ctx.env
    requireLocal(env.target.value, env.name.value)
    const info = await stopPlatform(env.dataDir!.value)
    this.out(info ? `Stopped the local platform (pid ${info.pid}, ${info.endpoint}).` : 'The local platform was not running.')
    return info ? {stopped: true, pid: info.pid, endpoint: info.endpoint} : {stopped: false}
  }
}
