import {randomBytes} from 'node:crypto'
import {mkdir, rename, rm, writeFile} from 'node:fs/promises'
import {dirname} from 'node:path'
import {writeJsonFile} from '../state-file.js'

/** Write a file atomically: temp file next to it, then rename over it (a crash never leaves half a file). */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), {recursive: true})
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  try {
    await writeFile(tmp, data, {flag: 'wx'})
    await rename(tmp, path)
  } catch (error) {
    await rm(tmp, {force: true})
    throw error
  }
}

/**
 * Coalescing writer for one JSON file: `schedule()` asks for a write of the latest state, at most one write runs at
 * a time and requests made meanwhile collapse into one more write. `flush()` waits until the file is current.
 */
export class JsonFileWriter {
  private running: Promise<void> | undefined
  private dirty = false

  constructor(
    private readonly path: string,
    private readonly snapshot: () => unknown,
  ) {}

  schedule(): Promise<void> {
    this.dirty = true
    if (!this.running) {
      this.running = this.loop().finally(() => {
        this.running = undefined
      })
    }
    return this.running
  }

  async flush(): Promise<void> {
    while (this.running) await this.running
  }

  private async loop(): Promise<void> {
    while (this.dirty) {
      this.dirty = false
      await writeJsonFile(this.path, this.snapshot())
    }
  }
}
