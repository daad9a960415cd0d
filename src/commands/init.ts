import {Flags} from '@oclif/core'
import {CapeCommand} from '../lib/cli/base.js'
import {usageError} from '../lib/cli/errors.js'
import {writeCapeYaml, type InitResult} from '../lib/config/init.js'

export default class Init extends CapeCommand<typeof Init> {
  static summary = 'Write a cape.yaml in the current directory'
  static description =
    'Always defines the `local` environment. --target aws adds an AWS environment named by --name, using the global --region, --profile and --endpoint-url. On a terminal, asks for what the flags leave out.'
  static examples = [
    '<%= config.bin %> init',
    '<%= config.bin %> init --target aws --name dev --region eu-west-2 --profile cape-dev',
  ]
  static flags = {
    target: Flags.string({options: ['local', 'aws'], default: 'local', summary: 'Add an AWS environment (aws) or only local.'}),
    name: Flags.string({summary: 'Name of the AWS environment to add.'}),
    'stack-prefix': Flags.string({summary: 'Stack name prefix (stacks are <prefix>-<env>-<phase>).', default: 'cape'}),
    'default-env': Flags.string({summary: 'Environment used when --env is not given.'}),
    force: Flags.boolean({summary: 'Replace an existing cape.yaml.'}),
  }

  async run(): Promise<InitResult> {
    let {name, region, target} = this.flags
    if (this.mode === 'tty' && process.stdin.isTTY && !name) {
      const {input, confirm} = await import('@inquirer/prompts')
      if (target !== 'aws' && (await confirm({message: 'Add an AWS environment too?', default: false}))) target = 'aws'
      if (target === 'aws') {
        name = await input({message: 'Environment name', default: 'dev'})
        region ??= await input({message: 'AWS region', default: 'eu-west-2'})
      }
    }
    if (target === 'aws' && (!name || !region)) {
      throw usageError('An AWS environment needs --name and --region.', ['Example: cape init --target aws --name dev --region eu-west-2'])
    }
    const result = await writeCapeYaml({
      cwd: process.cwd(),
      force: this.flags.force,
      defaultEnv: this.flags['default-env'],
      aws:
        target === 'aws'
          ? {name: name!, region: region!, profile: this.flags.profile, endpoint: this.flags['endpoint-url'], stackPrefix: this.flags['stack-prefix']}
          : undefined,
    })
    this.out(`Wrote ${result.path} (environments: ${result.environments.join(', ')}; default: ${result.defaultEnv}).`)
    return result
  }
}
