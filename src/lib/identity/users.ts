import {
  AddUserToGroupCommand,
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteUserCommand,
  DeleteUserPolicyCommand,
  DetachUserPolicyCommand,
  GetUserCommand,
  ListAccessKeysCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupsForUserCommand,
  ListUserPoliciesCommand,
  ListUsersCommand,
  RemoveUserFromGroupCommand,
  type User,
} from '@aws-sdk/client-iam'
import type {AwsClients} from '../aws/clients.js'
import {mapAwsError} from '../aws/errors.js'
import {CapeError, notFoundError, usageError} from '../cli/errors.js'
import {ExitCode} from '../cli/exit-codes.js'
import type {CachedOutputs} from '../deploy/outputs.js'
import type {Reporter} from '../reporter.js'
import {ROLES, type Role} from './matrix.js'

export interface PhaseIdentity {
  iamPath: string
  groups: Record<Role, string>
}

export function phaseIdentity(outputs: CachedOutputs): PhaseIdentity {
  const o = outputs.outputs
  const missing = ['IamPath', 'RegGroupName', 'AdminGroupName', 'PartnerGroupName'].filter((k) => !o[k])
  if (missing.length > 0) {
    throw notFoundError('PHASE_OUTPUTS_MISSING', `The ${outputs.phase} stack lacks outputs ${missing.join(', ')}.`, [`Re-deploy: cape deploy ${outputs.phase}`])
  }
  return {iamPath: o.IamPath, groups: {reg: o.RegGroupName, admin: o.AdminGroupName, partner: o.PartnerGroupName}}
}

export interface UserInfo {
  name: string
  arn: string
  path: string
  roles: Role[]
  groups: string[]
  createdAt?: string
  keys: Array<{accessKeyId: string; status: string; createdAt?: string}>
}

/** Never carries the secret except in the one place it is shown or saved. */
export interface NewKey {
  accessKeyId: string
  secretAccessKey: string
}

const NAME = /^[\w+=,.@-]{1,64}$/

function rolesOf(groups: string[], id: PhaseIdentity): Role[] {
  return ROLES.filter((r) => groups.includes(id.groups[r]))
}

async function call<T>(p: Promise<T>, doing: string): Promise<T> {
  try {
    return await p
  } catch (e) {
    throw mapAwsError(e, {doing})
  }
}

export async function describeUser(clients: AwsClients, user: User, id: PhaseIdentity): Promise<UserInfo> {
  const name = user.UserName!
  const [groups, keys] = await Promise.all([
    call(clients.iam.send(new ListGroupsForUserCommand({UserName: name})), `listing groups of ${name}`),
    call(clients.iam.send(new ListAccessKeysCommand({UserName: name})), `listing keys of ${name}`),
  ])
  const groupNames = (groups.Groups ?? []).map((g) => g.GroupName!)
  return {
    name,
    arn: user.Arn!,
    path: user.Path ?? '/',
    roles: rolesOf(groupNames, id),
    groups: groupNames,
    createdAt: user.CreateDate?.toISOString(),
    keys: (keys.AccessKeyMetadata ?? []).map((k) => ({accessKeyId: k.AccessKeyId!, status: k.Status ?? 'Active', createdAt: k.CreateDate?.toISOString()})),
  }
}

export async function listPhaseUsers(clients: AwsClients, id: PhaseIdentity): Promise<UserInfo[]> {
  const users: User[] = []
  let marker: string | undefined
  do {
    const page = await call(clients.iam.send(new ListUsersCommand({PathPrefix: id.iamPath, Marker: marker})), `listing users under ${id.iamPath}`)
    users.push(...(page.Users ?? []).filter((u) => u.Path === id.iamPath))
    marker = page.IsTruncated ? page.Marker : undefined
  } while (marker)
  const out = await Promise.all(users.map((u) => describeUser(clients, u, id)))
  return out.sort((a, b) => a.name.localeCompare(b.name))
}

/** A user of this phase (under its IAM path), or a not-found error. */
export async function getPhaseUser(clients: AwsClients, id: PhaseIdentity, name: string): Promise<UserInfo> {
  let user: User | undefined
  try {
    user = (await clients.iam.send(new GetUserCommand({UserName: name}))).User
  } catch (e) {
    if ((e as Error).name === 'NoSuchEntityException' || (e as Error).name === 'NoSuchEntity') {
      throw notFoundError('USER_NOT_FOUND', `There is no user "${name}".`, ['`cape users list` shows the phase users.'])
    }
    throw mapAwsError(e, {doing: `reading user ${name}`})
  }
  if (!user || user.Path !== id.iamPath) {
    throw new CapeError('USER_NOT_IN_PHASE', `User "${name}" exists but is not under the phase path ${id.iamPath}; cape manages only its own users.`, {
      exit: ExitCode.usage,
    })
  }
  return describeUser(clients, user, id)
}

