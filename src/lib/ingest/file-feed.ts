import {open} from 'node:fs/promises'
import type {Writable} from 'node:stream'
import {finished} from 'node:stream/promises'

/**
 * Write a file into `input` through one reused buffer, then end it. Each chunk is written only once the previous
 * write's callback came — the consumer has processed it — so the same buffer is refilled: no chunk garbage for V8
 * to collect, whatever the file size. Only for consumers that keep nothing of a chunk after its callback (the
 * ingest pipeline copies what it keeps; the worker pipeline copies each chunk when posting it). Returns the bytes.
 */
export async function feedFile(
  file: string,
  input: Writable,
  options: {chunkSize?: number; signal?: AbortSignal; onBytes?: (n: number) => void} = {},
): Promise<number> {
  const fh = await open(file, 'r')
  const buf = Buffer.allocUnsafe(options.chunkSize ?? 1 << 18)
  let bytes = 0
  try {
    for (;;) {
      options.signal?.throwIfAborted()
      const {bytesRead} = await fh.read(buf, 0, buf.length, null)
      if (bytesRead === 0) break
      bytes += bytesRead
      options.onBytes?.(bytesRead)
      await written(input, buf.subarray(0, bytesRead))
    }
    input.end()
    await finished(input, {readable: false})
    return bytes
  } catch (e) {
    input.destroy(e as Error)
    throw e
  } finally {
    await fh.close()
  }
}

/** Write a chunk; resolve at its callback, reject if the stream errors or closes first (a destroyed stream may never call back). */
export function written(input: Writable, chunk: Buffer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onClose = () => {
      cleanup()
      reject(input.errored ?? new Error('the stream was closed before the file was written'))
    }
    const cleanup = () => input.off('close', onClose)
    input.once('close', onClose)
    if (input.destroyed) return onClose()
    input.write(chunk, (err) => {
      cleanup()
      if (err) reject(err)
      else resolve()
    })
  })
}
