import {randomBytes, randomInt} from 'node:crypto'
import type {IncomingMessage} from 'node:http'

/** Who sent a request, resolved by the router from the SigV4 access key id (see platform-contracts.md). */
export interface Principal {
  arn: string
  accountId: string
  type: 'root' | 'user' | 'assumed-role'
  userName?: string
  roleName?: string
  accessKeyId: string
}

const principals = new WeakMap<IncomingMessage, Principal>()

/** Attach the authenticated principal to a request (the router does this before handing it to a service). */
export function setRequestPrincipal(req: IncomingMessage, principal: Principal): void {
  principals.set(req, principal)
}

/** The authenticated principal of a request, or `undefined` for an anonymous request. */
export function getRequestPrincipal(req: IncomingMessage): Principal | undefined {
  return principals.get(req)
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** Random upper-case id in AWS's alphabet, e.g. awsId('AKIA', 16) → AKIA… (20 chars). */
export function awsId(prefix: string, length: number): string {
  const bytes = randomBytes(length)
  let out = prefix
  for (const b of bytes) out += BASE32[b % 32]
  return out
}

/** A 40-character secret access key. */
export function newSecretAccessKey(): string {
  return randomBytes(30).toString('base64')
}

/** A random 12-digit account id (never starting with 0). */
export function newAccountId(): string {
  let id = String(randomInt(1, 10))
  for (let i = 0; i < 11; i++) id += String(randomInt(0, 10))
  return id
}

export const rootArn = (accountId: string) => `arn:aws:iam::${accountId}:root`
export const assumedRoleArn = (accountId: string, roleName: string, sessionName: string) =>
  `arn:aws:sts::${accountId}:assumed-role/${roleName}/${sessionName}`
