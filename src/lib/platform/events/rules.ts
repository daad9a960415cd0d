import {randomUUID} from 'node:crypto'
import {join} from 'node:path'
import {readJsonFileSync, writeJsonFileSync} from '../state-file.js'

/**
 * The platform's default event bus (what EventBridge is to AWS services): rules made by the CloudFormation provider
 * of AWS::Events::Rule, events published by the platform's services (Athena's "Athena Query State Change"), and
 * Lambda targets invoked with the event, as EventBridge delivers it. Rules live in `<data>/events/rules.json`.
 */

export interface EventRule {
  name: string
  pattern: Record<string, unknown>
  state: 'ENABLED' | 'DISABLED'
  targets: Array<{id: string; arn: string}>
}

export interface PlatformEvent {
  version: '0'
  id: string
  'detail-type': string
  source: string
  account: string
  time: string
  region: string
  resources: string[]
  detail: Record<string, unknown>
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * EventBridge pattern matching for the forms cape's templates use: a field's pattern is a list of allowed values
 * (any one equal matches), `{prefix: "…"}`, `{exists: bool}`, `{"anything-but": […]}`, or a nested pattern object.
 */
export function matchesPattern(pattern: Record<string, unknown>, event: Record<string, unknown>): boolean {
  return Object.entries(pattern).every(([field, want]) => {
    const value = event[field]
    if (isObject(want)) return isObject(value) && matchesPattern(want, value)
    if (!Array.isArray(want)) return false
    const values = Array.isArray(value) ? value : [value]
    return want.some((w) => {
      if (!isObject(w)) return values.some((v) => v === w)
      if ('exists' in w) return (value !== undefined) === Boolean(w.exists)
      if (typeof w.prefix === 'string') return values.some((v) => typeof v === 'string' && v.startsWith(w.prefix as string))
      if (Array.isArray(w['anything-but'])) return value !== undefined && values.every((v) => !(w['anything-but'] as unknown[]).includes(v))
      return false
    })
  })
}

export class EventBus {
  private readonly path: string
  private rules: Record<string, EventRule>
  private readonly deliver: (arn: string, event: PlatformEvent) => Promise<void>
  private readonly account: string
  private readonly region: string

  constructor(dataDir: string, options: {accountId: string; region: string; deliver: (arn: string, event: PlatformEvent) => Promise<void>}) {
    this.path = join(dataDir, 'rules.json')
    this.rules = readJsonFileSync<Record<string, EventRule>>(this.path) ?? {}
    this.deliver = options.deliver
    this.account = options.accountId
    this.region = options.region
  }

  putRule(rule: EventRule): void {
    this.rules[rule.name] = rule
    writeJsonFileSync(this.path, this.rules)
  }

  deleteRule(name: string): void {
    delete this.rules[name]
    writeJsonFileSync(this.path, this.rules)
  }

  getRule(name: string): EventRule | undefined {
    return this.rules[name]
  }

  /** Publishes one event: every enabled matching rule's targets get it (asynchronously; a failing target is logged by its runtime). */
  publish(input: {source: string; detailType: string; detail: Record<string, unknown>; resources?: string[]}): PlatformEvent {
    const event: PlatformEvent = {
      version: '0', id: randomUUID(), 'detail-type': input.detailType, source: input.source, account: this.account,
      time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), region: this.region, resources: input.resources ?? [], detail: input.detail,
    }
    for (const rule of Object.values(this.rules)) {
      if (rule.state !== 'ENABLED' || !matchesPattern(rule.pattern, event as unknown as Record<string, unknown>)) continue
      for (const target of rule.targets) void this.deliver(target.arn, event).catch(() => undefined)
    }
    return event
  }
}
