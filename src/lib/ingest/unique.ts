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

/** FNV-1a over UTF-16 code units. */
function hash(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
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
    const p = hash(value) & (PARTITIONS - 1)
    const bytes = Buffer.byteLength(value)
    const need = 9 + bytes
    if (this.used[p] + need > BUFFER_BYTES) this.flush(p)
    let buf = this.buffers[p]
    if (need > BUFFER_BYTES) buf = Buffer.allocUnsafe(need) // a huge value: written on its own
    let o = buf === this.buffers[p] ? this.used[p] : 0
    buf.writeUInt32LE(line, o)
    buf[o + 4] = rowValid ? 1 : 0
    buf.writeUInt32LE(bytes, o + 5)
    buf.write(value, o + 9, 'utf8')
    o += need
    if (buf === this.buffers[p]) this.used[p] = o
    else appendFileSync(this.file(p), buf.subarray(0, o))
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
        const first = new Map<string, number>()
        let o = 0
        while (o < data.length) {
          const line = data.readUInt32LE(o)
          const rowValid = data[o + 4] === 1
          const len = data.readUInt32LE(o + 5)
          const value = data.toString('utf8', o + 9, o + 9 + len)
          o += 9 + len
          const seen = first.get(value)
          // records are in line order (the Map's first occurrences, then everything after the spill)
          if (seen === undefined) first.set(value, line)
          else onDuplicate({line, value, firstLine: seen, rowWasValid: rowValid})
        }
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
