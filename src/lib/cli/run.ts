import {Errors, flush, run, settings} from '@oclif/core'
import {ExitCode} from './exit-codes.js'

/**
 * The CLI entry. oclif's not-found plugin exits 127 for an unknown command; cape's contract is the usage code (2)
 * with the closest command named, in text or in the --json envelope.
 */
export async function main(argv: string[], root: string, options: {development?: boolean} = {}): Promise<void> {
  // cape targets Node 20 on purpose; the SDK's notice about its future Node 22 requirement is noise for operators.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  if (options.development) {
    // oclif maps dist/ to src/ (run through tsx) in development mode.
    process.env.NODE_ENV = 'development'
  } else {
    // The built CLI always runs dist/, whatever NODE_ENV the caller has.
    settings.enableAutoTranspile = false
  }
  try {
    await run(argv, root)
    await flush()
  } catch (error) {
    const err = error as Errors.CLIError & {oclif?: {exit?: number}}
    if (err?.oclif?.exit === 127) {
      const suggestion = await closestCommand(argv[0] ?? '', root)
      const message = `"${argv.filter((a) => !a.startsWith('-')).join(' ')}" is not a cape command.`
      const hints = [...(suggestion ? [`Did you mean \`cape ${suggestion}\`?`] : []), 'Run `cape --help` for the list of commands.']
      if (argv.includes('--json')) process.stdout.write(`${JSON.stringify({error: {code: 'COMMAND_NOT_FOUND', message, hints}}, null, 2)}\n`)
      else process.stderr.write(`${[message, ...hints].join('\n')}\n`)
      await flush()
      process.exit(ExitCode.usage)
    }
    await flush()
    Errors.handle(err)
  }
}

async function closestCommand(typed: string, root: string): Promise<string | undefined> {
  const {Config} = await import('@oclif/core')
  const {distance} = await import('fastest-levenshtein')
  const config = await Config.load(root)
  const ids = config.commands.filter((c) => !c.hidden).map((c) => c.id.replaceAll(':', ' '))
  const argv = process.argv.slice(2).filter((a) => !a.startsWith('-'))
  const wanted = argv.join(' ') || typed
  let best: {id: string; d: number} | undefined
  for (const id of ids) {
    const d = Math.min(distance(wanted, id), distance(wanted.split(' ').slice(0, id.split(' ').length).join(' '), id))
    if (!best || d < best.d) best = {id, d}
  }
  return best && best.d <= Math.max(3, Math.floor(wanted.length / 2)) ? best.id : undefined
}
