import {CapeCommand} from '../../lib/cli/base.js'
import {table} from '../../lib/cli/render.js'
import {describeEnvironment, stackNameFor} from '../../lib/config/config.js'

export interface ConfigShowResult {
  environment: string
  configFile: string | null
  values: ReturnType<typeof describeEnvironment>
  stackNames: {phase1: string}
  parameters: Record<string, Record<string, string>>
}

export default class ConfigShow extends CapeCommand<typeof ConfigShow> {
  static summary = 'Show the resolved environment and where each value came from'
  static description = 'Precedence for every value: flag > environment variable > cape.yaml > default.'
  static examples = ['<%= config.bin %> config show', '<%= config.bin %> config show --env dev --json']

  async run(): Promise<ConfigShowResult> {
    const env = this.ctx.env
    const values = describeEnvironment(env)
    this.out(table(values.map((v) => [v.key, v.value, `(${v.from})`]), ['SETTING', 'VALUE', 'SOURCE']))
    this.out()
    this.out(`config file: ${env.configFile ?? 'none (defaults)'}`)
    return {
      environment: env.name.value,
      configFile: env.configFile ?? null,
      values,
      stackNames: {phase1: stackNameFor(env, 'phase1')},
      parameters: env.parameters,
    }
  }
}
