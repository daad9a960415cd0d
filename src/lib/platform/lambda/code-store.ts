import {createHash, randomBytes} from 'node:crypto'
import {access, mkdir, readFile, readdir, rename, rm, writeFile} from 'node:fs/promises'
import {dirname, isAbsolute, join, normalize, sep} from 'node:path'

import {unzipSync} from 'fflate'

import {inputRejected} from '../../cli/errors.js'
import {writeFileAtomic} from './fs-util.js'

/**
 * Deployment packages by content: `<dir>/code/<sha256>.zip`, extracted once to `<dir>/extracted/<sha256>/`
 * (extracted into a temp folder, then renamed into place, so a half-extracted bundle is never used).
 */
export class CodeStore {
  readonly codeDir: string
  readonly extractedDir: string

  constructor(dataDir: string) {
    this.codeDir = join(dataDir, 'code')
    this.extractedDir = join(dataDir, 'extracted')
  }

  static sha256(zip: Uint8Array): string {
    return createHash('sha256').update(zip).digest('hex')
  }

  zipPath(sha: string): string {
    return join(this.codeDir, `${sha}.zip`)
  }

  taskRoot(sha: string): string {
    return join(this.extractedDir, sha)
  }

  /** Store and extract a zip (idempotent); returns its sha256. Rejects zips that are not zips or escape their root. */
  async put(zip: Uint8Array): Promise<string> {
    const sha = CodeStore.sha256(zip)
    if (!(await exists(this.zipPath(sha)))) await writeFileAtomic(this.zipPath(sha), zip)
    await this.ensureExtracted(sha, zip)
    return sha
  }

  /** Extract `<sha>.zip` if its folder is missing (e.g. deleted by hand); reads the stored zip when no bytes given. */
  async ensureExtracted(sha: string, zip?: Uint8Array): Promise<string> {
    const root = this.taskRoot(sha)
    if (await exists(root)) return root
    const bytes = zip ?? new Uint8Array(await readFile(this.zipPath(sha)))
    const entries = unzipEntries(bytes)
    await mkdir(this.extractedDir, {recursive: true})
    const tmp = join(this.extractedDir, `.tmp-${sha.slice(0, 12)}-${randomBytes(4).toString('hex')}`)
    try {
      await mkdir(tmp)
      for (const [name, data] of entries) {
        const target = join(tmp, name)
        if (name.endsWith('/')) {
          await mkdir(target, {recursive: true})
          continue
        }
        await mkdir(dirname(target), {recursive: true})
        await writeFile(target, data)
      }
      try {
        await rename(tmp, root)
      } catch (error) {
        // Another putFunction with the same code won the race: theirs is identical.
        if (!(await exists(root))) throw error
        await rm(tmp, {recursive: true, force: true})
      }
    } catch (error) {
      await rm(tmp, {recursive: true, force: true})
      throw error
    }
    return root
  }

  async remove(sha: string): Promise<void> {
    await rm(this.taskRoot(sha), {recursive: true, force: true})
    await rm(this.zipPath(sha), {force: true})
  }

  /** Remove packages no function uses and leftovers of interrupted writes. */
  async gc(inUse: Set<string>): Promise<void> {
    for (const name of await listDir(this.codeDir)) {
      const sha = name.endsWith('.zip') ? name.slice(0, -4) : undefined
      if (sha === undefined || !inUse.has(sha)) await rm(join(this.codeDir, name), {recursive: true, force: true})
    }
    for (const name of await listDir(this.extractedDir)) {
      if (!inUse.has(name)) await rm(join(this.extractedDir, name), {recursive: true, force: true})
    }
  }
}

function unzipEntries(zip: Uint8Array): Array<[string, Uint8Array]> {
  let files: Record<string, Uint8Array>
  try {
    files = unzipSync(zip)
  } catch (error) {
    throw inputRejected('InvalidParameterValueException', `Could not unzip the deployment package: ${(error as Error).message}`, [
      'The function code must be a zip file with the handler module at its root.',
    ])
  }
  const entries: Array<[string, Uint8Array]> = []
  for (const [raw, data] of Object.entries(files)) {
    const name = raw.replaceAll('\\', '/')
    const normalized = normalize(name)
    if (isAbsolute(name) || normalized.split(sep).includes('..') || name.includes('\0')) {
      throw inputRejected('InvalidParameterValueException', `The deployment package has an unsafe entry path: ${raw}`)
    }
    entries.push([name, data])
  }
  return entries
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path)
    return true
  } catch {
    return false
  }
}

async function listDir(path: string): Promise<string[]> {
  try {
    return await readdir(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
}
