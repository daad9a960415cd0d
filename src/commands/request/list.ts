import {Flags} from '@oclif/core'
import {CapeCommand} from '../../lib/cli/base.js'
import {renderRequestList} from '../../lib/cli/views/requests.js'
import {resolveZones} from '../../lib/lakehouse/zones.js'
import {listRequests, type RequestSummary} from '../../lib/requests/list.js'

export default class RequestList extends CapeCommand<typeof RequestList> {
  static summary = 'List the newest requests (id, dataset, state, submitted, by) from the results zone'
  static examples = ['<%= config.bin %> request list', '<%= config.bin %> request list --limit 100 --json']
  static flags = {limit: Flags.integer({summary: 'Show at most this many (newest first).', default: 20, min: 1})}

  async run(): Promise<RequestSummary[]> {
    const clients = await this.ctx.clients()
    const {buckets} = await resolveZones({env: this.ctx.env, clients})
    const {requests, total} = await listRequests(clients.s3, buckets.results, {limit: this.flags.limit, signal: this.ctx.signal})
    this.out(renderRequestList(requests, this.style))
    if (total > requests.length) this.out(this.style.dim(`(${requests.length} of ${total}; --limit shows more)`))
    return requests
  }
}
