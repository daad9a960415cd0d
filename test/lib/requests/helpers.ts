import {createServer, type IncomingMessage, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import type {Dataset} from '../../../src/lib/ingest/datasets.js'
import {checkType, isEmpty, type TypedValue} from '../../../src/lib/ingest/values.js'
import {ParquetRowWriter} from '../../../src/lib/ingest/writers.js'

export const PARTICIPANTS_HEADER = ['participant_id', 'given_name', 'family_name', 'DOB', 'site']

/** Curated participants: the first six go to a CSV object, the last two to a parquet object (a later ingest date). */
export const PARTICIPANTS_CSV_ROWS = [
  ['P01', 'Ada', 'Lovelace', '1815-12-10', 'Oslo'],
  ['P02', 'Alan', 'Turing', '1912-06-23', 'Lima'],
  ['P03', 'Grace', 'Hopper', '1906-12-09', 'Nairobi'],
  ['P04', 'José', 'García', '1988-05-12', 'Kampala'],
  ['P05', 'Mary', 'Jackson', '1921-04-09', 'Lima'],
  ['P06', '', 'Nobody, "the"', '', 'Oslo'],
]
export const PARTICIPANTS_PARQUET_ROWS = [
  ['P07', 'Katherine', 'Johnson', '1918-08-26', 'Oslo'],
  ['P08', 'Dorothy', 'Vaughan', '1910-09-20', 'Nairobi'],
]

const quote = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v)
/** A curated CSV: canonical header, LF, quotes only where needed. */
export const csvOf = (header: string[], rows: string[][]) => [header, ...rows].map((r) => r.map(quote).join(',')).join('\n') + '\n'

/** A curated parquet file, written by the same writer `cape ingest` uses. */
export function parquetOf(dataset: Dataset, rows: string[][]): Buffer {
  const chunks: Buffer[] = []
  const w = new ParquetRowWriter(dataset.columns, (b) => chunks.push(b), {dataset: dataset.name})
  for (const r of rows) {
    const values: TypedValue[] = dataset.columns.map((c, i) => {
      if (isEmpty(r[i])) return null
      const t = checkType(c.type, r[i])
      if (!t.ok) throw new Error(t.message)
      return t.value
    })
    w.write(r, values)
  }
  w.end()
  return Buffer.concat(chunks)
}

export interface CallbackServer {
  url: string
  received: Array<{body: any; headers: IncomingMessage['headers']}>
  /** Answer the next requests with these status codes (then 200). */
  answers: number[]
  close(): Promise<void>
  /** Resolves when `n` callbacks have been received. */
  waitFor(n: number, timeoutMs?: number): Promise<void>
}

/** A real HTTP server on loopback that records the callbacks it receives. */
export async function callbackServer(): Promise<CallbackServer> {
  const received: CallbackServer['received'] = []
  const answers: number[] = []
  const server: Server = createServer((req, res) => {
    let text = ''
    req.setEncoding('utf8').on('data', (d) => (text += d))
    req.on('end', () => {
      let body: unknown
      try {
        body = JSON.parse(text)
      } catch {
        body = text
      }
      received.push({body, headers: req.headers})
      res.writeHead(answers.shift() ?? 200).end('ok')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    answers,
    close: () => new Promise((r) => server.close(() => r())),
    async waitFor(n, timeoutMs = 20_000) {
      const end = Date.now() + timeoutMs
      while (received.length < n) {
        if (Date.now() > end) throw new Error(`only ${received.length} of ${n} callbacks arrived`)
        await new Promise((r) => setTimeout(r, 25))
      }
    },
  }
}
