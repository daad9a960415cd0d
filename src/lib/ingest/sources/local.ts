import {readdir, stat} from 'node:fs/promises'
import path from 'node:path'
import picomatch from 'picomatch'
import {notFoundError} from '../../cli/errors.js'

export interface LocalFile {
  /** Absolute path. */
  path: string
  /** As the user would recognise it: relative to the working directory when inside it. */
  display: string
  size: number
}

const isCsv = (name: string) => name.toLowerCase().endsWith('.csv')

function display(cwd: string, file: string): string {
  const rel = path.relative(cwd, file)
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file
}

async function statOrUndefined(file: string) {
  try {
    return await stat(file)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined
    throw error
  }
}

/** Every file under `dir`, as paths relative to it (POSIX separators), depth-first, sorted per folder. */
async function* walk(dir: string, rel = '', deep = true): AsyncGenerator<string> {
  let entries
  try {
    entries = await readdir(path.join(dir, rel), {withFileTypes: true})
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  for (const e of entries) {
    const child = rel === '' ? e.name : `${rel}/${e.name}`
    if (e.isDirectory()) {
      if (deep && !e.name.startsWith('.')) yield* walk(dir, child, deep)
    } else if (e.isFile()) {
      yield child
    }
  }
}

/**
 * One source argument → the local files it names: a file; a folder (its *.csv, not recursive); or a glob
 * (picomatch syntax, e.g. `data/*.csv`, `exports/**\/*.csv`; quote it so the shell leaves it alone).
 * Throws SOURCE_NOT_FOUND (exit 4) when nothing matches.
 */
export async function expandLocal(arg: string, cwd: string): Promise<LocalFile[]> {
  const absolute = path.resolve(cwd, arg)
  const st = await statOrUndefined(absolute)
  if (st?.isFile()) return [{path: absolute, display: display(cwd, absolute), size: st.size}]
  if (st?.isDirectory()) {
    const files: LocalFile[] = []
    for await (const rel of walk(absolute, '', false)) {
      if (!isCsv(rel)) continue
      const file = path.join(absolute, rel)
      files.push({path: file, display: display(cwd, file), size: (await stat(file)).size})
    }
    if (files.length === 0) throw notFoundError('SOURCE_EMPTY', `${arg}: the folder has no .csv files.`, ['cape ingests the *.csv files directly in a folder; name other files one by one.'])
    return files
  }
  const scan = picomatch.scan(arg.split(path.sep).join('/'))
  if (!scan.isGlob) {
    throw notFoundError('SOURCE_NOT_FOUND', `${arg}: no such file or folder.`, [`Looked for ${absolute}.`])
  }
  const base = path.resolve(cwd, scan.base || '.')
  const match = picomatch(scan.glob, {dot: false})
  const deep = scan.glob.includes('/') || scan.glob.includes('**')
  const files: LocalFile[] = []
  for await (const rel of walk(base, '', deep)) {
    if (!match(rel)) continue
    const file = path.join(base, rel)
    files.push({path: file, display: display(cwd, file), size: (await stat(file)).size})
  }
  if (files.length === 0) throw notFoundError('SOURCE_NOT_FOUND', `${arg}: the pattern matches no file.`, [`Searched under ${base}.`])
  return files
}
