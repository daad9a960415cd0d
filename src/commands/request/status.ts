import {Args} from '@oclif/core'
import {CapeCommand} from '../../lib/cli/base.js'
import {renderStatus} from '../../lib/cli/views/requests.js'
import {resolveZones} from '../../lib/lakehouse/zones.js'
import {isStale, type RequestStatus} from '../../lib/requests/status.js'
import {readStatus} from '../../lib/requests/wait.js'

export default class RequestStatusCommand extends CapeCommand<typeof RequestStatusCommand> {
  static summary = 'Show the status of a request (pending, running, succeeded, failed; stale when running past its deadline)'
  static description = 'Reads <id>/status.json from the results zone. Exits 0 whatever the state; scripts read `state` (and `stale`) under --json, or use `cape request wait`.'
  static examples = ['<%= config.bin %> request status 01JC8ZQ2V4W6X8Y0A2C4E6G8J0', '<%= config.bin %> request status 01JC8ZQ2V4W6X8Y0A2C4E6G8J0 --json']
  static args = {id: Args.string({required: true, description: 'Request id'})}

  async run(): Promise<RequestStatus & {stale: boolean}> {
    const clients = await this.ctx.clients()
    const {buckets} = await resolveZones({env: this.ctx.env, clients})
    const status = await readStatus(clients.s3, buckets.results, this.args.id, this.ctx.signal)
    this.out(renderStatus(status, this.style))
    return {...status, stale: isStale(status)}
  }
}
