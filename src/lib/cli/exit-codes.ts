/**
 * The one table of exit codes. Scripts rely on these numbers: never renumber, only add.
 * Shown in `cape --help` and in README.
 */
export const ExitCode = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  config: 3,
  notFound: 4,
  remoteFailed: 5,
  inputRejected: 6,
  confirmationRequired: 7,
  stillRunning: 8,
  partial: 9,
  interrupted: 130,
} as const

export type ExitCodeName = keyof typeof ExitCode
export type ExitCodeValue = (typeof ExitCode)[ExitCodeName]

export const exitCodeTable: ReadonlyArray<{code: number; name: ExitCodeName; meaning: string}> = [
  {code: ExitCode.ok, name: 'ok', meaning: 'success (including "no changes")'},
  {code: ExitCode.unexpected, name: 'unexpected', meaning: 'unexpected error (a bug: please report it)'},
  {code: ExitCode.usage, name: 'usage', meaning: 'usage error: unknown command, bad flag or argument'},
  {code: ExitCode.config, name: 'config', meaning: 'authentication, authorization or configuration problem (credentials, access denied, cape.yaml)'},
  {code: ExitCode.notFound, name: 'notFound', meaning: 'not found (stack, phase, zone, object, user, request)'},
  {code: ExitCode.remoteFailed, name: 'remoteFailed', meaning: 'a remote operation failed (deploy rolled back, extractor failed, service error)'},
  {code: ExitCode.inputRejected, name: 'inputRejected', meaning: 'input rejected (invalid CSV, invalid request, failed access check)'},
  {code: ExitCode.confirmationRequired, name: 'confirmationRequired', meaning: 'confirmation required: not a TTY and --yes not given'},
  {code: ExitCode.stillRunning, name: 'stillRunning', meaning: 'still running: a wait reached its --timeout'},
  {code: ExitCode.partial, name: 'partial', meaning: 'partly done: some items failed (see the per-item report)'},
  {code: ExitCode.interrupted, name: 'interrupted', meaning: 'interrupted (Ctrl-C / SIGINT)'},
]

export function exitCodeHelp(): string {
  return exitCodeTable.map((e) => `  ${String(e.code).padStart(3)}  ${e.meaning}`).join('\n')
}
