import {createReadStream} from 'node:fs'
import {parse} from 'csv-parse'
import {JsonError} from '../json.js'

/**
 * GetQueryResults pages, read from the stored result file (Athena's CSV: every value quoted, NULL unquoted and
 * empty): the first page starts with the header row, as Athena's does for a SELECT. NextToken is the byte offset of
 * the next row, so any page costs one bounded read — memory stays flat for any result size.
 */

export interface ResultsPage {
  rows: Array<{Data: Array<{VarCharValue?: string}>}>
  nextToken?: string
}

const encodeToken = (offset: number) => Buffer.from(`cape:${offset}`).toString('base64url')

function decodeToken(token: string | undefined): number {
  if (token === undefined) return 0
  const m = /^cape:(\d+)$/.exec(Buffer.from(token, 'base64url').toString())
  if (!m) throw new JsonError('InvalidRequestException', 'The NextToken is not valid for this query', 400, {AthenaErrorCode: 'INVALID_INPUT'})
  return Number(m[1])
}

export async function readResultsPage(file: string, nextToken: string | undefined, maxResults: number): Promise<ResultsPage> {
  const start = decodeToken(nextToken)
  const stream = createReadStream(file, {start})
  const parser = stream.pipe(parse({info: true, relax_column_count: true, cast: (value, context) => (context.quoting || value !== '' ? value : null)}))
  const rows: ResultsPage['rows'] = []
  let consumed = 0
  let more = false
  try {
    for await (const {record, info} of parser as AsyncIterable<{record: Array<string | null>; info: {bytes: number}}>) {
      if (rows.length === maxResults) {
        more = true
        break
      }
      rows.push({Data: record.map((v) => (v === null ? {} : {VarCharValue: v}))})
      consumed = info.bytes
    }
  } finally {
    stream.destroy()
  }
  return {rows, ...(more ? {nextToken: encodeToken(start + consumed)} : {})}
}
