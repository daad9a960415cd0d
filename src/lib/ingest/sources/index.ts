import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {usageError} from '../../cli/errors.js'
import {expandLocal} from './local.js'
import {isSftpUrl, openSftp, parseSftpUrl, type SftpAuth, type SftpSession} from './sftp.js'

export {isSftpUrl, parseSftpUrl} from './sftp.js'
export type {SftpAuth, SftpUrl} from './sftp.js'

/** One file to ingest, wherever it is. */
export interface Source {
  /** What is recorded as the object's source: the path as given (relative to the working folder) or the sftp URL. */
  source: string
  /** The file name: the last part of the raw key. */
  name: string
  size: number
  kind: 'file' | 'sftp'
  /**
   * A local file with the content: the file itself, or for SFTP a download into a private temp folder (streamed
   * to disk, never held in memory; removed by release()). SFTP is downloaded first because the raw object's
   * metadata (sha256) must be known when its upload starts, and it makes the upload retryable.
   */
  fetch(options?: {signal?: AbortSignal; onBytes?: (n: number) => void}): Promise<string>
  release(): Promise<void>
}

export interface SourceSet {
  sources: Source[]
  /** Close SFTP connections and remove temp files. */
  close(): Promise<void>
}

export interface ResolveOptions {
  cwd: string
  sftp?: Omit<SftpAuth, 'knownHostsFile'> & {knownHostsFile?: string}
  /** Default ~/.ssh/known_hosts, computed by the caller. */
  defaultKnownHostsFile?: string
  signal?: AbortSignal
  /** For temp downloads (default: the OS temp folder). */
  tempDir?: string
}

/** Expand source arguments (files, folders, globs, sftp:// URLs) into files. Duplicate files are listed once. */
export async function resolveSources(args: string[], options: ResolveOptions): Promise<SourceSet> {
  const sessions = new Map<string, SftpSession>()
  let temp: string | undefined
  const sources: Source[] = []
  const seen = new Set<string>()
  const close = async () => {
    for (const s of sessions.values()) s.close()
    sessions.clear()
    if (temp) await rm(temp, {recursive: true, force: true})
  }
  try {
    for (const arg of args) {
      if (isSftpUrl(arg)) {
        const url = parseSftpUrl(arg)
        const id = `${url.user}@${url.host}:${url.port}`
        let session = sessions.get(id)
        if (!session) {
          const knownHostsFile = options.sftp?.knownHostsFile ?? options.defaultKnownHostsFile
          if (!knownHostsFile) throw usageError('SFTP sources need a known_hosts file: pass --known-hosts FILE.')
          session = await openSftp(url, {...options.sftp, knownHostsFile}, options.signal)
          sessions.set(id, session)
        }
        const s = session
        for (const file of await s.list(url)) {
          if (seen.has(file.source)) continue
          seen.add(file.source)
          let local: string | undefined
          sources.push({
            source: file.source,
            name: file.name,
            size: file.size,
            kind: 'sftp',
            async fetch(o = {}) {
              temp ??= await mkdtemp(path.join(options.tempDir ?? tmpdir(), 'cape-sftp-'))
              local = path.join(temp, `${sources.indexOf(this)}-${file.name}`)
              await s.download(file, local, o.onBytes)
              return local
            },
            async release() {
              if (local) await rm(local, {force: true})
            },
          })
        }
      } else {
        for (const file of await expandLocal(arg, options.cwd)) {
          if (seen.has(file.path)) continue
          seen.add(file.path)
          sources.push({
            source: file.display,
            name: path.basename(file.path),
            size: file.size,
            kind: 'file',
            fetch: async () => file.path,
            release: async () => {},
          })
        }
      }
    }
  } catch (error) {
    await close()
    throw error
  }
  return {sources, close}
}
