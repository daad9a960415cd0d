import {randomBytes} from 'node:crypto'
import {chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {chmod, mkdir, readFile, rename, rm, writeFile} from 'node:fs/promises'
import {dirname} from 'node:path'

/**
 * Atomic JSON state files for the local platform: write to a temp file next to the target, then rename over it, so a
 * crash never leaves a half-written file. `mode` (e.g. 0o600 for files holding secrets) is applied to the temp file
 * before the rename, so the secret is never readable by others, not even for a moment.
 */
export interface WriteJsonOptions {
  /** File mode, e.g. 0o600. Default 0o644. */
  mode?: number
}

const tempPath = (path: string) => `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`

const serialize = (data: unknown) => `${JSON.stringify(data, null, 2)}\n`

/** Read and parse a JSON file; `undefined` when it does not exist. Throws on invalid JSON. */
export async function readJsonFile<T>(path: string): Promise<T | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  return JSON.parse(text) as T
}

export function readJsonFileSync<T>(path: string): T | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  return JSON.parse(text) as T
}

/** Write `data` as pretty JSON atomically (temp file + rename), creating parent folders. */
export async function writeJsonFile(path: string, data: unknown, options: WriteJsonOptions = {}): Promise<void> {
  const mode = options.mode ?? 0o644
  await mkdir(dirname(path), {recursive: true})
  const tmp = tempPath(path)
  try {
    await writeFile(tmp, serialize(data), {mode, flag: 'wx'})
    await chmod(tmp, mode) // the umask may have narrowed or (never) widened it: make it exact
    await rename(tmp, path)
  } catch (error) {
    await rm(tmp, {force: true})
    throw error
  }
}

/** Synchronous twin of {@link writeJsonFile}, for state that must hit the disk before a request is answered. */
export function writeJsonFileSync(path: string, data: unknown, options: WriteJsonOptions = {}): void {
  const mode = options.mode ?? 0o644
  mkdirSync(dirname(path), {recursive: true})
  const tmp = tempPath(path)
  try {
    writeFileSync(tmp, serialize(data), {mode, flag: 'wx'})
    chmodSync(tmp, mode)
    renameSync(tmp, path)
  } catch (error) {
    rmSync(tmp, {force: true})
    throw error
  }
}
