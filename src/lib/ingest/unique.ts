import {closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

/**
 * The `unique` check of one column with bounded memory, whatever the file size.
 *
 * The first `memoryEntries` distinct values are kept in a Map: duplicates among them are found at once, with the
 * line of the first occurrence (small files never leave this mode). Past that, the tracker spills: every value
 * (those in the Map too) goes, with its line, to one of 256 partitions chosen by a hash of the value — a 16 KiB
 * buffer each, written when full as a segment of one temp file — and duplicates are found at the end of the file,
 * one partition at a time (each partition holds 1/256 of the values). Memory stays at ~`memoryEntries` Map entries
 * plus 4 MiB of buffers (and one partition at the end); disk use is about the size of the column. A large Map is
 * also what makes V8's garbage collector slow, so spilling keeps the row rate up too.
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
export const DEFAULT_UNIQUE_MEMORY_ENTRIES = 20_000
const FNV_OFFSET = 0x811c9dc5 | 0 // as an int32 (same bits): keeps the hash loops on small integers
const FNV_PRIME = 0x01000193
const EMPTY = Buffer.alloc(0)

/** A spilled record: line (u32 LE), row valid (u8), hash of the value (u32 LE), value length (u32 LE), value bytes. */
const RECORD_HEADER = 13

const u32 = (b: Buffer, o: number): number => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0

function putHeader(b: Buffer, o: number, line: number, rowValid: boolean, hash: number, bytes: number): void {
  b[o] = line & 0xff
  b[o + 1] = (line >>> 8) & 0xff
  b[o + 2] = (line >>> 16) & 0xff
  b[o + 3] = line >>> 24
  b[o + 4] = rowValid ? 1 : 0
  b[o + 5] = hash & 0xff
  b[o + 6] = (hash >>> 8) & 0xff
  b[o + 7] = (hash >>> 16) & 0xff
  b[o + 8] = hash >>> 24
  b[o + 9] = bytes & 0xff
  b[o + 10] = (bytes >>> 8) & 0xff
  b[o + 11] = (bytes >>> 16) & 0xff
  b[o + 12] = bytes >>> 24
}

/**
 * The duplicates among the records of one partition file, in an open-addressing table of record offsets keyed by
 * the stored hash (no string, no Map entry per record: only a duplicate becomes a string; values are compared as
 * bytes only when hashes match). Records are in line order (the Map's first occurrences, then everything after
 * the spill), so the first one seen is the first occurrence.
 */
function findDuplicates(data: Buffer, scratch: {table: Int32Array}, onDuplicate: (d: LateDuplicate) => void): void {
  let count = 0
  for (let o = 0; o < data.length; o += RECORD_HEADER + u32(data, o + 9)) count++
  let size = 16
  while (size < count * 2) size *= 2
  const mask = size - 1
  // record offset + 1; 0: empty. One table for all partitions (allocating one per partition makes ~100 KiB–1 MiB
  // of garbage each, faster than V8 collects it in this synchronous loop)
  if (scratch.table.length < size) scratch.table = new Int32Array(size)
  else scratch.table.fill(0, 0, size)
  const table = scratch.table
  let o = 0
  while (o < data.length) {
    const hash = u32(data, o + 5)
    const len = u32(data, o + 9)
    const from = o + RECORD_HEADER
    // the low bits chose the partition (all equal here): the table uses the others
    let slot = ((hash >>> 8) ^ (hash >>> 21)) & mask
    for (;;) {
      const at = table[slot]
      if (at === 0) {
        table[slot] = o + 1
        break
      }
      const other = at - 1
      if (u32(data, other + 5) === hash && u32(data, other + 9) === len && sameBytes(data, other + RECORD_HEADER, from, len)) {
        onDuplicate({line: u32(data, o), value: data.toString('utf8', from, from + len), firstLine: u32(data, other), rowWasValid: data[o + 4] === 1})
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
  /** The write buffers of the partitions, one slot of BUFFER_BYTES each, and how full each slot is. */
  private arena: Buffer = EMPTY
  private used = new Int32Array(0)
  /** The spill file (-1: none), its size, and where each partition's segments are in it ([offset, length] pairs). */
  private fd = -1
  private fileEnd = 0
  private segments: number[][] = []
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
    this.arena = Buffer.allocUnsafe(PARTITIONS * BUFFER_BYTES)
    this.used = new Int32Array(PARTITIONS)
    this.fd = openSync(path.join(this.dir, 'spill'), 'w+', 0o600)
    this.fileEnd = 0
    this.segments = Array.from({length: PARTITIONS}, () => [])
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

  // Records are partitioned by the FNV-1a hash of the value's UTF-8 bytes, so a value lands in the same partition
  // whether it came as a string (the CSV reader's rows) or as bytes (the byte lane's).
  private write(value: string, line: number, rowValid: boolean): void {
    const bytes = Buffer.from(value, 'utf8')
    this.writeBytes(bytes, 0, bytes.length, line, rowValid)
  }

  private writeBytes(src: Buffer, from: number, to: number, line: number, rowValid: boolean): void {
    let h = FNV_OFFSET
    for (let i = from; i < to; i++) {
      h ^= src[i]
      h = Math.imul(h, FNV_PRIME)
    }
    const n = to - from
    const p = (h >>> 0) & (PARTITIONS - 1)
    const at = this.reserve(p, n)
    const arena = at < 0 ? Buffer.allocUnsafe(RECORD_HEADER + n) : this.arena
    const o = at < 0 ? 0 : at
    putHeader(arena, o, line, rowValid, h >>> 0, n)
    const v = o + RECORD_HEADER
    if (n < 64) for (let i = 0; i < n; i++) arena[v + i] = src[from + i]
    else src.copy(arena, v, from, to)
    if (at < 0) this.append(p, arena, 0, arena.length)
  }

  /**
   * Where a record of `bytes` value bytes goes in partition `p`'s slot of the arena (flushing the slot first when
   * full), or -1 for a value too large for a slot (the caller writes it on its own).
   */
  private reserve(p: number, bytes: number): number {
    const need = RECORD_HEADER + bytes
    if (need > BUFFER_BYTES) {
      this.flush(p)
      return -1
    }
    if (this.used[p] + need > BUFFER_BYTES) this.flush(p)
    const at = p * BUFFER_BYTES + this.used[p]
    this.used[p] += need
    return at
  }

  private flush(p: number): void {
    if (this.used[p] === 0) return
    this.append(p, this.arena, p * BUFFER_BYTES, this.used[p])
    this.used[p] = 0
  }

  /**
   * Append whole records of partition `p` to the spill file as one segment. One file for all partitions (one open,
   * sequential writes); finish() reads a partition back segment by segment.
   */
  private append(p: number, buf: Buffer, offset: number, length: number): void {
    let done = 0
    while (done < length) done += writeSync(this.fd, buf, offset + done, length - done, this.fileEnd + done)
    this.segments[p].push(this.fileEnd, length)
    this.fileEnd += length
  }

  private closeFile(): void {
    if (this.fd !== -1) closeSync(this.fd)
    this.fd = -1
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
      this.arena = EMPTY
      // one buffer for the largest partition, reused for each
      const totals = this.segments.map((segs) => segs.reduce((sum, v, i) => (i % 2 === 1 ? sum + v : sum), 0))
      const data = Buffer.allocUnsafe(Math.max(0, ...totals))
      const scratch = {table: new Int32Array(0)}
      for (let p = 0; p < PARTITIONS; p++) {
        const segs = this.segments[p]
        const total = totals[p]
        if (total === 0) continue
        let at = 0
        for (let i = 0; i < segs.length; i += 2) {
          let done = 0
          while (done < segs[i + 1]) done += readSync(this.fd, data, at + done, segs[i + 1] - done, segs[i] + done)
          at += segs[i + 1]
        }
        findDuplicates(data.subarray(0, total), scratch, onDuplicate)
      }
    } finally {
      this.dispose()
    }
  }

  /** Remove the temp files (also on errors). */
  dispose(): void {
    this.closeFile()
    this.segments = []
    if (this.dir !== undefined) rmSync(this.dir, {recursive: true, force: true})
    this.dir = undefined
    this.arena = EMPTY
    this.map = undefined
  }
}
