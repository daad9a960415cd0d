import {readFile, rename, unlink, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {STATE_FILE} from './paths.js'

/** What cape downloaded to one local file: the object's ETag and size, and the file's mtime after the download. */
export interface PulledFile {
  etag: string
  size: number
  mtimeMs: number
}

interface StateFileV1 {
  version: 1
  files: Record<string, [etag: string, size: number, mtimeMs: number]>
}

/**
 * The pull state of a destination, `.cape-pull.json`: relative path → what was downloaded there. A re-pull skips
 * a file when the listing's ETag and size equal the record and the file's size and mtime are unchanged, so an
 * unchanged re-pull needs no GetObject and no HeadObject. Saved atomically (temp + rename); a missing or broken
 * file just means "nothing known" (files are then re-downloaded, or hashed with --checksum).
 */
export class PullState {
  private dirty = false
  private saving: Promise<void> = Promise.resolve()

  private constructor(
    readonly file: string,
    private readonly files: Map<string, PulledFile>,
  ) {}

  static async load(dest: string): Promise<PullState> {
    const file = path.join(dest, STATE_FILE)
    const files = new Map<string, PulledFile>()
    try {
      const data = JSON.parse(await readFile(file, 'utf8')) as StateFileV1
      if (data?.version === 1 && data.files && typeof data.files === 'object') {
        for (const [rel, v] of Object.entries(data.files)) {
          if (Array.isArray(v) && typeof v[0] === 'string' && typeof v[1] === 'number' && typeof v[2] === 'number') {
            files.set(rel, {etag: v[0], size: v[1], mtimeMs: v[2]})
          }
        }
      }
    } catch {
      // no state yet, or unreadable: start empty
    }
    return new PullState(file, files)
  }

  get(rel: string): PulledFile | undefined {
    return this.files.get(rel)
  }

  set(rel: string, entry: PulledFile): void {
    this.files.set(rel, entry)
    this.dirty = true
  }

  get size(): number {
    return this.files.size
  }

  /** Write the state if it changed (serialised: concurrent calls queue). */
  save(): Promise<void> {
    this.saving = this.saving.catch(() => {}).then(async () => {
      if (!this.dirty) return
      this.dirty = false
      const data: StateFileV1 = {version: 1, files: {}}
      for (const [rel, e] of this.files) data.files[rel] = [e.etag, e.size, e.mtimeMs]
      const tmp = `${this.file}.${process.pid}.tmp`
      try {
        await writeFile(tmp, JSON.stringify(data))
        await rename(tmp, this.file)
      } catch (error) {
        this.dirty = true
        await unlink(tmp).catch(() => {})
        throw error
      }
    })
    return this.saving
  }
}
