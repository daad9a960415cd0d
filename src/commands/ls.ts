import {Args, Flags} from '@oclif/core'
import {CapeCommand} from '../lib/cli/base.js'
import {JsonArrayWriter, jsonEntries, renderListPage, renderZones} from '../lib/cli/views/lakehouse.js'
import {displayBase, listPages, zoneList, type ZoneInfo} from '../lib/lakehouse/list.js'
import {parseZonePath, resolveZones} from '../lib/lakehouse/zones.js'

export default class Ls extends CapeCommand<typeof Ls> {
  static summary = 'List the zones, or the objects under a zone path'
  static description =
    'Without an argument: the zones (raw, curated, requests, results) and their buckets. With zone[/prefix]: one level (folders end with /), or everything below with --recursive. Printed page by page as S3 lists them. --json prints an array of {key, size, etag, lastModified} (folders: {key, prefix: true}).'
  static examples = [
    '<%= config.bin %> ls',
    '<%= config.bin %> ls curated/participants/ --long',
    '<%= config.bin %> ls raw --recursive --json',
  ]
  static args = {path: Args.string({description: 'zone[/prefix], e.g. curated/participants/'})}
  static flags = {
    recursive: Flags.boolean({char: 'r', summary: 'Everything under the prefix, not one level.'}),
    long: Flags.boolean({char: 'l', summary: 'Show last-modified time and size.'}),
  }

  async run(): Promise<ZoneInfo[] | undefined> {
    const clients = await this.ctx.clients()
    const zones = await resolveZones({env: this.ctx.env, clients})
    if (!this.args.path) {
      const list = zoneList(zones)
      this.out(renderZones(list))
      return list
    }
    const {zone, prefix} = parseZonePath(this.args.path)
    const pages = listPages(clients.s3, {bucket: zones.buckets[zone], prefix, recursive: this.flags.recursive, signal: this.ctx.signal, label: `${zone}/${prefix}`})
    // Streamed page by page, also under --json (the array is written as it comes; nothing is returned).
    const json = this.jsonEnabled() ? new JsonArrayWriter(process.stdout) : undefined
    const base = displayBase(prefix)
    for await (const page of pages) {
      if (json) await json.write(jsonEntries(page))
      else for (const line of renderListPage(page, {base, long: this.flags.long}, this.style)) this.out(line)
    }
    await json?.end()
    return undefined
  }
}
