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
const FNV_OFFSET = 0x811c9dc5
const FNV_PRIME = 0x01000193
const EMPTY = Buffer.alloc(0)

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
    let h = FNV_OFFSET
    for (let i = from; i < from + len; i++) {
      h ^= data[i]
      h = Math.imul(h, FNV_PRIME)
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

  /**
   * The byte lane of the pipeline (pipeline.ts): is the value at [from, to) of `buf` (UTF-8) known now to be a
   * duplicate? Nothing is recorded; acceptBytes() records it. Only the in-memory mode knows duplicates at once.
   */
  probeBytes(buf: Buffer, from: number, to: number): boolean {
    if (this.map === undefined) return false
    this.probed = buf.toString('utf8', from, to)
    return this.map.has(this.probed)
  }

  /** Record the value last given to probeBytes() (same bytes), of a complete valid row on `line`. */
  acceptBytes(buf: Buffer, from: number, to: number, line: number): void {
    if (this.map !== undefined) {
      if (this.map.size < this.memoryEntries) {
        this.map.set(this.probed ?? buf.toString('utf8', from, to), line)
        this.probed = undefined
        return
      }
      this.spill()
    }
    this.probed = undefined
    this.writeBytes(buf, from, to, line, true)
  }

  private probed: string | undefined

  // Records are partitioned by the FNV-1a hash of the value's UTF-8 bytes (for an ASCII string: its char codes), so a
  // value lands in the same partition whether it came as a string or as bytes.
  private write(value: string, line: number, rowValid: boolean): void {
    let h = FNV_OFFSET
    let or = 0
    const n = value.length
    for (let i = 0; i < n; i++) {
      const c = value.charCodeAt(i)
      or |= c
      h ^= c
      h = Math.imul(h, FNV_PRIME)
    }
    if (or >= 0x80) {
      const bytes = Buffer.from(value, 'utf8')
      this.writeBytes(bytes, 0, bytes.length, line, rowValid)
      return
    }
    const at = this.reserve(h, n, line, rowValid)
    const buf = this.target
    for (let i = 0; i < n; i++) buf[at + i] = value.charCodeAt(i)
    this.complete()
  }

  private writeBytes(src: Buffer, from: number, to: number, line: number, rowValid: boolean): void {
    let h = FNV_OFFSET
    for (let i = from; i < to; i++) {
      h ^= src[i]
      h = Math.imul(h, FNV_PRIME)
    }
    const at = this.reserve(h, to - from, line, rowValid)
    const buf = this.target
    if (to - from < 64) for (let i = from; i < to; i++) buf[at + i - from] = src[i]
    else src.copy(buf, at, from, to)
    this.complete()
  }

  // where reserve() put the record being written: the buffer, its partition and the record's end
  private target: Buffer = EMPTY
  private targetPartition = 0
  private targetEnd = 0

  /** Room for a record of `bytes` value bytes in its partition's buffer (or its own, when huge); writes its header. */
  private reserve(hash: number, bytes: number, line: number, rowValid: boolean): number {
    const p = (hash >>> 0) & (PARTITIONS - 1)
    const need = 9 + bytes
    if (this.used[p] + need > BUFFER_BYTES) this.flush(p)
    const own = need > BUFFER_BYTES // a huge value: written on its own
    const buf = own ? Buffer.allocUnsafe(need) : this.buffers[p]
    const o = own ? 0 : this.used[p]
    buf[o] = line & 0xff
    buf[o + 1] = (line >>> 8) & 0xff
    buf[o + 2] = (line >>> 16) & 0xff
    buf[o + 3] = line >>> 24
    buf[o + 4] = rowValid ? 1 : 0
    buf[o + 5] = bytes & 0xff
    buf[o + 6] = (bytes >>> 8) & 0xff
    buf[o + 7] = (bytes >>> 16) & 0xff
    buf[o + 8] = bytes >>> 24
    this.target = buf
    this.targetPartition = p
    this.targetEnd = o + need
    return o + 9
  }

  private complete(): void {
    const p = this.targetPartition
    if (this.target === this.buffers[p]) this.used[p] = this.targetEnd
    else appendFileSync(this.file(p), this.target.subarray(0, this.targetEnd))
    this.target = EMPTY
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
