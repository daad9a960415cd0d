import type {DestroyPlan} from '../../deploy/apply.js'
import type {Plan} from '../../deploy/plan.js'
import {humanBytes, table, type Style} from '../render.js'

export function renderPlan(plan: Plan, s: Style): string {
  const lines: string[] = []
  lines.push(s.bold(`Plan for ${plan.stackName} (${plan.changeSetType === 'CREATE' ? 'new stack' : 'update'})`))
  const a = plan.assets
  const uploads = a.assets.filter((x) => !x.present)
  if (a.createBucket || uploads.length > 0) {
    lines.push(`  bootstrap: ${[a.createBucket ? `create assets bucket ${a.bucket}` : '', ...uploads.map((u) => `upload ${u.function} bundle (${humanBytes(u.bytes)})`)].filter(Boolean).join('; ')}`)
  }
  if (plan.changes.length === 0) {
    lines.push(`  ${s.green('no changes')}`)
    return lines.join('\n')
  }
  const rows = plan.changes.map((c) => {
    const sign = c.action === 'Add' ? s.green('+') : c.action === 'Remove' ? s.red('-') : s.yellow('~')
    const repl = c.replacement === 'True' ? s.red('REPLACE') : c.replacement === 'Conditional' ? s.yellow('may replace') : ''
    return [`  ${sign} ${c.logicalId}`, c.type, repl, c.details.length > 0 ? s.dim(`(${c.details.join(', ')})`) : '']
  })
  lines.push(table(rows))
  const add = plan.changes.filter((c) => c.action === 'Add').length
  const mod = plan.changes.filter((c) => c.action === 'Modify').length
  const rep = plan.changes.filter((c) => c.replacement === 'True').length
  const del = plan.changes.filter((c) => c.action === 'Remove').length
  lines.push(`  ${add} to add, ${mod} to modify${rep ? ` (${rep} replaced)` : ''}, ${del} to remove`)
  return lines.join('\n')
}

export function renderOutputs(outputs: Record<string, string>, s: Style): string {
  return [s.bold('Outputs'), table(Object.entries(outputs).map(([k, v]) => [`  ${k}`, v]))].join('\n')
}

export function renderDestroyPlan(plan: DestroyPlan, s: Style): string {
  if (!plan.exists) return `${plan.stackName} does not exist: nothing to destroy.`
  const lines = [s.bold(`Destroy ${plan.stackName} (${plan.status}, ${plan.resources} resources)`)]
  for (const r of plan.retained) {
    const data = r.objects === 'unknown' ? 'contents unknown' : r.objects === 0 ? 'empty' : `${r.objects >= 1000 ? '1000+' : r.objects} objects`
    lines.push(`  ${s.yellow('retained')} ${r.bucket} (${r.logicalId}, ${data})`)
  }
  return lines.join('\n')
}
