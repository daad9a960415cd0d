import {Args} from '@oclif/core'
import {CapeCommand} from '../../lib/cli/base.js'
import {ndjsonLine, renderFetched, reportStateChange, resultsDir, stateLine, waitFlags, waitSettings} from '../../lib/cli/views/requests.js'
import {resolveZones} from '../../lib/lakehouse/zones.js'
import {followRequest, type FollowResult} from '../../lib/requests/follow.js'

export default class RequestWait extends CapeCommand<typeof RequestWait> {
  static summary = 'Wait for a submitted request to finish and download its results'
  static description = 'Polls <id>/status.json in the results zone with backoff. Exit 0 succeeded (results downloaded and verified), 5 failed, 8 still running at --timeout.'
  static examples = ['<%= config.bin %> request wait 01JC8ZQ2V4W6X8Y0A2C4E6G8J0', '<%= config.bin %> request wait 01JC8ZQ2V4W6X8Y0A2C4E6G8J0 --timeout 10m --ndjson']
  static args = {id: Args.string({required: true, description: 'Request id (printed by submit)'})}
  static flags = {...waitFlags}

  async run(): Promise<FollowResult> {
    const wait = waitSettings(this.flags)
    const ndjson = this.flags.ndjson
    const emit = (line: string) => process.stdout.write(`${line}\n`)
    const clients = await this.ctx.clients()
    const {buckets} = await resolveZones({env: this.ctx.env, clients})
    const id = this.args.id
    const result = await followRequest({s3: clients.s3, reporter: ndjson ? undefined : this.renderer, signal: this.ctx.signal}, buckets, id, {
      ...wait,
      dir: resultsDir(id, this.flags.out),
      onChange: (st) => (ndjson ? emit(stateLine(st)) : reportStateChange(this.renderer, st)),
    })
    if (ndjson) emit(ndjsonLine('downloaded', {id, dir: result.fetched.dir, files: result.fetched.files}))
    else this.out(renderFetched(result.fetched))
    return result
  }
}
