import {rmSync, writeFileSync, renameSync} from 'node:fs'
import type {Platform} from '../platform/server.js'
import {bootPlatform} from './boot.js'
import {privateDir, readRunInfo, runFile, type RunInfo} from './launcher.js'

export interface ServeOptions {
  dataDir: string
  port?: number
  /** Fail when the port is busy instead of picking a free one. */
  strictPort?: boolean
  log: (line: string) => void
}

/** Start the platform in this process, record run.json, and stop cleanly on SIGINT/SIGTERM. Resolves once stopped. */
export async function runPlatform(options: ServeOptions): Promise<void> {
  const {platform, info} = await startRecorded(options)
  options.log(`cape local platform listening on ${info.endpoint} (data: ${options.dataDir}, account ${platform.accountId}, ${platform.region})`)
  await new Promise<void>((resolve) => {
    let stopping = false
    const stop = (signal: string) => {
      if (stopping) return
      stopping = true
      options.log(`${signal}: stopping`)
      void platform
        .close()
        .catch((e) => options.log(`error while stopping: ${(e as Error).message}`))
        .finally(() => {
          const current = readRunInfo(options.dataDir)
          if (current?.pid === process.pid) rmSync(runFile(options.dataDir), {force: true})
          options.log('stopped')
          resolve()
        })
    }
    process.on('SIGINT', () => stop('SIGINT'))
    process.on('SIGTERM', () => stop('SIGTERM'))
  })
}

export async function startRecorded(options: Omit<ServeOptions, 'log'> & {log?: (line: string) => void}): Promise<{platform: Platform; info: RunInfo}> {
  privateDir(options.dataDir)
  let platform: Platform
  try {
    platform = await bootPlatform({dataDir: options.dataDir, port: options.port})
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || options.strictPort) throw e
    options.log?.(`port ${options.port} is busy; using a free port instead`)
    platform = await bootPlatform({dataDir: options.dataDir, port: 0})
  }
  const info: RunInfo = {pid: process.pid, port: platform.port, endpoint: platform.endpoint, dataDir: options.dataDir, startedAt: new Date().toISOString()}
  const file = runFile(options.dataDir)
  writeFileSync(`${file}.tmp`, `${JSON.stringify(info, null, 2)}\n`)
  renameSync(`${file}.tmp`, file)
  return {platform, info}
}
