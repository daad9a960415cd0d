import type {AccessCell} from '../../identity/access.js'
import {ACTIONS, OVERWRITE, QUERY, type CellAction} from '../../identity/matrix.js'
import type {NewKey, UserInfo} from '../../identity/users.js'
import {ZONES} from '../../lakehouse/zones.js'
import {table, type Style} from '../render.js'

export function renderUsers(users: UserInfo[]): string {
  if (users.length === 0) return 'No users in this phase.'
  return table(
    users.map((u) => [u.name, u.roles.join(',') || '-', u.keys.map((k) => `${k.accessKeyId}${k.status === 'Active' ? '' : ` (${k.status})`}`).join(' ') || '-', u.createdAt ?? '']),
    ['USER', 'ROLE', 'ACCESS KEYS', 'CREATED'],
  )
}

/** The only place a secret is ever shown: once, on stdout, under a warning on stderr. */
export function secretWarning(s: Style): string {
  return s.yellow('! The secret access key below is shown this once and cannot be retrieved again. Store it now; do not paste it into logs or tickets.')
}

export function renderKey(key: NewKey): string {
  return [`aws_access_key_id = ${key.accessKeyId}`, `aws_secret_access_key = ${key.secretAccessKey}`].join('\n')
}

export function renderMatrix(cells: AccessCell[], s: Style, live: boolean): string {
  const users = [...new Set(cells.map((c) => c.user))]
  // the actions each zone has cells for, in a fixed order (query: phase 2, curated and raw only)
  const order: CellAction[] = [...ACTIONS, OVERWRITE, QUERY]
  const actionsOf = (z: string) => order.filter((a) => cells.some((c) => c.zone === z && c.action === a))
  const header = ['USER', 'ROLE', ...ZONES.map((z) => `${z} (${actionsOf(z).map((a) => a[0]).join('')})`)]
  const rows = users.map((u) => {
    const mine = cells.filter((c) => c.user === u)
    const zoneCells = ZONES.map((z) =>
      actionsOf(z).map((a) => {
        const c = mine.find((x) => x.zone === z && x.action === a)
        if (!c) return ' '
        const got = live && c.live !== undefined ? c.live && c.simulated : c.simulated
        const mark = got ? '✓' : '✗'
        return c.ok ? (got ? s.green(mark) : s.dim(mark)) : s.red(s.bold(mark === '✓' ? '!' : '?'))
      }).join(' '),
    )
    return [u, mine[0]?.roles.join(',') || '-', ...zoneCells]
  })
  const bad = cells.filter((c) => !c.ok)
  const lines = [table(rows, header), '', s.dim('l=list g=get p=put d=delete o=overwrite q=query (phase 2); ✓ allowed, ✗ denied, ! allowed but must not be, ? denied but must be allowed')]
  for (const c of bad) {
    lines.push(
      s.red(
        `✗ ${c.user}: ${c.action} on ${c.zone} is ${c.simulated ? 'allowed' : `denied (${c.decision})`} by policy${c.live === undefined ? '' : `, ${c.live ? 'allowed' : 'denied'} live${c.liveError ? ` (${c.liveError})` : ''}`}; expected ${c.expected ? 'allowed' : 'denied'}`,
      ),
    )
  }
  return lines.join('\n')
}
