import {GetQueryExecutionCommand, StartQueryExecutionCommand} from '@aws-sdk/client-athena'
import {SimulatePrincipalPolicyCommand} from '@aws-sdk/client-iam'
import {setTimeout as sleep} from 'node:timers/promises'
import type {AwsClients} from '../aws/clients.js'
import {mapAwsError} from '../aws/errors.js'
import type {ZoneBuckets} from '../lakehouse/zones.js'
import type {QueryTarget} from '../query/target.js'
import type {AccessCell} from './access.js'
import {QUERY, QUERY_ZONES, queryExpectedFor} from './matrix.js'
import {createKey, deleteKey, type UserInfo} from './users.js'

/**
 * Phase 2's cells of the access check: may the user query the zone's table? Allowed only when IAM allows both
 * athena:StartQueryExecution on the workgroup and glue:GetTable on the table (S3 reads are the zone's `get` cell).
 * Live: the user runs `SELECT count(*)` on the table with a temporary key.
 */

const PROBE_DATASET = 'participants'
const tableOf = (zone: string) => (zone === 'raw' ? `raw_${PROBE_DATASET}` : PROBE_DATASET)

export async function simulateQueryAccess(clients: AwsClients, zones: ZoneBuckets, target: QueryTarget, users: UserInfo[], account: {region: string; accountId: string}): Promise<AccessCell[]> {
  const workgroup = `arn:aws:athena:${account.region}:${account.accountId}:workgroup/${target.workgroup}`
  const cells: AccessCell[] = []
  for (const user of users) {
    for (const zone of QUERY_ZONES) {
      const table = `arn:aws:glue:${account.region}:${account.accountId}:table/${target.database}/${tableOf(zone)}`
      const decisions: string[] = []
      for (const [action, resource] of [['athena:StartQueryExecution', workgroup], ['glue:GetTable', table]] as const) {
        try {
          const r = await clients.iam.send(new SimulatePrincipalPolicyCommand({PolicySourceArn: user.arn, ActionNames: [action], ResourceArns: [resource]}))
          decisions.push(r.EvaluationResults?.[0]?.EvalDecision ?? 'implicitDeny')
        } catch (e) {
          throw mapAwsError(e, {doing: `simulating ${action} for ${user.name}`})
        }
      }
      const decision = decisions.find((d) => d !== 'allowed') ?? 'allowed'
      const expected = queryExpectedFor(user.roles, zone)
      const simulated = decision === 'allowed'
      cells.push({user: user.name, roles: user.roles, zone, bucket: zones.buckets[zone], action: QUERY, iamAction: 'athena:StartQueryExecution+glue:GetTable', resource: table, expected, decision, simulated, ok: simulated === expected})
    }
  }
  return cells
}

/** --live: each user queries each zone's table for real; SUCCEEDED = allowed, denied or failed for rights = denied. */
export async function liveQueryCheck(admin: AwsClients, target: QueryTarget, users: UserInfo[], cells: AccessCell[]): Promise<void> {
  for (const user of users) {
    const mine = cells.filter((c) => c.user === user.name && c.action === QUERY)
    if (mine.length === 0) continue
    const key = await createKey(admin, user.name)
    const as = admin.withCredentials({accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey})
    try {
      for (const cell of mine) {
        cell.live = await tryQuery(as, target, `SELECT count(*) FROM "${tableOf(cell.zone)}"`, (e) => (cell.liveError = e))
        cell.ok = cell.simulated === cell.expected && cell.live === cell.expected
      }
    } finally {
      await deleteKey(admin, user.name, key.accessKeyId).catch(() => undefined)
      as.destroy()
    }
  }
}

async function tryQuery(as: AwsClients, target: QueryTarget, sql: string, unexpected: (e: string) => void): Promise<boolean> {
  let id: string | undefined
  for (let attempt = 0; ; attempt++) {
    try {
      id = (await as.athena.send(new StartQueryExecutionCommand({QueryString: sql, WorkGroup: target.workgroup, QueryExecutionContext: {Database: target.database}}))).QueryExecutionId
      break
    } catch (e) {
      // a new key takes a few seconds to work on AWS
      if (/InvalidClientTokenId|UnrecognizedClient/.test((e as Error).name) && attempt < 10) {
        await sleep(1500)
        continue
      }
      if (!/AccessDenied/.test((e as Error).name)) unexpected(`${(e as Error).name}: ${(e as Error).message}`)
      return false
    }
  }
  for (let delay = 100; ; delay = Math.min(2000, delay * 1.5)) {
    const q = (await as.athena.send(new GetQueryExecutionCommand({QueryExecutionId: id}))).QueryExecution
    const state = q?.Status?.State
    if (state === 'SUCCEEDED') return true
    if (state === 'FAILED' || state === 'CANCELLED') {
      const reason = q?.Status?.StateChangeReason ?? ''
      if (!/not authorized|Permission denied|Access denied|AccessDenied|Insufficient permissions/i.test(reason)) unexpected(reason)
      return false
    }
    await sleep(delay)
  }
}
