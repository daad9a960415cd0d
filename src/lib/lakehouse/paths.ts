import {lstat, mkdir, realpath, stat} from 'node:fs/promises'
import path from 'node:path'
import {inputRejected} from '../cli/errors.js'

/** The state file `cape pull` keeps in the destination (what it downloaded: key, ETag, size, mtime). */
export const STATE_FILE = '.cape-pull.json'
/** Temp files are `.cape-<hash>.part` next to their final name. */
export const PART_SUFFIX = '.part'

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001F\u007F]/
const WINDOWS_RESERVED = /[<>:"|?*\\]/

/**
 * Why a key (relative to the pulled prefix) must not become a local path, or undefined when it is safe:
 * empty, absolute, `.`/`..`/empty segments, NUL or control characters, the state file's name.
 * Pure: the symlink check needs the file system (DestGuard.prepare).
 */
export function unsafeKeyReason(rel: string, platform: NodeJS.Platform = process.platform): string | undefined {
  if (rel === '') return 'empty name'
  if (CONTROL.test(rel)) return rel.includes('\0') ? 'NUL character in the key' : 'control character in the key'
  if (rel.startsWith('/') || (platform === 'win32' && /^[a-zA-Z]:/.test(rel))) return 'absolute path'
  const segments = rel.split('/')
  for (const s of segments) {
    if (s === '..') return '".." segment would escape the destination'
    if (s === '.' || s === '') return 'empty or "." path segment'
    if (platform === 'win32' && WINDOWS_RESERVED.test(s)) return 'character not allowed in a Windows file name'
  }
  if (rel === STATE_FILE) return `"${STATE_FILE}" is reserved for cape's pull state`
  return undefined
}

/** A key that cannot be written; the message says why (reported per key, the rest continue). */
export class UnsafeKeyError extends Error {
  constructor(reason: string) {
    super(`unsafe key: ${reason}`)
    this.name = 'UnsafeKeyError'
  }
}

const inside = (root: string, p: string) => p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep)

/**
 * Maps keys to paths under one destination and makes sure nothing is ever written outside it:
 * keys are checked (unsafeKeyReason), the joined path must stay under the destination, and before a directory is
 * created or written into, its deepest existing ancestor is resolved (realpath) and must be inside the
 * destination's real path, so a symlink in the destination pointing elsewhere is never followed.
 */
export class DestGuard {
  private readonly verified = new Set<string>()

  private constructor(readonly root: string) {}

  /** `dest` must exist unless `create` (then it is created). Resolves it to its real path. */
  static async open(dest: string, options: {create?: boolean} = {}): Promise<DestGuard> {
    const abs = path.resolve(dest)
    try {
      if (options.create) await mkdir(abs, {recursive: true})
      const real = await realpath(abs)
      if (!(await stat(real)).isDirectory()) throw Object.assign(new Error('not a folder'), {code: 'ENOTDIR'})
      return new DestGuard(real)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      // dry run into a destination that does not exist yet: nothing will be written, the path is only shown
      if (code === 'ENOENT' && !options.create) return new DestGuard(abs)
      throw inputRejected('DEST_UNUSABLE', `Cannot use ${abs} as the destination: ${code === 'ENOTDIR' || code === 'EEXIST' ? 'it is not a folder' : (error as Error).message}.`, [
        'Give a folder that you can write to (it is created when missing).',
      ])
    }
  }

  /** The local path of a relative key; throws UnsafeKeyError. */
  pathFor(rel: string, platform: NodeJS.Platform = process.platform): string {
    const reason = unsafeKeyReason(rel, platform)
    if (reason) throw new UnsafeKeyError(reason)
    const target = path.resolve(this.root, ...rel.split('/'))
    if (!inside(this.root, target) || target === this.root) throw new UnsafeKeyError('resolves outside the destination')
    return target
  }

  /**
   * Make sure `dir` (under the root) is a real directory inside the destination, creating what is missing
   * (with `create: false`, only checks what exists: a dry run).
   * Throws UnsafeKeyError when an existing component is a symlink leading outside, or a file is in the way.
   */
  async prepare(dir: string, options: {create?: boolean} = {create: true}): Promise<void> {
    if (this.verified.has(dir)) return
    if (!inside(this.root, dir)) throw new UnsafeKeyError('resolves outside the destination')
    let existing = dir
    for (;;) {
      try {
        await lstat(existing)
        break
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
        if (existing === this.root) {
          if (options.create) throw error
          return // dry run into a destination that does not exist yet
        }
        existing = path.dirname(existing)
      }
    }
    const real = await realpath(existing)
    if (!inside(this.root, real)) throw new UnsafeKeyError(`a symlink in the destination leads outside it (${path.relative(this.root, existing) || '.'} → ${real})`)
    const st = await lstat(real)
    if (!st.isDirectory()) throw new UnsafeKeyError(`${path.relative(this.root, existing)} is a file, not a folder`)
    if (existing !== dir) {
      if (!options.create) return
      await mkdir(dir, {recursive: true})
    }
    if (this.verified.size > 10_000) this.verified.clear()
    this.verified.add(dir)
  }
}
