import type {Zone} from '../lakehouse/zones.js'

export const ROLES = ['reg', 'admin', 'partner'] as const
export type Role = (typeof ROLES)[number]
export const ACTIONS = ['list', 'get', 'put', 'delete'] as const
export type Action = (typeof ACTIONS)[number]

/** The IAM action each matrix action stands for. */
export const S3_ACTION: Record<Action, string> = {
  list: 's3:ListBucket',
  get: 's3:GetObject',
  put: 's3:PutObject',
  delete: 's3:DeleteObject',
}

type Grid = Record<Zone, Action[]>

/**
 * Phase 1's expected access, by role: what each role may do in each zone. `cape access check` proves the deployed
 * policies give exactly this: every ✓ allowed and every ✗ denied.
 */
export const PHASE1_EXPECTED: Record<Role, Grid> = {
  reg: {raw: ['list', 'get', 'put'], curated: ['list', 'get'], requests: ['put'], results: ['list', 'get']},
  admin: {
    raw: ['list', 'get', 'put'],
    curated: ['list', 'get', 'put', 'delete'],
    requests: ['list', 'get', 'put', 'delete'],
    results: ['list', 'get', 'put', 'delete'],
  },
  partner: {raw: [], curated: [], requests: [], results: []},
}

/** Expected for a user in these roles (the union; no role at all = nothing). */
export function expectedFor(roles: Role[], zone: Zone, action: Action): boolean {
  return roles.some((r) => PHASE1_EXPECTED[r][zone].includes(action))
}

/** Phase 2: a query through the engine of a zone's table (Athena on the workgroup + Glue on the table + S3 reads). */
export const QUERY = 'query'
/** Replacing an existing raw object (a PutObject without `If-None-Match: *`): denied to everyone, admin included. */
export const OVERWRITE = 'overwrite'
export type CellAction = Action | typeof QUERY | typeof OVERWRITE
/** The zones with tables (curated `<dataset>`, raw `raw_<dataset>`), and who may query each. */
export const QUERY_ZONES = ['curated', 'raw'] as const satisfies readonly Zone[]
export const PHASE2_QUERY_EXPECTED: Record<Role, ReadonlyArray<(typeof QUERY_ZONES)[number]>> = {reg: ['curated'], admin: ['curated', 'raw'], partner: []}

export function queryExpectedFor(roles: Role[], zone: Zone): boolean {
  return roles.some((r) => (PHASE2_QUERY_EXPECTED[r] as readonly string[]).includes(zone))
}
