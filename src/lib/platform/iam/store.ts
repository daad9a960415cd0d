import {randomBytes, timingSafeEqual} from 'node:crypto'
import type {PolicyDocument} from '../auth/policy.js'
import {assumedRoleArn, awsId, newSecretAccessKey, rootArn, type Principal} from '../identity.js'
import {validationError} from '../query.js'
import {readJsonFileSync, writeJsonFileSync} from '../state-file.js'
import {AWS_MANAGED_POLICIES, awsManagedPolicy} from './aws-managed.js'
import {deleteConflict, entityAlreadyExists, limitExceeded, malformedPolicy, noSuchEntity} from './errors.js'

/**
 * The IAM state of the local platform: users, groups, roles, managed policies, access keys and STS sessions, kept in
 * memory and written atomically to `<data>/iam/state.json` (mode 0600: it holds secrets) after every change.
 * Errors are QueryErrors with IAM's codes (NoSuchEntity, EntityAlreadyExists, DeleteConflict, …), so the IAM service
 * answers them as-is and CloudFormation provisioners can report them.
 */

export type Tag = {Key: string; Value: string}

interface InlinePolicies {
  /** policy name → document (JSON text as given) */
  inlinePolicies: Record<string, string>
  /** managed policy ARNs */
  attachedPolicies: string[]
}

export interface UserRecord extends InlinePolicies {
  name: string
  path: string
  userId: string
  arn: string
  createDate: string
  /** group names */
  groups: string[]
  tags: Tag[]
}

export interface GroupRecord extends InlinePolicies {
  name: string
  path: string
  groupId: string
  arn: string
  createDate: string
}

export interface RoleRecord extends InlinePolicies {
  name: string
  path: string
  roleId: string
  arn: string
  createDate: string
  assumeRolePolicyDocument: string
  description?: string
  maxSessionDuration: number
  tags: Tag[]
}

export interface PolicyVersionRecord {
  versionId: string
  document: string
  createDate: string
}

export interface ManagedPolicyRecord {
  name: string
  path: string
  policyId: string
  arn: string
  description?: string
  createDate: string
  updateDate: string
  defaultVersionId: string
  versions: PolicyVersionRecord[]
  /** next version number */
  nextVersion: number
}

export interface AccessKeyRecord {
  accessKeyId: string
  secretAccessKey: string
  userName: string
  status: 'Active' | 'Inactive'
  createDate: string
}

export interface SessionRecord {
  accessKeyId: string
  secretAccessKey: string
  sessionToken: string
  roleName: string
  sessionName: string
  expiration: string
  /** session policy (AssumeRole `Policy`), intersected with the role's policies */
  policy?: string
}

interface IamState {
  version: 1
  users: Record<string, UserRecord>
  groups: Record<string, GroupRecord>
  roles: Record<string, RoleRecord>
  policies: Record<string, ManagedPolicyRecord>
  accessKeys: Record<string, AccessKeyRecord>
  sessions: Record<string, SessionRecord>
}

/** A policy with where it came from, for SimulatePrincipalPolicy's MatchedStatements. */
export interface PolicySource {
  id: string
  type: 'user' | 'group' | 'role' | 'aws-managed' | 'user-managed'
  document: PolicyDocument
}

export interface ResolvedKey {
  principal: Principal
  secretAccessKey: string
  /** set for temporary (STS) credentials: the request must carry this token */
  sessionToken?: string
  expiration?: Date
  status: 'Active' | 'Inactive'
}

export interface RootCredentials {
  accessKeyId: string
  secretAccessKey: string
}

const NAME_RE = /^[\w+=,.@-]+$/
const PATH_RE = /^\/([\x21-\x7e]*\/)?$/
const MAX_KEYS_PER_USER = 2

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
const lc = (s: string) => s.toLowerCase()

function checkName(kind: string, field: string, name: string, max: number): void {
  if (!name || name.length > max || !NAME_RE.test(name))
    throw validationError(`1 validation error detected: Value '${name}' at '${field}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+ and have length 1..${max} (${kind})`)
}

function checkPath(path: string): void {
  if (path.length > 512 || !PATH_RE.test(path))
    throw validationError(`1 validation error detected: Value '${path}' at 'path' failed to satisfy constraint: the path must begin and end with '/'`)
}

