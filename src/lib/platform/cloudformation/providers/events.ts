/**
 * AWS::Events::Rule on the platform's event bus (default bus only; Lambda targets). The rule's events reach its
 * targets as EventBridge delivers them.
 */
import type {EventBus} from '../../events/rules.js'
import type {Json} from '../template.js'
import {generatedName} from './names.js'
import {ProviderError, type Properties, type ProviderContext, type ResourceProvider} from './types.js'

function ruleOf(logicalId: string, name: string, props: Properties) {
  const raw = props.EventPattern
  let pattern: Record<string, unknown>
  try {
    pattern = (typeof raw === 'string' ? JSON.parse(raw) : raw) as Record<string, unknown>
  } catch {
    throw new ProviderError('EventPattern is not valid JSON (AWS::Events::Rule)')
  }
  if (typeof pattern !== 'object' || pattern === null || Array.isArray(pattern)) {
    throw new ProviderError(`${logicalId}: the local platform runs rules with an EventPattern (scheduled rules are not supported)`)
  }
  if (props.EventBusName !== undefined && props.EventBusName !== 'default') throw new ProviderError('Only the default event bus is supported on the local platform')
  const targets = ((props.Targets ?? []) as Array<Record<string, Json>>).map((t) => ({id: String(t.Id ?? ''), arn: String(t.Arn ?? '')}))
  for (const t of targets) if (!t.arn.startsWith('arn:aws:lambda:')) throw new ProviderError(`Target ${t.id}: only Lambda targets are supported on the local platform`)
  return {name, pattern, state: props.State === 'DISABLED' ? ('DISABLED' as const) : ('ENABLED' as const), targets}
}

const ruleArn = (ctx: ProviderContext, name: string) => `arn:aws:events:${ctx.region}:${ctx.accountId}:rule/${name}`

export function eventsProviders(bus: EventBus): Record<string, ResourceProvider> {
  const rule: ResourceProvider = {
    attributes: ['Arn'],
    async create(ctx, logicalId, props) {
      const name = props.Name ? String(props.Name) : generatedName(ctx, {maxLength: 64})
      bus.putRule(ruleOf(logicalId, name, props))
      return {physicalId: name, attributes: {Arn: ruleArn(ctx, name)}}
    },
    async update(ctx, logicalId, physicalId, _old, props) {
      bus.putRule(ruleOf(logicalId, physicalId, props))
      return {attributes: {Arn: ruleArn(ctx, physicalId)}}
    },
    async delete(_ctx, physicalId) {
      bus.deleteRule(physicalId)
    },
  }
  return {'AWS::Events::Rule': rule}
}
