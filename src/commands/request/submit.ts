import {Args, Flags} from '@oclif/core'
import {CapeCommand} from '../../lib/cli/base.js'
import {ndjsonLine, renderFetched, reportStateChange, resultsDir, stateLine, waitFlags, waitSettings} from '../../lib/cli/views/requests.js'
import {loadDatasets} from '../../lib/ingest/datasets.js'
import {resolveZones} from '../../lib/lakehouse/zones.js'
import {followRequest} from '../../lib/requests/follow.js'
import type {FetchResult} from '../../lib/requests/fetch.js'
import type {RequestStatus} from '../../lib/requests/status.js'
import {compileRequest, explainRequest, type CompiledRequest} from '../../lib/requests/sql.js'
import {checkRequestFile, submitRequest} from '../../lib/requests/submit.js'
import {resolveQueryTarget} from '../../lib/query/target.js'

export interface SubmitResult {
  id: string
  dataset: string
  submittedBy: string
  submittedAt: string
  state: RequestStatus['state']
  status?: RequestStatus
  fetched?: FetchResult
}

export default class RequestSubmit extends CapeCommand<typeof RequestSubmit> {
  static summary = 'Validate and submit an extraction request, wait for it and download the results'
  static description = 'The request is checked locally first (schema and dataset format; nothing is uploaded when invalid), written to <id>/request.json in the requests zone with your identity, then followed until the extractor answers. Exit 0 succeeded, 5 failed, 6 invalid, 8 still running at --timeout.'
  static examples = [
    '<%= config.bin %> request submit request.json',
    '<%= config.bin %> request submit request.json --no-wait',
    '<%= config.bin %> request submit request.json --timeout 2m --out ./extract --ndjson',
    '<%= config.bin %> request submit request.json --explain',
  ]
  static args = {file: Args.string({required: true, description: 'The request (JSON; see schemas/request.schema.json)'})}
  static flags = {
    'no-wait': Flags.boolean({summary: 'Submit and print the id; do not wait (then: cape request wait <id>).'}),
    explain: Flags.boolean({summary: 'Print the SQL the request runs as on the query engine (phase 2), with its parameters, and exit (nothing is submitted).'}),
    ...waitFlags,
  }

  async run(): Promise<SubmitResult | (CompiledRequest & {database: string})> {
    const wait = waitSettings(this.flags)
    const ndjson = this.flags.ndjson
    const emit = (line: string) => process.stdout.write(`${line}\n`)
    const datasets = loadDatasets(this.ctx.env.datasets, {files: this.ctx.env.datasetFiles})
    const checked = await checkRequestFile(this.args.file, datasets)
    const clients = await this.ctx.clients()
    if (this.flags.explain) {
      const {database} = await resolveQueryTarget({env: this.ctx.env, clients})
      const compiled = compileRequest(checked.request, datasets.get(checked.request.dataset)!, database)
      this.out(explainRequest(compiled))
      return {database, ...compiled}
    }
    const {buckets} = await resolveZones({env: this.ctx.env, clients})
    const s = await submitRequest({clients, reporter: ndjson ? undefined : this.renderer, signal: this.ctx.signal}, buckets.requests, checked)
    const base = {id: s.id, dataset: s.dataset, submittedBy: s.submittedBy, submittedAt: s.submittedAt}
    if (ndjson) emit(ndjsonLine('submitted', base))
    if (this.flags['no-wait']) {
      if (!ndjson) this.out(s.id)
      return {...base, state: 'pending'}
    }
    const {status, fetched} = await followRequest({s3: clients.s3, reporter: ndjson ? undefined : this.renderer, signal: this.ctx.signal}, buckets, s.id, {
      ...wait,
      dir: resultsDir(s.id, this.flags.out),
      onChange: (st) => (ndjson ? emit(stateLine(st)) : st.state === 'pending' || reportStateChange(this.renderer, st)),
    })
    if (ndjson) emit(ndjsonLine('downloaded', {id: s.id, dir: fetched.dir, files: fetched.files}))
    else this.out(renderFetched(fetched))
    return {...base, state: status.state, status, fetched}
  }
}
