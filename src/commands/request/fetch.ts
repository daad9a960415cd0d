import {Args, Flags} from '@oclif/core'
import {CapeCommand} from '../../lib/cli/base.js'
import {renderFetched, resultsDir} from '../../lib/cli/views/requests.js'
import {resolveZones} from '../../lib/lakehouse/zones.js'
import {downloadResults, type FetchResult} from '../../lib/requests/fetch.js'
import {readStatus} from '../../lib/requests/wait.js'

export default class RequestFetch extends CapeCommand<typeof RequestFetch> {
  static summary = "Download a succeeded request's result files and verify their checksums"
  static examples = ['<%= config.bin %> request fetch 01JC8ZQ2V4W6X8Y0A2C4E6G8J0', '<%= config.bin %> request fetch 01JC8ZQ2V4W6X8Y0A2C4E6G8J0 --out ./extract']
  static args = {id: Args.string({required: true, description: 'Request id'})}
  static flags = {out: Flags.string({summary: 'Where to put the files (default ./results/<id>/).', helpValue: 'DIR'})}

  async run(): Promise<FetchResult> {
    const clients = await this.ctx.clients()
    const {buckets} = await resolveZones({env: this.ctx.env, clients})
    const status = await readStatus(clients.s3, buckets.results, this.args.id, this.ctx.signal)
    const fetched = await downloadResults({s3: clients.s3, signal: this.ctx.signal}, buckets.results, status, resultsDir(this.args.id, this.flags.out))
    this.out(renderFetched(fetched))
    return fetched
  }
}
