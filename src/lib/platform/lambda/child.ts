import {fork} from 'node:child_process'
import {performance} from 'node:perf_hooks'

import type {FunctionInfo, LambdaErrorObject} from './types.js'

/** Output kept per invocation for the log file; beyond this it is cut (and says so). */
const MAX_OUTPUT_BYTES = 1024 * 1024
/** After the child exits, wait this long for its stdio to drain (a grandchild may hold the pipes). */
const STDIO_GRACE_MS = 500

export interface ChildInvocation {
  fn: FunctionInfo
  bootstrapPath: string
  taskRoot: string
  requestId: string
  event: unknown
  env: Record<string, string>
  logGroupName: string
  logStreamName: string
}

export interface ChildOutcome {
  /** Set when the handler answered: `payloadJson` on success, `error` on failure. */
  answered: boolean
  payloadJson?: string
  error?: LambdaErrorObject
  timedOut: boolean
  aborted: boolean
  exitCode: number | null
  exitSignal: NodeJS.Signals | null
  spawnError?: Error
  initDurationMs?: number
  durationMs: number
  maxMemoryUsedMb?: number
  /** stdout and stderr in arrival order. */
  output: string
}

export interface RunningChild {
  done: Promise<ChildOutcome>
  /** Kill the child (runtime shutdown); the outcome says aborted. */
  abort(): void
}

interface ResultMessage {
  type: 'result'
  ok: boolean
  payload?: string
  error?: LambdaErrorObject
  maxRssKb?: number
}

/** Run one invocation in a fresh Node process with a clean environment. Never rejects. */
export function runInChild(inv: ChildInvocation): RunningChild {
  const spawnedAt = performance.now()
  const timeoutMs = inv.fn.timeoutSeconds * 1000
  const deadline = Date.now() + timeoutMs
  const chunks: Buffer[] = []
  let outputBytes = 0
  let truncated = false
  let readyAt: number | undefined
  let answeredAt: number | undefined
  let result: ResultMessage | undefined
  let timedOut = false
  let aborted = false
  let spawnError: Error | undefined

  const child = fork(inv.bootstrapPath, [], {
    cwd: inv.taskRoot,
    env: inv.env,
    execPath: process.execPath,
    execArgv: [],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'json',
  })

  const collect = (chunk: Buffer) => {
    if (truncated) return
    if (outputBytes + chunk.length > MAX_OUTPUT_BYTES) {
      chunks.push(chunk.subarray(0, MAX_OUTPUT_BYTES - outputBytes))
      truncated = true
      return
    }
    chunks.push(chunk)
    outputBytes += chunk.length
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)

  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  const timer = setTimeout(() => {
    if (result) return
    timedOut = true
    kill()
  }, timeoutMs)

  child.on('message', (message: {type?: string}) => {
    if (message?.type === 'ready' && readyAt === undefined) {
      readyAt = performance.now()
      child.send({
        type: 'invoke',
        requestId: inv.requestId,
        event: inv.event,
        deadline,
        handler: inv.fn.handler,
        taskRoot: inv.taskRoot,
        functionName: inv.fn.name,
        functionArn: inv.fn.arn,
        memoryMb: inv.fn.memoryMb,
        logGroupName: inv.logGroupName,
        logStreamName: inv.logStreamName,
      })
    } else if (message?.type === 'result' && !result && !timedOut) {
      answeredAt = performance.now()
      result = message as ResultMessage
    }
  })

  const done = new Promise<ChildOutcome>((resolve) => {
    let exitCode: number | null = null
    let exitSignal: NodeJS.Signals | null = null
    let settled = false
    const settle = () => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      child.stdout?.destroy()
      child.stderr?.destroy()
      const end = answeredAt ?? performance.now()
      const rssKb = result?.maxRssKb
      let output = Buffer.concat(chunks).toString('utf8')
      if (truncated) output += `\n[cape: output truncated after ${MAX_OUTPUT_BYTES} bytes]\n`
      resolve({
        answered: result !== undefined,
        payloadJson: result?.ok ? (result.payload ?? 'null') : undefined,
        error: result && !result.ok ? result.error : undefined,
        timedOut,
        aborted: aborted && !result && !timedOut,
        exitCode,
        exitSignal,
        spawnError,
        initDurationMs: readyAt === undefined ? undefined : readyAt - spawnedAt,
        durationMs: end - (readyAt ?? spawnedAt),
        maxMemoryUsedMb: typeof rssKb === 'number' ? Math.max(1, Math.round(rssKb / 1024)) : undefined,
        output,
      })
    }
    child.on('error', (error) => {
      spawnError ??= error
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) settle()
    })
    child.on('exit', (code, signal) => {
      exitCode = code
      exitSignal = signal
      setTimeout(settle, STDIO_GRACE_MS).unref()
    })
    child.on('close', settle)
  })

  return {
    done,
    abort: () => {
      aborted = true
      kill()
    },
  }
}