/** Parse and minimally validate a policy document (JSON text or object). Returns the text to store. */
export function validatePolicyDocument(input: string | PolicyDocument): string {
  const text = typeof input === 'string' ? input : JSON.stringify(input)
  let parsed: any
  try {
    parsed = JSON.parse(text)
  } catch {
    throw malformedPolicy('Syntax errors in policy.')
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw malformedPolicy('Syntax errors in policy.')
  const statements = Array.isArray(parsed.Statement) ? parsed.Statement : parsed.Statement ? [parsed.Statement] : []
  if (statements.length === 0) throw malformedPolicy('Policy document must contain at least one Statement.')
  for (const s of statements) {
    if (!s || typeof s !== 'object') throw malformedPolicy('Syntax errors in policy.')
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') throw malformedPolicy(`Invalid effect: ${String(s.Effect)}`)
    if (s.Action === undefined && s.NotAction === undefined) throw malformedPolicy('Policy statement must contain actions.')
  }
  if (text.length > 131_072) throw limitExceeded('Cannot exceed quota for PolicySize.')
  return text
}

export const parsePolicy = (text: string) => JSON.parse(text) as PolicyDocument

export class IamStore {
  readonly accountId: string
  readonly file: string
  private readonly root: RootCredentials
  private state: IamState

  private constructor(file: string, accountId: string, root: RootCredentials, state: IamState) {
    this.file = file
    this.accountId = accountId
    this.root = root
    this.state = state
  }

  /** Load `<data>/iam/state.json` (or start empty). `root` is the account's admin key pair. */
  static open(options: {file: string; accountId: string; root: RootCredentials}): IamStore {
    const loaded = readJsonFileSync<IamState>(options.file)
    const state: IamState = loaded ?? {version: 1, users: {}, groups: {}, roles: {}, policies: {}, accessKeys: {}, sessions: {}}
    state.sessions ??= {}
    const store = new IamStore(options.file, options.accountId, options.root, state)
    store.purgeExpiredSessions()
    if (!loaded) store.save()
    return store
  }

  private save(): void {
    writeJsonFileSync(this.file, this.state, {mode: 0o600})
  }

  private arn(kind: 'user' | 'group' | 'role' | 'policy', path: string, name: string) {
    return `arn:aws:iam::${this.accountId}:${kind}${path}${name}`
  }

  // -------------------------------------------------------------------------------------------------------------
  // users

  createUser(input: {userName: string; path?: string; tags?: Tag[]}): UserRecord {
    checkName('user', 'userName', input.userName, 64)
    const path = input.path ?? '/'
    checkPath(path)
    if (this.state.users[lc(input.userName)]) throw entityAlreadyExists(`User with name ${input.userName} already exists.`)
    const user: UserRecord = {
      name: input.userName, path, userId: awsId('AIDA', 17), arn: this.arn('user', path, input.userName), createDate: now(),
      groups: [], inlinePolicies: {}, attachedPolicies: [], tags: input.tags ?? [],
    }
    this.state.users[lc(user.name)] = user
    this.save()
    return user
  }

  getUser(userName: string): UserRecord {
    const user = this.state.users[lc(userName)]
    if (!user) throw noSuchEntity(`The user with name ${userName} cannot be found.`)
    return user
  }

  findUser(userName: string): UserRecord | undefined {
    return this.state.users[lc(userName)]
  }

  listUsers(options: {pathPrefix?: string} = {}): UserRecord[] {
    return sortByName(Object.values(this.state.users).filter((u) => u.path.startsWith(options.pathPrefix ?? '/')))
  }

  /** Like AWS: refuses (DeleteConflict) while the user still has access keys, policies or group memberships. */
  deleteUser(userName: string): void {
    const user = this.getUser(userName)
    if (this.listAccessKeys(user.name).length > 0) throw deleteConflict('Cannot delete entity, must delete access keys first.')
    if (Object.keys(user.inlinePolicies).length > 0) throw deleteConflict('Cannot delete entity, must delete policies first.')
    if (user.attachedPolicies.length > 0) throw deleteConflict('Cannot delete entity, must detach all policies first.')
    if (user.groups.length > 0) throw deleteConflict('Cannot delete entity, must remove users from group first.')
    delete this.state.users[lc(user.name)]
    this.save()
  }

  // -------------------------------------------------------------------------------------------------------------
  // groups

  createGroup(input: {groupName: string; path?: string}): GroupRecord {
    checkName('group', 'groupName', input.groupName, 128)
    const path = input.path ?? '/'
    checkPath(path)
    if (this.state.groups[lc(input.groupName)]) throw entityAlreadyExists(`Group with name ${input.groupName} already exists.`)
    const group: GroupRecord = {
      name: input.groupName, path, groupId: awsId('AGPA', 17), arn: this.arn('group', path, input.groupName), createDate: now(),
      inlinePolicies: {}, attachedPolicies: [],
    }
    this.state.groups[lc(group.name)] = group
    this.save()
    return group
  }

  getGroup(groupName: string): GroupRecord {
    const group = this.state.groups[lc(groupName)]
    if (!group) throw noSuchEntity(`The group with name ${groupName} cannot be found.`)
    return group
  }

  groupMembers(groupName: string): UserRecord[] {
    const group = this.getGroup(groupName)
    return sortByName(Object.values(this.state.users).filter((u) => u.groups.some((g) => lc(g) === lc(group.name))))
  }

  listGroups(options: {pathPrefix?: string} = {}): GroupRecord[] {
    return sortByName(Object.values(this.state.groups).filter((g) => g.path.startsWith(options.pathPrefix ?? '/')))
  }

  deleteGroup(groupName: string): void {
    const group = this.getGroup(groupName)
    if (this.groupMembers(group.name).length > 0) throw deleteConflict('Cannot delete entity, must remove users from group first.')
    if (Object.keys(group.inlinePolicies).length > 0) throw deleteConflict('Cannot delete entity, must delete policies first.')
    if (group.attachedPolicies.length > 0) throw deleteConflict('Cannot delete entity, must detach all policies first.')
    delete this.state.groups[lc(group.name)]
    this.save()
  }

  addUserToGroup(groupName: string, userName: string): void {
    const group = this.getGroup(groupName)
    const user = this.getUser(userName)
    if (!user.groups.some((g) => lc(g) === lc(group.name))) {
      user.groups.push(group.name)
      this.save()
    }
  }

  removeUserFromGroup(groupName: string, userName: string): void {
    const group = this.getGroup(groupName)
    const user = this.getUser(userName)
    const before = user.groups.length
    user.groups = user.groups.filter((g) => lc(g) !== lc(group.name))
    if (user.groups.length === before) throw noSuchEntity(`The user with name ${user.name} is not in group ${group.name}.`)
    this.save()
  }

  listGroupsForUser(userName: string): GroupRecord[] {
    const user = this.getUser(userName)
    return sortByName(user.groups.map((g) => this.state.groups[lc(g)]).filter((g): g is GroupRecord => g !== undefined))
  }

  // -------------------------------------------------------------------------------------------------------------
  // roles

  createRole(input: {roleName: string; path?: string; assumeRolePolicyDocument: string | PolicyDocument; description?: string; maxSessionDuration?: number; tags?: Tag[]}): RoleRecord {
    checkName('role', 'roleName', input.roleName, 64)
    const path = input.path ?? '/'
    checkPath(path)
    const trust = validatePolicyDocument(input.assumeRolePolicyDocument)
    const maxSessionDuration = input.maxSessionDuration ?? 3600
    if (maxSessionDuration < 3600 || maxSessionDuration > 43_200)
      throw validationError(`1 validation error detected: Value '${maxSessionDuration}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between 3600 and 43200`)
    if (this.state.roles[lc(input.roleName)]) throw entityAlreadyExists(`Role with name ${input.roleName} already exists.`)
    const role: RoleRecord = {
      name: input.roleName, path, roleId: awsId('AROA', 17), arn: this.arn('role', path, input.roleName), createDate: now(),
      assumeRolePolicyDocument: trust, description: input.description, maxSessionDuration, tags: input.tags ?? [],
      inlinePolicies: {}, attachedPolicies: [],
    }
    this.state.roles[lc(role.name)] = role
    this.save()
    return role
  }

  getRole(roleName: string): RoleRecord {
    const role = this.state.roles[lc(roleName)]
    if (!role) throw noSuchEntity(`The role with name ${roleName} cannot be found.`)
    return role
  }

  /** The role with this ARN (any path), or NoSuchEntity. */
  roleByArn(roleArn: string): RoleRecord {
    const role = Object.values(this.state.roles).find((r) => r.arn === roleArn)
    if (!role) throw noSuchEntity(`The role with ARN ${roleArn} cannot be found.`)
    return role
  }

  listRoles(options: {pathPrefix?: string} = {}): RoleRecord[] {
    return sortByName(Object.values(this.state.roles).filter((r) => r.path.startsWith(options.pathPrefix ?? '/')))
  }

  updateAssumeRolePolicy(roleName: string, document: string | PolicyDocument): void {
    const role = this.getRole(roleName)
    role.assumeRolePolicyDocument = validatePolicyDocument(document)
    this.save()
  }

  deleteRole(roleName: string): void {
    const role = this.getRole(roleName)
    if (Object.keys(role.inlinePolicies).length > 0) throw deleteConflict('Cannot delete entity, must delete policies first.')
    if (role.attachedPolicies.length > 0) throw deleteConflict('Cannot delete entity, must detach all policies first.')
    delete this.state.roles[lc(role.name)]
    for (const [id, s] of Object.entries(this.state.sessions)) if (lc(s.roleName) === lc(role.name)) delete this.state.sessions[id]
    this.save()
  }

  // -------------------------------------------------------------------------------------------------------------
  // inline policies (user | group | role)

  private holder(kind: 'user' | 'group' | 'role', name: string): InlinePolicies & {name: string} {
    return kind === 'user' ? this.getUser(name) : kind === 'group' ? this.getGroup(name) : this.getRole(name)
  }

  putInlinePolicy(kind: 'user' | 'group' | 'role', name: string, policyName: string, document: string | PolicyDocument): void {
    checkName('policy', 'policyName', policyName, 128)
    const holder = this.holder(kind, name)
    const text = validatePolicyDocument(document)
    // replace case-insensitively, like AWS
    for (const existing of Object.keys(holder.inlinePolicies)) if (lc(existing) === lc(policyName)) delete holder.inlinePolicies[existing]
    holder.inlinePolicies[policyName] = text
    this.save()
  }

  getInlinePolicy(kind: 'user' | 'group' | 'role', name: string, policyName: string): {policyName: string; document: string} {
    const holder = this.holder(kind, name)
    const key = Object.keys(holder.inlinePolicies).find((k) => lc(k) === lc(policyName))
    if (key === undefined) throw noSuchEntity(`The ${kind} policy with name ${policyName} cannot be found.`)
    return {policyName: key, document: holder.inlinePolicies[key]}
  }

  deleteInlinePolicy(kind: 'user' | 'group' | 'role', name: string, policyName: string): void {
    const holder = this.holder(kind, name)
    const {policyName: key} = this.getInlinePolicy(kind, name, policyName)
    delete holder.inlinePolicies[key]
    this.save()
  }

  listInlinePolicies(kind: 'user' | 'group' | 'role', name: string): string[] {
    return Object.keys(this.holder(kind, name).inlinePolicies).sort()
  }

  putUserPolicy(userName: string, policyName: string, document: string | PolicyDocument) { this.putInlinePolicy('user', userName, policyName, document) }
  putGroupPolicy(groupName: string, policyName: string, document: string | PolicyDocument) { this.putInlinePolicy('group', groupName, policyName, document) }
  putRolePolicy(roleName: string, policyName: string, document: string | PolicyDocument) { this.putInlinePolicy('role', roleName, policyName, document) }
  deleteUserPolicy(userName: string, policyName: string) { this.deleteInlinePolicy('user', userName, policyName) }
  deleteGroupPolicy(groupName: string, policyName: string) { this.deleteInlinePolicy('group', groupName, policyName) }
  deleteRolePolicy(roleName: string, policyName: string) { this.deleteInlinePolicy('role', roleName, policyName) }

  // -------------------------------------------------------------------------------------------------------------
  // managed policies

  createPolicy(input: {policyName: string; path?: string; policyDocument: string | PolicyDocument; description?: string}): ManagedPolicyRecord {
    checkName('policy', 'policyName', input.policyName, 128)
    const path = input.path ?? '/'
    checkPath(path)
    const text = validatePolicyDocument(input.policyDocument)
    const arn = this.arn('policy', path, input.policyName)
    if (Object.values(this.state.policies).some((p) => lc(p.name) === lc(input.policyName)))
      throw entityAlreadyExists(`A policy called ${input.policyName} already exists. Duplicate names are not allowed.`)
    const date = now()
    const policy: ManagedPolicyRecord = {
      name: input.policyName, path, policyId: awsId('ANPA', 17), arn, description: input.description, createDate: date, updateDate: date,
      defaultVersionId: 'v1', versions: [{versionId: 'v1', document: text, createDate: date}], nextVersion: 2,
    }
    this.state.policies[arn] = policy
    this.save()
    return policy
  }

  /** A customer-managed or AWS-managed policy by ARN (AWS-managed ones are returned as read-only records). */
  getPolicy(arn: string): ManagedPolicyRecord {
    const policy = this.state.policies[arn]
    if (policy) return policy
    const aws = awsManagedPolicy(arn)
    if (aws) {
      const date = '2015-02-06T18:39:46Z'
      return {name: aws.name, path: aws.path, policyId: aws.policyId, arn: aws.arn, description: aws.description, createDate: date, updateDate: date,
        defaultVersionId: 'v1', versions: [{versionId: 'v1', document: aws.document, createDate: date}], nextVersion: 2}
    }
    throw noSuchEntity(`Policy ${arn} does not exist or is not attachable.`)
  }

  getPolicyVersion(arn: string, versionId: string): PolicyVersionRecord & {isDefault: boolean} {
    const policy = this.getPolicy(arn)
    const version = policy.versions.find((v) => v.versionId === versionId)
    if (!version) throw noSuchEntity(`Policy ${arn} version ${versionId} does not exist or is not attachable.`)
    return {...version, isDefault: version.versionId === policy.defaultVersionId}
  }

  createPolicyVersion(arn: string, document: string | PolicyDocument, setAsDefault = false): PolicyVersionRecord {
    const policy = this.state.policies[arn]
    if (!policy) throw noSuchEntity(`Policy ${arn} does not exist or is not attachable.`)
    if (policy.versions.length >= 5) throw limitExceeded('A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.')
    const version: PolicyVersionRecord = {versionId: `v${policy.nextVersion++}`, document: validatePolicyDocument(document), createDate: now()}
    policy.versions.push(version)
    if (setAsDefault) policy.defaultVersionId = version.versionId
    policy.updateDate = version.createDate
    this.save()
    return version
  }

  /** Delete a non-default version (CloudFormation-style updates prune the oldest one before the 5-version limit). */
  deletePolicyVersion(arn: string, versionId: string): void {
    const policy = this.state.policies[arn]
    if (!policy) throw noSuchEntity(`Policy ${arn} does not exist or is not attachable.`)
    if (!policy.versions.some((v) => v.versionId === versionId)) throw noSuchEntity(`Policy ${arn} version ${versionId} does not exist or is not attachable.`)
    if (policy.defaultVersionId === versionId) throw deleteConflict('Cannot delete the default version of a policy.')
    policy.versions = policy.versions.filter((v) => v.versionId !== versionId)
    this.save()
  }

  defaultPolicyDocument(arn: string): string {
    const policy = this.getPolicy(arn)
    return policy.versions.find((v) => v.versionId === policy.defaultVersionId)!.document
  }

  /** Number of users, groups and roles the policy is attached to. */
  attachmentCount(arn: string): number {
    const holders: InlinePolicies[] = [...Object.values(this.state.users), ...Object.values(this.state.groups), ...Object.values(this.state.roles)]
    return holders.filter((h) => h.attachedPolicies.includes(arn)).length
  }

  listPolicies(options: {scope?: 'All' | 'AWS' | 'Local'; onlyAttached?: boolean; pathPrefix?: string} = {}): ManagedPolicyRecord[] {
    const scope = options.scope ?? 'All'
    const local = scope === 'AWS' ? [] : Object.values(this.state.policies)
    const aws = scope === 'Local' ? [] : AWS_MANAGED_POLICIES.map((p) => this.getPolicy(p.arn))
    return sortByName([...local, ...aws]
      .filter((p) => p.path.startsWith(options.pathPrefix ?? '/'))
      .filter((p) => !options.onlyAttached || this.attachmentCount(p.arn) > 0))
  }

  deletePolicy(arn: string): void {
    if (!this.state.policies[arn]) {
      if (awsManagedPolicy(arn)) throw validationError('Cannot delete an AWS managed policy.')
      throw noSuchEntity(`Policy ${arn} does not exist or is not attachable.`)
    }
    if (this.attachmentCount(arn) > 0) throw deleteConflict('Cannot delete a policy attached to entities.')
    delete this.state.policies[arn]
    this.save()
  }

  attachPolicy(kind: 'user' | 'group' | 'role', name: string, arn: string): void {
    const holder = this.holder(kind, name)
    this.getPolicy(arn) // NoSuchEntity when missing
    if (!holder.attachedPolicies.includes(arn)) {
      holder.attachedPolicies.push(arn)
      this.save()
    }
  }

  detachPolicy(kind: 'user' | 'group' | 'role', name: string, arn: string): void {
    const holder = this.holder(kind, name)
    if (!holder.attachedPolicies.includes(arn)) throw noSuchEntity(`Policy ${arn} was not found.`)
    holder.attachedPolicies = holder.attachedPolicies.filter((a) => a !== arn)
    this.save()
  }

  listAttachedPolicies(kind: 'user' | 'group' | 'role', name: string): Array<{policyName: string; policyArn: string}> {
    return this.holder(kind, name).attachedPolicies.map((arn) => ({policyName: this.getPolicy(arn).name, policyArn: arn}))
  }

  // -------------------------------------------------------------------------------------------------------------
  // access keys

  createAccessKey(userName: string): AccessKeyRecord {
    const user = this.getUser(userName)
    if (this.listAccessKeys(user.name).length >= MAX_KEYS_PER_USER) throw limitExceeded(`Cannot exceed quota for AccessKeysPerUser: ${MAX_KEYS_PER_USER}`)
    const key: AccessKeyRecord = {accessKeyId: awsId('AKIA', 16), secretAccessKey: newSecretAccessKey(), userName: user.name, status: 'Active', createDate: now()}
    this.state.accessKeys[key.accessKeyId] = key
    this.save()
    return key
  }

  listAccessKeys(userName: string): AccessKeyRecord[] {
    const user = this.getUser(userName)
    return Object.values(this.state.accessKeys).filter((k) => lc(k.userName) === lc(user.name)).sort((a, b) => a.createDate.localeCompare(b.createDate))
  }

  private ownedKey(accessKeyId: string, userName?: string): AccessKeyRecord {
    const key = this.state.accessKeys[accessKeyId]
    if (!key || (userName !== undefined && lc(key.userName) !== lc(this.getUser(userName).name)))
      throw noSuchEntity(`The Access Key with id ${accessKeyId} cannot be found.`)
    return key
  }

  updateAccessKey(accessKeyId: string, status: 'Active' | 'Inactive', userName?: string): void {
    if (status !== 'Active' && status !== 'Inactive') throw validationError(`1 validation error detected: Value '${String(status)}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]`)
    this.ownedKey(accessKeyId, userName).status = status
    this.save()
  }

  deleteAccessKey(accessKeyId: string, userName?: string): void {
    this.ownedKey(accessKeyId, userName)
    delete this.state.accessKeys[accessKeyId]
    this.save()
  }

  // -------------------------------------------------------------------------------------------------------------
  // STS sessions (temporary credentials)

  createSession(input: {roleName: string; sessionName: string; durationSeconds: number; policy?: string}): SessionRecord {
    const role = this.getRole(input.roleName)
    this.purgeExpiredSessions()
    const session: SessionRecord = {
      accessKeyId: awsId('ASIA', 16),
      secretAccessKey: newSecretAccessKey(),
      sessionToken: randomBytes(96).toString('base64'),
      roleName: role.name,
      sessionName: input.sessionName,
      expiration: new Date(Date.now() + input.durationSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      policy: input.policy,
    }
    this.state.sessions[session.accessKeyId] = session
    this.save()
    return session
  }

  private purgeExpiredSessions(): void {
    const t = Date.now()
    let changed = false
    for (const [id, s] of Object.entries(this.state.sessions)) {
      if (Date.parse(s.expiration) <= t) {
        delete this.state.sessions[id]
        changed = true
      }
    }
    if (changed) this.save()
  }

  // -------------------------------------------------------------------------------------------------------------
  // authentication and authorization support

  rootPrincipal(): Principal {
    return {arn: rootArn(this.accountId), accountId: this.accountId, type: 'root', accessKeyId: this.root.accessKeyId}
  }

  /** Who owns this access key id, with its secret (and session token for temporary credentials). */
  resolveAccessKey(accessKeyId: string): ResolvedKey | undefined {
    if (accessKeyId === this.root.accessKeyId)
      return {principal: this.rootPrincipal(), secretAccessKey: this.root.secretAccessKey, status: 'Active'}
    const key = this.state.accessKeys[accessKeyId]
    if (key) {
      const user = this.findUser(key.userName)
      if (!user) return undefined
      return {
        principal: {arn: user.arn, accountId: this.accountId, type: 'user', userName: user.name, accessKeyId},
        secretAccessKey: key.secretAccessKey,
        status: key.status,
      }
    }
    const session = this.state.sessions[accessKeyId]
    if (session) {
      const role = this.state.roles[lc(session.roleName)]
      if (!role) return undefined
      return {
        principal: {arn: assumedRoleArn(this.accountId, role.name, session.sessionName), accountId: this.accountId, type: 'assumed-role', roleName: role.name, accessKeyId},
        secretAccessKey: session.secretAccessKey,
        sessionToken: session.sessionToken,
        expiration: new Date(session.expiration),
        status: 'Active',
      }
    }
    return undefined
  }

  /** The STS session behind temporary credentials (for GetCallerIdentity and session policies). */
  session(accessKeyId: string): SessionRecord | undefined {
    return this.state.sessions[accessKeyId]
  }

  /** The policies (with their source) of a user (incl. its groups'), a group, or a role. */
  policySources(kind: 'user' | 'group' | 'role', name: string): PolicySource[] {
    const out: PolicySource[] = []
    const collect = (holder: InlinePolicies, type: 'user' | 'group' | 'role') => {
      for (const [policyName, text] of Object.entries(holder.inlinePolicies)) out.push({id: policyName, type, document: parsePolicy(text)})
      for (const arn of holder.attachedPolicies) {
        const policy = this.state.policies[arn] ?? (awsManagedPolicy(arn) ? this.getPolicy(arn) : undefined)
        if (!policy) continue
        out.push({id: policy.name, type: arn.startsWith('arn:aws:iam::aws:') ? 'aws-managed' : 'user-managed', document: parsePolicy(this.defaultPolicyDocument(arn))})
      }
    }
    if (kind === 'user') {
      const user = this.getUser(name)
      collect(user, 'user')
      for (const g of this.listGroupsForUser(user.name)) collect(g, 'group')
    } else if (kind === 'group') {
      collect(this.getGroup(name), 'group')
    } else {
      collect(this.getRole(name), 'role')
    }
    return out
  }

  /**
   * Identity-based policies of a principal: a user's inline + managed policies and its groups' ones; an assumed
   * role's role policies; none for root (root is allowed everything except explicit Deny, see evaluate's isRoot).
   */
  identityPoliciesFor(principal: Principal): PolicyDocument[] {
    if (principal.type === 'user' && principal.userName) return this.findUser(principal.userName) ? this.policySources('user', principal.userName).map((p) => p.document) : []
    if (principal.type === 'assumed-role' && principal.roleName) return this.state.roles[lc(principal.roleName)] ? this.policySources('role', principal.roleName).map((p) => p.document) : []
    return []
  }

  /** The session policy of temporary credentials, if AssumeRole was given one. */
  sessionPolicyFor(principal: Principal): PolicyDocument | undefined {
    if (principal.type !== 'assumed-role') return undefined
    const text = this.state.sessions[principal.accessKeyId]?.policy
    return text ? parsePolicy(text) : undefined
  }
}

/** Constant-time string comparison (session tokens). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

function sortByName<T extends {name: string}>(items: T[]): T[] {
  return items.sort((a, b) => a.name.localeCompare(b.name))
}
