import {Flags} from '@oclif/core'
import path from 'node:path'
import {CapeCommand} from '../../lib/cli/base.js'
import {CapeError} from '../../lib/cli/errors.js'
import {ExitCode} from '../../lib/cli/exit-codes.js'
import {DEFAULT_PORT, isAlive, readRunInfo, startDetached, type RunInfo} from '../../lib/local/launcher.js'
import {requireLocal} from '../../lib/local/manage.js'

export default class LocalStart extends CapeCommand<typeof LocalStart> {
  static summary = 'Start the local platform (S3, IAM, STS, CloudFormation, Lambda on 127.0.0.1)'
  static description =
    'Runs in the foreground until Ctrl-C, or in the background with --detach. Other commands in the local environment start it in the background by themselves when it is not running. A busy port is replaced by a free one (see `cape local status`).'
  static examples = ['<%= config.bin %> local start', '<%= config.bin %> local start --detach --port 4600', '<%= config.bin %> local start --data-dir /srv/cape']
  static flags = {
    port: Flags.integer({summary: `TCP port on 127.0.0.1 (default ${DEFAULT_PORT}; 0 = any free port).`, min: 0, max: 65535}),
    'data-dir': Flags.string({summary: 'Where the platform keeps its state (default: the local environment data dir, ./.cape).'}),
    detach: Flags.boolean({char: 'd', summary: 'Start in the background and return.'}),
  }

  async run(): Promise<RunInfo> {
    const env = this.ctx.env
    requireLocal(env.target.value, env.name.value)
    const dataDir = path.resolve(this.flags['data-dir'] ?? env.dataDir!.value)
    const running = readRunInfo(dataDir)
    if (await isAlive(running)) {
      throw new CapeError('LOCAL_ALREADY_RUNNING', `The local platform already runs at ${running!.endpoint} (pid ${running!.pid}, data ${dataDir}).`, {
        exit: ExitCode.usage,
        hints: ['Stop it with `cape local stop`, or use it as it is.'],
      })
    }
    const port = this.flags.port ?? DEFAULT_PORT
    if (this.flags.detach) {
      const info = await startDetached({dataDir, port})
      this.out(`Local platform running at ${info.endpoint} (pid ${info.pid}, data ${dataDir}). Stop it with \`cape local stop\`.`)
      return info
    }
    const {runPlatform} = await import('../../lib/local/serve.js')
    let info: RunInfo | undefined
    await runPlatform({
      dataDir,
      port,
      log: (line) => {
        info ??= readRunInfo(dataDir)
        process.stderr.write(`${line}\n`)
      },
    })
    return info ?? {pid: process.pid, port, endpoint: '', dataDir, startedAt: ''}
  }
}
