import {CapeCommand} from '../../lib/cli/base.js'
import {ensureLocalPlatform} from '../../lib/local/launcher.js'
import {envExports, requireLocal, shellQuote} from '../../lib/local/manage.js'

export default class LocalEnv extends CapeCommand<typeof LocalEnv> {
  static summary = "Print shell exports for the platform's admin identity (for aws --endpoint-url and any SDK)"
  static description = 'eval "$(cape local env)" then `aws s3 ls` works against the local platform. The output holds a secret: do not paste it into logs.'
  static examples = ['eval "$(<%= config.bin %> local env)"', '<%= config.bin %> local env --json']

  async run(): Promise<Record<string, string>> {
    const env = this.ctx.env
    requireLocal(env.target.value, env.name.value)
    const id = await ensureLocalPlatform({dataDir: env.dataDir!.value, reporter: this.renderer})
    const vars = envExports(id)
    this.out(Object.entries(vars).map(([k, v]) => `export ${k}=${shellQuote(v)}`).join('\n'))
    // awscli before 2.13 ignores AWS_ENDPOINT_URL (Debian 12 ships 2.9).
    this.out(`# aws CLI < 2.13: add --endpoint-url ${vars.AWS_ENDPOINT_URL}`)
    return vars
  }
}
