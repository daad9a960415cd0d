import {createHash} from 'node:crypto'
import {open} from 'node:fs/promises'
import type {Datasets} from './datasets.js'
import {validateStream} from './pipeline.js'

/** The header is looked for in the first this many bytes (a longer first line is not a CSV header cape knows). */
export const HEADER_SNIFF_BYTES = 1 << 20

export interface Sniffed {
  /** sha256 of the whole file (hex). */
  sha256: string
  bytes: number
  /** Dataset and variant recognised from the header (null when the header matches none). */
  dataset: string | null
  variant: string | null
}

/**
 * The streaming pre-pass over a local file, before anything is uploaded: its sha256 (S3 metadata is set when an
 * upload starts, and the hash is also the idempotency key) and the dataset/variant its header names (the raw key
 * starts with the dataset). Reads the file once, with bounded memory; hashing runs at disk/page-cache speed.
 * The header is detected by the ingest core itself, fed only the first line.
 */
export async function sniffFile(
  file: string,
  options: {datasets: Datasets; dataset?: string; signal?: AbortSignal; onBytes?: (n: number) => void},
): Promise<Sniffed> {
  const hash = createHash('sha256')
  let bytes = 0
  const head: Buffer[] = []
  let headBytes = 0
  let headDone = false
  // one buffer, refilled: hashing keeps nothing of it (and the header bytes are copied)
  const fh = await open(file, 'r')
  const buf = Buffer.allocUnsafe(1 << 20)
  try {
    for (;;) {
      options.signal?.throwIfAborted()
      const {bytesRead} = await fh.read(buf, 0, buf.length, null)
      if (bytesRead === 0) break
      readChunk(buf.subarray(0, bytesRead))
    }
  } finally {
    await fh.close()
  }
  function readChunk(chunk: Buffer): void {
    hash.update(chunk)
    bytes += chunk.length
    options.onBytes?.(chunk.length)
    if (!headDone) {
      const lf = chunk.indexOf(10)
      const take = lf === -1 ? chunk : chunk.subarray(0, lf + 1)
      head.push(Buffer.from(take))
      headBytes += take.length
      if (lf !== -1 || headBytes >= HEADER_SNIFF_BYTES) headDone = true
    }
  }
  const detected = await detectHeader(Buffer.concat(head), options)
  return {sha256: hash.digest('hex'), bytes, ...detected}
}

/** Dataset and variant named by a file's first line (bytes up to and including the first LF). */
export async function detectHeader(firstLine: Buffer, options: {datasets: Datasets; dataset?: string}): Promise<{dataset: string | null; variant: string | null}> {
  const report = await validateStream([firstLine], {datasets: options.datasets, dataset: options.dataset, maxErrors: 0})
  return {dataset: report.dataset, variant: report.variant}
}
