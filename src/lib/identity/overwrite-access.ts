import {SimulatePrincipalPolicyCommand} from '@aws-sdk/client-iam'
import {DeleteObjectCommand, GetBucketPolicyCommand, PutObjectCommand} from '@aws-sdk/client-s3'
import {setTimeout as sleep} from 'node:timers/promises'
import {randomUUID} from 'node:crypto'
import type {AwsClients} from '../aws/clients.js'
import {mapAwsError} from '../aws/errors.js'
import type {ZoneBuckets} from '../lakehouse/zones.js'
import type {AccessCell} from './access.js'
import {OVERWRITE} from './matrix.js'
import {createKey, deleteKey, type UserInfo} from './users.js'

/**
 * The "overwrite raw" cell of the access check: nobody may replace a raw object. Raw's bucket policy denies every
 * PutObject of a data key that is not a create (`If-None-Match: *`), so the cell asks IAM to simulate a plain
 * PutObject (s3:ObjectCreationOperation true, no s3:if-none-match) with the bucket policy as the resource policy.
 * Live: the user sends that PutObject for real, to a fresh key under `cape-access-check/` (a data key: keys starting
 * with `_` are bookkeeping and not guarded); denied is the expected outcome.
 */

const PROBE = 'cape-access-check/'

async function rawBucketPolicy(clients: AwsClients, bucket: string): Promise<string | undefined> {
  try {
    return (await clients.s3.send(new GetBucketPolicyCommand({Bucket: bucket}))).Policy
  } catch (e) {
    if ((e as Error).name === 'NoSuchBucketPolicy') return undefined
    throw mapAwsError(e, {doing: `reading the bucket policy of ${bucket}`})
  }
}

export async function simulateOverwriteAccess(clients: AwsClients, zones: ZoneBuckets, users: UserInfo[]): Promise<AccessCell[]> {
  const bucket = zones.buckets.raw
  const policy = await rawBucketPolicy(clients, bucket)
  const resource = `arn:aws:s3:::${bucket}/${PROBE}probe`
  const cells: AccessCell[] = []
  for (const user of users) {
    let decision: string
    try {
      const r = await clients.iam.send(
        new SimulatePrincipalPolicyCommand({
          PolicySourceArn: user.arn,
          ActionNames: ['s3:PutObject'],
          ResourceArns: [resource],
          ...(policy ? {ResourcePolicy: policy} : {}),
          ContextEntries: [
            {ContextKeyName: 'aws:SecureTransport', ContextKeyType: 'boolean', ContextKeyValues: ['true']},
            {ContextKeyName: 's3:ObjectCreationOperation', ContextKeyType: 'boolean', ContextKeyValues: ['true']},
          ],
        }),
      )
      decision = r.EvaluationResults?.[0]?.EvalDecision ?? 'implicitDeny'
    } catch (e) {
      throw mapAwsError(e, {doing: `simulating an overwrite of raw for ${user.name}`})
    }
    const simulated = decision === 'allowed'
    cells.push({user: user.name, roles: user.roles, zone: 'raw', bucket, action: OVERWRITE, iamAction: 's3:PutObject (no If-None-Match)', resource, expected: false, decision, simulated, ok: !simulated})
  }
  return cells
}

/** --live: each user tries a PutObject without `If-None-Match` in raw with a temporary key; it must be denied. */
export async function liveOverwriteCheck(admin: AwsClients, users: UserInfo[], cells: AccessCell[]): Promise<void> {
  const run = randomUUID().slice(0, 8)
  for (const user of users) {
    const cell = cells.find((c) => c.user === user.name && c.action === OVERWRITE)
    if (!cell) continue
    const key = await createKey(admin, user.name)
    const as = admin.withCredentials({accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey})
    const probe = `${PROBE}${run}/${user.name}-overwrite.txt`
    try {
      cell.live = await tryPut(as, cell.bucket, probe, (e) => (cell.liveError = e))
      // a write that should not have worked: take it back (the check reports the mismatch)
      if (cell.live) await admin.s3.send(new DeleteObjectCommand({Bucket: cell.bucket, Key: probe})).catch(() => undefined)
      cell.ok = !cell.simulated && !cell.live
    } finally {
      await deleteKey(admin, user.name, key.accessKeyId).catch(() => undefined)
      as.destroy()
    }
  }
}

async function tryPut(as: AwsClients, bucket: string, key: string, unexpected: (e: string) => void): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    try {
      await as.s3.send(new PutObjectCommand({Bucket: bucket, Key: key, Body: 'cape access check: this write must be refused\n'}))
      return true
    } catch (e) {
      const name = (e as Error).name
      // a new key takes a few seconds to work on AWS
      if ((name === 'InvalidAccessKeyId' || name === 'InvalidClientTokenId') && attempt < 10) {
        await sleep(1500)
        continue
      }
      if (name !== 'AccessDenied' && (e as {$metadata?: {httpStatusCode?: number}}).$metadata?.httpStatusCode !== 403) unexpected(`${name}: ${(e as Error).message}`)
      return false
    }
  }
}
