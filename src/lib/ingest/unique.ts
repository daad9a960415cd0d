import {appendFileSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

/**
 * The `unique` check of one column with bounded memory, whatever the file size.
 *
 * The first `memoryEntries` distinct values are kept in a Map: duplicates among them are found at once, with the
 * line of the first occurrence (small files never leave this mode). Past that, the tracker spills: every value
 * (those in the Map too) goes, with its line, to one of 256 partition files on disk chosen by a hash of the value,
 * and duplicates are found at the end of the file, one partition at a time (each partition holds 1/256 of the
 * values). Memory stays at ~`memoryEntries` Map entries plus 256 small write buffers; disk use is about the size of the
 * column. A large Map is also what makes V8's garbage collector slow, so spilling keeps the row rate up too.
 */
export interface LateDuplicate {
  line: number
  value: string
  firstLine: number
  /** The row had no other problem (so it now counts as invalid). */
  rowWasValid: boolean
}

const PARTITIONS = 256
const BUFFER_BYTES = 16 * 1024
export const DEFAULT_UNIQUE_MEMORY_ENTRIES = 100_000

/**
 * The duplicates among the records of one partition file, compared as UTF-8 bytes in an open-addressing table of
 * record offsets (no string, no Map entry per record: only a duplicate becomes a string). Records are in line order
 * (the Map's first occurrences, then everything after the spill), so the first one seen is the first occurrence.
 */
function findDuplicates(data: Buffer, onDuplicate: (d: LateDuplicate) => void): void {
  let count = 0
  for (let o = 0; o < data.length; o += 9 + data.readUInt32LE(o + 5)) count++
  let size = 16
  while (size < count * 2) size *= 2
  const mask = size - 1
  const table = new Int32Array(size) // record offset + 1; 0: empty
  let o = 0
  while (o < data.length) {
    const len = data.readUInt32LE(o + 5)
    const from = o + 9
    let h = 0x811c9dc5
    for (let i = from; i < from + len; i++) {
      h ^= data[i]
      h = Math.imul(h, 0x01000193)
    }
    let slot = (h ^ (h >>> 15)) & mask
    for (;;) {
      const at = table[slot]
      if (at === 0) {
        table[slot] = o + 1
        break
      }
      const other = at - 1
      if (data.readUInt32LE(other + 5) === len && sameBytes(data, other + 9, from, len)) {
        onDuplicate({line: data.readUInt32LE(o), value: data.toString('utf8', from, from + len), firstLine: data.readUInt32LE(other), rowWasValid: data[o + 4] === 1})
        break
      }
      slot = (slot + 1) & mask
    }
    o = from + len
  }
}

function sameBytes(data: Buffer, a: number, b: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (data[a + i] !== data[b + i]) return false
  return true
}

export class UniqueTracker {
  private map: Map<string, number> | undefined = new Map()
  private dir: string | undefined
  private buffers: Buffer[] = []
  private used: number[] = []
  private pendingValue: string | undefined
  private pendingLine = 0

  constructor(private readonly memoryEntries = DEFAULT_UNIQUE_MEMORY_ENTRIES, private readonly tempRoot = tmpdir()) {}

  get spilled(): boolean {
    return this.map === undefined
  }

  /**
   * A value of the column on `line`. Returns the line of its first occurrence when that is known now (a duplicate),
   * else undefined. Once spilled, call commit() when the row is complete.
   */
  add(value: string, line: number): number | undefined {
    if (this.map !== undefined) {
      const first = this.map.get(value)
      if (first !== undefined) return first
      if (this.map.size < this.memoryEntries) {
        this.map.set(value, line)
        return undefined
      }
      this.spill()
    }
    this.pendingValue = value
    this.pendingLine = line
    return undefined
  }

  /** The row of the last add() is complete; `rowValid`: it had no other problem. */
  commit(rowValid: boolean): void {
    if (this.pendingValue === undefined) return
    this.write(this.pendingValue, this.pendingLine, rowValid)
    this.pendingValue = undefined
  }

  private spill(): void {
    this.dir = mkdtempSync(path.join(this.tempRoot, 'cape-unique-'))
    this.buffers = Array.from({length: PARTITIONS}, () => Buffer.allocUnsafe(BUFFER_BYTES))
    this.used = new Array(PARTITIONS).fill(0)
    const map = this.map!
    this.map = undefined
    // rows already in the Map passed this check; whether they had other problems does not matter for them
    for (const [value, line] of map) this.write(value, line, false)
  }

  private write(value: string, line: number, rowValid: boolean): void {
    // FNV-1a over UTF-16 code units, and whether the value is ASCII (then its bytes are its char codes)
    let h = 0x811c9dc5
    let or = 0
    const n = value.length
    for (let i = 0; i < n; i++) {
      const c = value.charCodeAt(i)
      or |= c
      h ^= c
      h = Math.imul(h, 0x01000193)
    }
    const p = (h >>> 0) & (PARTITIONS - 1)
    const ascii = or < 0x80
    const bytes = ascii ? n : Buffer.byteLength(value)
    const need = 9 + bytes
    if (this.used[p] + need > BUFFER_BYTES) this.flush(p)
    let buf = this.buffers[p]
    if (need > BUFFER_BYTES) buf = Buffer.allocUnsafe(need) // a huge value: written on its own
    const o = buf === this.buffers[p] ? this.used[p] : 0
    buf[o] = line & 0xff
    buf[o + 1] = (line >>> 8) & 0xff
    buf[o + 2] = (line >>> 16) & 0xff
    buf[o + 3] = line >>> 24
    buf[o + 4] = rowValid ? 1 : 0
    buf[o + 5] = bytes & 0xff
    buf[o + 6] = (bytes >>> 8) & 0xff
    buf[o + 7] = (bytes >>> 16) & 0xff
    buf[o + 8] = bytes >>> 24
    if (ascii) for (let i = 0; i < n; i++) buf[o + 9 + i] = value.charCodeAt(i)
    else buf.write(value, o + 9, 'utf8')
    if (buf === this.buffers[p]) this.used[p] = o + need
    else appendFileSync(this.file(p), buf.subarray(0, o + need))
  }

  private file(p: number): string {
    return path.join(this.dir!, String(p))
  }

  private flush(p: number): void {
    if (this.used[p] === 0) return
    appendFileSync(this.file(p), this.buffers[p].subarray(0, this.used[p]))
    this.used[p] = 0
  }

  /**
   * End of file: the duplicates found on disk (none if never spilled), each partition in line order. Calls
   * `onDuplicate` for each (the caller keeps what it lists); removes the temp files.
   */
  finish(onDuplicate: (d: LateDuplicate) => void): void {
    this.commit(false)
    if (this.dir === undefined) {
      this.map = undefined
      return
    }
    try {
      for (let p = 0; p < PARTITIONS; p++) this.flush(p)
      this.buffers = []
      for (let p = 0; p < PARTITIONS; p++) {
        let data: Buffer
        try {
          data = readFileSync(this.file(p))
        } catch {
          continue // an empty partition has no file
        }
        findDuplicates(data, onDuplicate)
      }
    } finally {
      this.dispose()
    }
  }

  /** Remove the temp files (also on errors). */
  dispose(): void {
    if (this.dir !== undefined) rmSync(this.dir, {recursive: true, force: true})
    this.dir = undefined
    this.buffers = []
    this.map = undefined
  }
}
