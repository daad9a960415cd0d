/** Worker-thread entry of createWorkerPipeline() (pipeline-worker.ts): runs createIngestPipeline() on messages. */
import {parentPort, workerData} from 'node:worker_threads'
import {createIngestPipeline, type IngestOptions} from './pipeline.js'

const port = parentPort!
const options = (workerData as {options: IngestOptions}).options
const send = (m: Record<string, unknown>, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer)

try {
  const p = createIngestPipeline(options)
  p.input.on('error', (e) => send({type: 'error', message: e.message, code: (e as {code?: string}).code}))
  p.output.on('data', (chunk: Buffer) => {
    // chunks from Buffer.from(string) may share the small-buffer pool: copy those, transfer the rest
    const own = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength
    const c = own ? chunk : Buffer.from(chunk)
    send({type: 'out', chunk: c}, [c.buffer as ArrayBuffer])
  })
  p.output.on('end', () => send({type: 'out-end'}))
  p.result.then(
    (report) => send({type: 'result', report}),
    (e: Error) => send({type: 'error', message: e.message, code: (e as {code?: string}).code}),
  )
  port.on('message', (m: {type: string; chunk?: Uint8Array}) => {
    switch (m.type) {
      case 'data':
        p.input.write(Buffer.from(m.chunk!.buffer, m.chunk!.byteOffset, m.chunk!.byteLength), () => send({type: 'ack', rows: p.rows()}))
        break
      case 'end':
        p.input.end()
        break
      case 'pause':
        p.output.pause()
        break
      case 'resume':
        p.output.resume()
        break
    }
  })
} catch (e) {
  send({type: 'error', message: (e as Error).message, code: (e as {code?: string}).code})
}
