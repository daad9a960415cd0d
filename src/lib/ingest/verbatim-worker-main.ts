/**
 * Worker-thread entry of startVerbatimCheck() (curate-file.ts): runs the ingest pipeline (CSV output) over a file it
 * reads itself, and checks that the curated output is the file's own bytes after its header line — so that the CLI
 * can upload "curated header + the raw file's body" straight from the file while this thread validates.
 *
 * Messages to the parent: {type: 'start', bodyStart, header} once the curated header line and the end of the file's
 * header line are known; {type: 'progress', bytes, rows}; {type: 'diverged'} as soon as the output differs from the
 * file's body (validation goes on: the report still comes); {type: 'result', report, identical, finalNewline} at the
 * end — identical: the output was the body (plus a line feed when the file does not end with one: finalNewline);
 * {type: 'error', message}.
 */
import {open} from 'node:fs/promises'
import {parentPort, workerData} from 'node:worker_threads'
import {written} from './file-feed.js'
import {createIngestPipeline, type IngestOptions} from './pipeline.js'

const port = parentPort!
const {file, options} = workerData as {file: string; options: IngestOptions}
const CHUNK = 1 << 18

async function main(): Promise<void> {
  const p = createIngestPipeline({...options, output: 'csv'})
  // the file's body (after its first LF) read but not yet compared with the output: views of read buffers, and the
  // read buffers themselves (refilled once compared: their memory is reused instead of piling up as garbage)
  const pending: Buffer[] = []
  const pendingOwners: Buffer[] = []
  const free: Buffer[] = []
  const release = (owner: Buffer) => {
    if (free.length < 4) free.push(owner)
  }
  let inHeader = true
  let bodyStart = 0
  let outHeader: Buffer[] | undefined = []
  let headerText = ''
  let started = false
  let diverged = false
  let inputDone = false
  let lastByte = -1
  let finalNewline = false

  const startIfReady = () => {
    if (started || inHeader || outHeader !== undefined) return
    started = true
    port.postMessage({type: 'start', bodyStart, header: headerText})
  }
  const diverge = () => {
    if (diverged) return
    diverged = true
    pending.length = 0
    pendingOwners.length = 0
    port.postMessage({type: 'diverged'})
  }

  /** Whether output bytes `out` are the next pending body bytes. */
  const same = (out: Buffer): boolean => {
    let o = 0
    while (o < out.length) {
      const head = pending[0]
      if (head === undefined) {
        // more output than body: only the line feed the pipeline adds after a last line that has none
        if (inputDone && lastByte !== 10 && !finalNewline && out.length - o === 1 && out[o] === 10) {
          finalNewline = true
          return true
        }
        return false
      }
      const n = Math.min(head.length, out.length - o)
      if (head.compare(out, o, o + n, 0, n) !== 0) return false
      o += n
      if (n === head.length) {
        pending.shift()
        release(pendingOwners.shift()!)
      } else pending[0] = head.subarray(n)
    }
    return true
  }

  p.output.on('data', (chunk: Buffer) => {
    if (!diverged) {
      let c = chunk
      if (outHeader !== undefined) {
        const lf = c.indexOf(10)
        if (lf === -1) outHeader.push(Buffer.from(c))
        else {
          outHeader.push(c.subarray(0, lf + 1))
          headerText = Buffer.concat(outHeader).toString('utf8')
          outHeader = undefined
          startIfReady()
        }
        c = lf === -1 ? c.subarray(c.length) : c.subarray(lf + 1)
      }
      if (c.length > 0 && !same(c)) diverge()
    }
    p.recycle?.(chunk)
  })
  const outputEnded = new Promise<void>((resolve) => p.output.once('end', () => resolve()))

  const fh = await open(file, 'r')
  let bytes = 0
  let lastProgress = 0
  try {
    for (;;) {
      // a buffer is reused only once compared; the pipeline is done with it too (each write is awaited below)
      const buf = free.pop() ?? Buffer.allocUnsafe(CHUNK)
      const {bytesRead} = await fh.read(buf, 0, CHUNK, null)
      if (bytesRead === 0) break
      const chunk = buf.subarray(0, bytesRead)
      bytes += bytesRead
      lastByte = chunk[bytesRead - 1]
      if (inHeader) {
        const lf = chunk.indexOf(10)
        if (lf === -1) bodyStart += bytesRead
        else {
          bodyStart += lf + 1
          inHeader = false
          if (lf + 1 < bytesRead && !diverged) {
            pending.push(chunk.subarray(lf + 1))
            pendingOwners.push(buf)
          }
          startIfReady()
        }
      } else if (!diverged) {
        pending.push(chunk)
        pendingOwners.push(buf)
      }
      await written(p.input, chunk)
      if (bytes - lastProgress >= 1 << 22) {
        lastProgress = bytes
        port.postMessage({type: 'progress', bytes, rows: p.rows()})
      }
    }
  } finally {
    await fh.close()
  }
  inputDone = true
  p.input.end()
  const report = await p.result
  await outputEnded
  port.postMessage({type: 'progress', bytes, rows: p.rows()})
  const identical = !diverged && !inHeader && outHeader === undefined && pending.length === 0
  port.postMessage({type: 'result', report, identical, finalNewline: identical && finalNewline})
}

main().catch((e: Error) => port.postMessage({type: 'error', message: e.message}))
