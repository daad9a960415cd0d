import {Command, Flags, Errors, type Interfaces} from '@oclif/core'
import {mapAwsError} from '../aws/errors.js'
import type {AwsClients} from '../aws/clients.js'
import {resolveEnvironment, type ResolvedEnvironment} from '../config/config.js'
import type {Reporter} from '../reporter.js'
import {CapeError, isCapeError} from './errors.js'
import {ExitCode} from './exit-codes.js'
import {EventRenderer, styleFor, type OutputMode, type Style} from './render.js'
import {openClients} from './session.js'

export type CapeFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof CapeCommand)['baseFlags'] & T['flags']>
export type CapeArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/** What every command gets: the resolved environment, clients (created on first use) and a reporter. */
export interface CapeContext {
  env: ResolvedEnvironment
  reporter: Reporter
  signal: AbortSignal
  clients(): Promise<AwsClients>
}

const GLOBAL = 'GLOBAL'

/**
 * The base of every cape command. Owns --json, the global flags, the context, confirmation and error rendering.
 */
export abstract class CapeCommand<T extends typeof Command> extends Command {
  static enableJsonFlag = true

  static baseFlags = {
    env: Flags.string({
      helpGroup: GLOBAL,
      summary: 'Environment from cape.yaml (env: CAPE_ENV; default: local).',
      description: 'Precedence for every setting: flag > environment variable > cape.yaml > default.',
    }),
    profile: Flags.string({helpGroup: GLOBAL, summary: 'AWS shared-config profile (env: AWS_PROFILE).'}),
    region: Flags.string({helpGroup: GLOBAL, summary: 'AWS region (env: AWS_REGION).'}),
    'endpoint-url': Flags.string({helpGroup: GLOBAL, summary: 'AWS-compatible endpoint URL (env: AWS_ENDPOINT_URL).'}),
    config: Flags.string({helpGroup: GLOBAL, summary: 'Path to cape.yaml (env: CAPE_CONFIG; default: ./cape.yaml).'}),
  }

  protected flags!: CapeFlags<T>
  protected args!: CapeArgs<T>
  protected mode: OutputMode = 'plain'
  protected style: Style = styleFor(process.stderr)
  protected renderer!: EventRenderer
  private abort = new AbortController()
  private sessionClients?: AwsClients
  private ctxCache?: CapeContext

  public override async init(): Promise<void> {
    await super.init()
    const {args, flags} = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof CapeCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: this.ctor.args,
      strict: this.ctor.strict,
    })
    this.flags = flags as CapeFlags<T>
    this.args = args as CapeArgs<T>
    this.mode = this.jsonEnabled() ? 'json' : process.stderr.isTTY ? 'tty' : 'plain'
    this.renderer = new EventRenderer(this.mode, process.stderr, this.style)
    process.once('SIGINT', () => this.interrupt())
    process.once('SIGTERM', () => this.interrupt())
  }

  private interrupt(): void {
    this.abort.abort(new CapeError('INTERRUPTED', 'Interrupted.', {exit: ExitCode.interrupted}))
    // A second Ctrl-C, or a command that does not stop within 5 s, exits at once.
    process.once('SIGINT', () => process.exit(ExitCode.interrupted))
    setTimeout(() => process.exit(ExitCode.interrupted), 5000).unref()
  }

  /** The context: resolved environment, reporter, and clients on first use. */
  protected get ctx(): CapeContext {
    if (this.ctxCache) return this.ctxCache
    const f = this.flags as Record<string, unknown>
    const env = resolveEnvironment({
      env: f.env as string | undefined,
      profile: f.profile as string | undefined,
      region: f.region as string | undefined,
      endpointUrl: f['endpoint-url'] as string | undefined,
      config: f.config as string | undefined,
    })
    this.ctxCache = {
      env,
      reporter: this.renderer,
      signal: this.abort.signal,
      clients: async () => (this.sessionClients ??= await openClients(env, this.renderer)),
    }
    return this.ctxCache
  }

  /** Ask before a destructive step: a prompt on a TTY; otherwise --yes is required. */
  protected async confirm(message: string, options: {yes?: boolean; flag?: string} = {}): Promise<void> {
    if (options.yes) return
    const flag = options.flag ?? '--yes'
    if (this.mode === 'json' || !process.stdin.isTTY || !process.stdout.isTTY) {
      throw new CapeError('CONFIRMATION_REQUIRED', `${message} Refusing without confirmation: not an interactive terminal.`, {
        exit: ExitCode.confirmationRequired,
        hints: [`Re-run with ${flag} to confirm.`],
      })
    }
    const {confirm} = await import('@inquirer/prompts')
    const ok = await confirm({message, default: false})
    if (!ok) throw new CapeError('DECLINED', 'Cancelled: nothing was changed.', {exit: ExitCode.confirmationRequired})
  }

  /** Print a line of human output to stdout (nothing under --json). */
  protected out(line = ''): void {
    if (this.mode !== 'json') process.stdout.write(`${line}\n`)
  }

  public override async catch(err: Error & {exitCode?: number}): Promise<never> {
    if (err instanceof Errors.ExitError) throw err
    const error = toCapeError(err, this.abort.signal)
    this.renderer?.clearLive()
    if (this.jsonEnabled()) {
      this.logJson({error: error.toJSON()})
    } else {
      const s = this.style
      const lines = [s.red(`✗ ${error.message}`), s.dim(`  code: ${error.code}`)]
      for (const h of error.hints) lines.push(`  ${s.cyan('→')} ${h}`)
      if (error.exit === ExitCode.unexpected && process.env.CAPE_DEBUG) lines.push(String((error.cause as Error)?.stack ?? error.stack))
      process.stderr.write(`${lines.join('\n')}\n`)
    }
    this.exit(error.exit)
    throw error // unreachable: exit() throws
  }

  public override async finally(err: Error | undefined): Promise<void> {
    this.sessionClients?.destroy()
    await super.finally(err)
  }
}

/** Every error becomes a CapeError: ours as they are, oclif usage errors as USAGE, SDK errors through mapAwsError. */
export function toCapeError(err: unknown, signal?: AbortSignal): CapeError {
  if (isCapeError(err)) return err
  if (signal?.aborted && isCapeError(signal.reason)) return signal.reason
  const e = err as Error & {oclif?: {exit?: number}; name?: string}
  if (e?.name === 'AbortError') return new CapeError('INTERRUPTED', 'Interrupted.', {exit: ExitCode.interrupted})
  if (e instanceof Errors.CLIError || e?.oclif?.exit === 2) {
    const message = e.message.replace(/\n\s*See more help with --help$/m, '').trim()
    return new CapeError('USAGE', message, {exit: ExitCode.usage, hints: ['See the command help with --help.']})
  }
  return mapAwsError(err)
}
