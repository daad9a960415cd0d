import {isUtf8} from 'node:buffer'

/**
 * Streaming guard in front of the CSV parser: the bytes must be UTF-8 text (a UTF-8 BOM is fine). Recognises the
 * usual wrong inputs (UTF-16, gzip, ZIP/xlsx, other binary, Latin-1/Windows-1252) and says where the first bad byte
 * is. A multi-byte character split across chunks is held back until the next chunk.
 */
export interface EncodingProblem {
  line: number
  offset: number
  message: string
  hints: string[]
}

const SAVE_AS_UTF8 = 'Save the file as "CSV UTF-8" (comma-separated) and try again.'

/** Index of the first byte that is not part of a valid UTF-8 sequence, or -1. Strict: no overlongs, no surrogates. */
export function findInvalidUtf8(buf: Uint8Array, start = 0, end = buf.length): number {
  let i = start
  while (i < end) {
    const b = buf[i]
    if (b < 0x80) {
      i++
      continue
    }
    let need: number
    let min: number
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1
      min = 0x80
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2
      min = 0x800
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3
      min = 0x10000
    } else {
      return i
    }
    if (i + need >= end) return i
    let cp = b & (0x3f >> need)
    for (let k = 1; k <= need; k++) {
      const c = buf[i + k]
      if ((c & 0xc0) !== 0x80) return i
      cp = (cp << 6) | (c & 0x3f)
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i
    i += need + 1
  }
  return -1
}

/** How many bytes at the end of `buf` are the start of a multi-byte character that continues in the next chunk. */
export function incompleteTail(buf: Uint8Array): number {
  const len = buf.length
  for (let i = 1; i <= Math.min(3, len); i++) {
    const b = buf[len - i]
    if ((b & 0xc0) === 0x80) continue
    if (b >= 0xc0) {
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2
      return need > i ? i : 0
    }
    return 0
  }
  return 0
}

/** Line feeds in the first `end` bytes of `buf`. */
export function countLines(buf: Uint8Array, end = buf.length): number {
  let n = 0
  let i = -1
  const b = Buffer.from(buf.buffer, buf.byteOffset, end)
  while ((i = b.indexOf(10, i + 1)) !== -1) n++
  return n
}

/** Control characters other than tab, CR, LF: text files do not have them. */
function looksBinary(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]
    if ((b < 0x20 && b !== 9 && b !== 10 && b !== 13) || b === 0x7f) return true
  }
  return false
}

function sniffMagic(head: Uint8Array): EncodingProblem | undefined {
  const at = (msg: string, hints: string[] = [SAVE_AS_UTF8]) => ({line: 1, offset: 0, message: msg, hints})
  if (head.length >= 2 && ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff))) {
    return at(`the file is UTF-16 encoded (byte order mark ${head[0] === 0xff ? 'FF FE' : 'FE FF'}), not UTF-8`)
  }
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return at('the file is gzip-compressed, not CSV text', ['Decompress it (gunzip) first.'])
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) {
    return at('the file is a ZIP archive (an Excel .xlsx workbook?), not CSV text', ['Export the sheet as "CSV UTF-8" and try again.'])
  }
  if (head.length >= 5 && Buffer.from(head.subarray(0, 5)).toString('latin1') === '%PDF-') return at('the file is a PDF document, not CSV text', [])
  return undefined
}

export class Utf8Guard {
  private held: Buffer = Buffer.alloc(0)
  private offset = 0
  private lines = 0
  private first = true

  /**
   * Check the next chunk. Returns the bytes safe to parse now and, on a problem, also the problem: then `bytes` is
   * the valid prefix before it (so the rows before a bad byte are still checked) and nothing more should be pushed.
   */
  push(chunk: Buffer): {bytes: Buffer; problem?: EncodingProblem} {
    let buf = this.held.length > 0 ? Buffer.concat([this.held, chunk]) : chunk
    if (this.first && buf.length > 0) {
      this.first = false
      const magic = sniffMagic(buf)
      if (magic) return {bytes: buf.subarray(0, 0), problem: magic}
    }
    const hold = incompleteTail(buf)
    this.held = hold > 0 ? Buffer.from(buf.subarray(buf.length - hold)) : Buffer.alloc(0)
    if (hold > 0) buf = buf.subarray(0, buf.length - hold)
    const problem = this.check(buf)
    if (problem) return {bytes: buf.subarray(0, problem.offset - this.offset), problem}
    this.lines += countLines(buf, buf.length)
    this.offset += buf.length
    return {bytes: buf}
  }

  /** At end of input: a character cut off by the end of the file is a problem. */
  end(): EncodingProblem | undefined {
    if (this.held.length === 0) return undefined
    const byte = `0x${this.held[0].toString(16).toUpperCase().padStart(2, '0')}`
    return this.problemAt(this.held, 0, (at) => `the file ends in the middle of a multi-byte character (byte ${byte} at byte offset ${at})`)
  }

  private check(buf: Buffer): EncodingProblem | undefined {
    const nul = buf.indexOf(0)
    const bad = isUtf8(buf) ? -1 : Math.max(0, findInvalidUtf8(buf))
    if (nul === -1 && bad === -1) return undefined
    if (bad === -1 || (nul !== -1 && nul < bad)) {
      return this.problemAt(buf, nul, (at) => `the file contains binary data, not CSV text (a NUL byte at byte offset ${at})`, [])
    }
    const byte = `0x${buf[bad].toString(16).toUpperCase().padStart(2, '0')}`
    if (nul !== -1 || looksBinary(buf.subarray(Math.max(0, bad - 2048), bad + 2048))) {
      return this.problemAt(buf, bad, (at) => `the file contains binary data, not CSV text (byte ${byte} at byte offset ${at})`, [])
    }
    return this.problemAt(buf, bad, (at) => `the file is not valid UTF-8: byte ${byte} at byte offset ${at} (Latin-1/Windows-1252 text?)`)
  }

  private problemAt(buf: Uint8Array, index: number, what: (offset: number) => string, hints: string[] = [SAVE_AS_UTF8]): EncodingProblem {
    const line = this.lines + countLines(buf, index) + 1
    const offset = this.offset + index
    return {line, offset, message: what(offset), hints}
  }
}
