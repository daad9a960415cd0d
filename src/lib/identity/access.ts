import {SimulatePrincipalPolicyCommand} from '@aws-sdk/client-iam'
import {DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand} from '@aws-sdk/client-s3'
import {setTimeout as sleep} from 'node:timers/promises'
import {randomUUID} from 'node:crypto'
import type {AwsClients} from '../aws/clients.js'
import {mapAwsError} from '../aws/errors.js'
import {ZONES, type Zone, type ZoneBuckets} from '../lakehouse/zones.js'
import type {Reporter} from '../reporter.js'
import {ACTIONS, S3_ACTION, expectedFor, type Action, type CellAction, type Role} from './matrix.js'
import {createKey, deleteKey, type UserInfo} from './users.js'

export interface AccessCell {
  user: string
  roles: Role[]
  zone: Zone
  bucket: string
  action: CellAction
  iamAction: string
  resource: string
  expected: boolean
  /** SimulatePrincipalPolicy: allowed | explicitDeny | implicitDeny */
  decision: string
  simulated: boolean
  /** --live: what really happened with the user's own credentials. */
  live?: boolean
  liveError?: string
  ok: boolean
}

export interface AccessReport {
  users: string[]
  cells: AccessCell[]
  mismatches: number
  live: boolean
}

/** Where probes go: keys starting with `_` are ignored by the transform and the extractor. */
export const PROBE_PREFIX = '_cape-access-check/'

const resourceFor = (bucket: string, action: Action) =>
  action === 'list' ? `arn:aws:s3:::${bucket}` : `arn:aws:s3:::${bucket}/${PROBE_PREFIX}probe`

/** Ask IAM (SimulatePrincipalPolicy — the same call on AWS and on the local platform) for every cell. */
export async function simulateAccess(clients: AwsClients, zones: ZoneBuckets, users: UserInfo[]): Promise<AccessCell[]> {
  const cells: AccessCell[] = []
  for (const user of users) {
    for (const zone of ZONES) {
      const bucket = zones.buckets[zone]
      for (const action of ACTIONS) {
        const resource = resourceFor(bucket, action)
        let decision: string
        try {
          const r = await clients.iam.send(
            new SimulatePrincipalPolicyCommand({
              PolicySourceArn: user.arn,
              ActionNames: [S3_ACTION[action]],
              ResourceArns: [resource],
              ContextEntries: [{ContextKeyName: 'aws:SecureTransport', ContextKeyType: 'boolean', ContextKeyValues: ['true']}],
            }),
          )
          decision = r.EvaluationResults?.[0]?.EvalDecision ?? 'implicitDeny'
        } catch (e) {
          throw mapAwsError(e, {doing: `simulating ${S3_ACTION[action]} for ${user.name}`})
        }
        const expected = expectedFor(user.roles, zone, action)
        const simulated = decision === 'allowed'
        cells.push({user: user.name, roles: user.roles, zone, bucket, action, iamAction: S3_ACTION[action], resource, expected, decision, simulated, ok: simulated === expected})
      }
    }
  }
  return cells
}

function denied(e: unknown): boolean {
  const name = (e as Error).name
  const status = (e as {$metadata?: {httpStatusCode?: number}}).$metadata?.httpStatusCode
  return name === 'AccessDenied' || status === 403
}

/**
 * --live: try every cell for real with the user's own (temporary) key, against the store. The caller's identity
 * seeds the probe objects the get/delete attempts need, and removes everything afterwards; the key is deleted.
 */
export async function liveCheck(
  admin: AwsClients,
  zones: ZoneBuckets,
  users: UserInfo[],
  cells: AccessCell[],
  reporter: Reporter,
): Promise<void> {
  const run = randomUUID().slice(0, 8)
  const seeded: Array<{bucket: string; key: string}> = []
  const seed = async (bucket: string, key: string) => {
    await admin.s3.send(new PutObjectCommand({Bucket: bucket, Key: key, Body: 'cape access check probe\n'}))
    seeded.push({bucket, key})
  }
  try {
    for (const user of users) {
      const key = await createKey(admin, user.name)
      const as = admin.withCredentials({accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey})
      try {
        reporter.notify({code: 'access.live.user', level: 'info', message: `Trying ${user.name}'s access for real (temporary key ${key.accessKeyId})`})
        for (const cell of cells.filter((c) => c.user === user.name && (ACTIONS as readonly string[]).includes(c.action))) {
          const probe = `${PROBE_PREFIX}${run}/${user.name}-${cell.action}.txt`
          if (cell.action === 'get' || cell.action === 'delete') await seed(cell.bucket, probe)
          const attempt = async () => {
            switch (cell.action) {
              case 'list':
                return as.s3.send(new ListObjectsV2Command({Bucket: cell.bucket, MaxKeys: 1, Prefix: PROBE_PREFIX}))
              case 'get':
                return (await as.s3.send(new GetObjectCommand({Bucket: cell.bucket, Key: probe}))).Body?.transformToString()
              case 'put':
                seeded.push({bucket: cell.bucket, key: probe})
                return as.s3.send(new PutObjectCommand({Bucket: cell.bucket, Key: probe, Body: 'cape access check\n'}))
              case 'delete':
                return as.s3.send(new DeleteObjectCommand({Bucket: cell.bucket, Key: probe}))
            }
          }
          for (let attemptNo = 0; ; attemptNo++) {
            try {
              await attempt()
              cell.live = true
              break
            } catch (e) {
              // A new key takes a few seconds to work on AWS.
              if (((e as Error).name === 'InvalidAccessKeyId' || (e as Error).name === 'InvalidClientTokenId') && attemptNo < 10) {
                await sleep(1500)
                continue
              }
              cell.live = false
              if (!denied(e)) cell.liveError = `${(e as Error).name}: ${(e as Error).message}`
              break
            }
          }
          cell.ok = cell.simulated === cell.expected && cell.live === cell.expected
        }
      } finally {
        await deleteKey(admin, user.name, key.accessKeyId).catch(() => undefined)
        as.destroy()
      }
    }
  } finally {
    for (const o of seeded) await admin.s3.send(new DeleteObjectCommand({Bucket: o.bucket, Key: o.key})).catch(() => undefined)
  }
}