export async function addUser(
  clients: AwsClients,
  id: PhaseIdentity,
  options: {name: string; role: Role; withKey?: boolean},
): Promise<{user: UserInfo; key?: NewKey}> {
  if (!NAME.test(options.name)) throw usageError(`"${options.name}" is not a valid IAM user name.`, ['Use up to 64 letters, digits and +=,.@_-'])
  try {
    await clients.iam.send(new CreateUserCommand({UserName: options.name, Path: id.iamPath, Tags: [{Key: 'cape:role', Value: options.role}]}))
  } catch (e) {
    if ((e as Error).name === 'EntityAlreadyExistsException' || (e as Error).name === 'EntityAlreadyExists') {
      throw new CapeError('USER_EXISTS', `User "${options.name}" already exists.`, {exit: ExitCode.usage, hints: ['Pick another name, or `cape users rotate-key` for a new key.']})
    }
    throw mapAwsError(e, {doing: `creating user ${options.name}`})
  }
  await call(clients.iam.send(new AddUserToGroupCommand({UserName: options.name, GroupName: id.groups[options.role]})), `adding ${options.name} to ${id.groups[options.role]}`)
  let key: NewKey | undefined
  if (options.withKey) key = await createKey(clients, options.name)
  const user = await getPhaseUser(clients, id, options.name)
  return {user, key}
}

export async function createKey(clients: AwsClients, name: string): Promise<NewKey> {
  const r = await call(clients.iam.send(new CreateAccessKeyCommand({UserName: name})), `creating an access key for ${name}`)
  return {accessKeyId: r.AccessKey!.AccessKeyId!, secretAccessKey: r.AccessKey!.SecretAccessKey!}
}

export async function deleteKey(clients: AwsClients, name: string, accessKeyId: string): Promise<void> {
  await call(clients.iam.send(new DeleteAccessKeyCommand({UserName: name, AccessKeyId: accessKeyId})), `deleting key ${accessKeyId} of ${name}`)
}

/** Keys, group memberships and policies first, then the user (IAM refuses to delete a user that still has them). */
export async function removeUser(clients: AwsClients, id: PhaseIdentity, name: string, reporter: Reporter): Promise<UserInfo> {
  const user = await getPhaseUser(clients, id, name)
  for (const k of user.keys) await deleteKey(clients, name, k.accessKeyId)
  for (const g of user.groups) await call(clients.iam.send(new RemoveUserFromGroupCommand({UserName: name, GroupName: g})), `removing ${name} from ${g}`)
  const inline = await call(clients.iam.send(new ListUserPoliciesCommand({UserName: name})), `listing policies of ${name}`)
  for (const p of inline.PolicyNames ?? []) await call(clients.iam.send(new DeleteUserPolicyCommand({UserName: name, PolicyName: p})), `deleting policy ${p}`)
  const attached = await call(clients.iam.send(new ListAttachedUserPoliciesCommand({UserName: name})), `listing attached policies of ${name}`)
  for (const p of attached.AttachedPolicies ?? []) await call(clients.iam.send(new DetachUserPolicyCommand({UserName: name, PolicyArn: p.PolicyArn})), `detaching ${p.PolicyArn}`)
  await call(clients.iam.send(new DeleteUserCommand({UserName: name})), `deleting user ${name}`)
  reporter.notify({code: 'users.removed', level: 'info', message: `Removed ${name} (${user.keys.length} keys, ${user.groups.length} groups)`})
  return user
}

/** New key first, then the old ones go: the user is never left without a working key. */
export async function rotateKey(clients: AwsClients, id: PhaseIdentity, name: string): Promise<{user: UserInfo; key: NewKey; deleted: string[]}> {
  const before = await getPhaseUser(clients, id, name)
  if (before.keys.length >= 2) {
    throw new CapeError('KEY_LIMIT', `${name} already has 2 access keys (the IAM limit), so a new one cannot be made before an old one goes.`, {
      exit: ExitCode.usage,
      hints: [`Delete one first: aws iam delete-access-key --user-name ${name} --access-key-id ${before.keys[0].accessKeyId}`],
    })
  }
  const key = await createKey(clients, name)
  for (const k of before.keys) await deleteKey(clients, name, k.accessKeyId)
  return {user: await getPhaseUser(clients, id, name), key, deleted: before.keys.map((k) => k.accessKeyId)}
}
