import {ExitCode, type ExitCodeValue} from './exit-codes.js'

export interface CapeErrorOptions {
  hints?: string[]
  exit?: ExitCodeValue
  cause?: unknown
  /** Extra structured data for --json consumers (never secrets). */
  data?: Record<string, unknown>
}

/**
 * The one error type of cape. `code` is a stable string scripts may match on; `exit` comes from the exit-code table.
 * Lib code throws it; the base command renders it (pretty on stderr, or the JSON envelope under --json).
 */
export class CapeError extends Error {
  readonly code: string
  readonly hints: string[]
  readonly exit: ExitCodeValue
  readonly data?: Record<string, unknown>
  /** oclif's JSON path reads `exitCode`, its pretty path `oclif.exit`: set both. */
  readonly exitCode: number
  readonly oclif: {exit: number}

  constructor(code: string, message: string, options: CapeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = 'CapeError'
    this.code = code
    this.hints = options.hints ?? []
    this.exit = options.exit ?? ExitCode.unexpected
    this.data = options.data
    this.exitCode = this.exit
    this.oclif = {exit: this.exit}
  }

  toJSON(): {code: string; message: string; hints: string[]; data?: Record<string, unknown>} {
    return {code: this.code, message: this.message, hints: this.hints, ...(this.data ? {data: this.data} : {})}
  }
}

export const isCapeError = (e: unknown): e is CapeError => e instanceof CapeError

export const usageError = (message: string, hints: string[] = []) =>
  new CapeError('USAGE', message, {exit: ExitCode.usage, hints})
export const configError = (code: string, message: string, hints: string[] = []) =>
  new CapeError(code, message, {exit: ExitCode.config, hints})
export const notFoundError = (code: string, message: string, hints: string[] = []) =>
  new CapeError(code, message, {exit: ExitCode.notFound, hints})
export const inputRejected = (code: string, message: string, hints: string[] = [], data?: Record<string, unknown>) =>
  new CapeError(code, message, {exit: ExitCode.inputRejected, hints, data})
export const remoteFailed = (code: string, message: string, hints: string[] = [], data?: Record<string, unknown>) =>
  new CapeError(code, message, {exit: ExitCode.remoteFailed, hints, data})
