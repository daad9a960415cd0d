import {evaluate, type PolicyDocument} from '../auth/policy.js'
import {QueryError, createQueryHandler, validationError, xmlMap, type QueryAction, type QueryHandler, type QueryRequest, type XmlValue} from '../query.js'
import {decide, requestContext} from './authz.js'
import {invalidInput} from './errors.js'
import {parsePolicy, validatePolicyDocument, type GroupRecord, type IamStore, type ManagedPolicyRecord, type RoleRecord, type Tag, type UserRecord} from './store.js'

/** The IAM query API of the local platform (namespace https://iam.amazonaws.com/doc/2010-05-08/). */
export const IAM_NAMESPACE = 'https://iam.amazonaws.com/doc/2010-05-08/'

// IAM returns policy documents URL-encoded (RFC 3986), like AWS: clients decodeURIComponent them.
const encodeDoc = (text: string) => encodeURIComponent(text)

const userXml = (u: UserRecord): XmlValue => ({
  Path: u.path, UserName: u.name, UserId: u.userId, Arn: u.arn, CreateDate: u.createDate, Tags: u.tags.length > 0 ? u.tags : undefined,
})
const groupXml = (g: GroupRecord): XmlValue => ({Path: g.path, GroupName: g.name, GroupId: g.groupId, Arn: g.arn, CreateDate: g.createDate})
const roleXml = (r: RoleRecord): XmlValue => ({
  Path: r.path, RoleName: r.name, RoleId: r.roleId, Arn: r.arn, CreateDate: r.createDate,
  AssumeRolePolicyDocument: encodeDoc(r.assumeRolePolicyDocument), Description: r.description, MaxSessionDuration: r.maxSessionDuration,
  Tags: r.tags.length > 0 ? r.tags : undefined,
})

/** Marker/MaxItems pagination like IAM's (the marker is an opaque offset). */
function page<T>(req: QueryRequest, items: T[]): {items: T[]; IsTruncated: boolean; Marker?: string} {
  const max = req.params.int('MaxItems') ?? 100
  if (max < 1 || max > 1000) throw validationError(`1 validation error detected: Value '${max}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000`)
  const marker = req.params.string('Marker')
  const start = marker ? Number.parseInt(marker, 10) : 0
  if (!Number.isInteger(start) || start < 0) throw invalidInput('Invalid Marker.')
  const slice = items.slice(start, start + max)
  const truncated = start + max < items.length
  return {items: slice, IsTruncated: truncated, Marker: truncated ? String(start + max) : undefined}
}

const tagsOf = (req: QueryRequest): Tag[] => req.params.tags('Tags')

export interface IamServiceOptions {
  iam: IamStore
}

/**
 * Build the IAM QueryHandler. Every action is authorized as `iam:<Action>` on the entity it targets against the
 * caller's identity policies (root: everything).
 */
export function createIamService({iam}: IamServiceOptions): QueryHandler {
  const userArn = (name: string) => iam.findUser(name)?.arn ?? `arn:aws:iam::${iam.accountId}:user/${name}`
  const groupArn = (name: string) => { try { return iam.getGroup(name).arn } catch { return `arn:aws:iam::${iam.accountId}:group/${name}` } }
  const roleArn = (name: string) => { try { return iam.getRole(name).arn } catch { return `arn:aws:iam::${iam.accountId}:role/${name}` } }

  /** The user an access-key action is about: UserName, else the calling user (like AWS). */
  const keyUser = (req: QueryRequest): string => {
    const name = req.params.string('UserName') || req.principal.userName
    if (!name) throw validationError('Must specify a userName when calling with non-User credentials')
    return name
  }

  /** The ARN `iam:<Action>` is checked against. */
  const resourceOf = (req: QueryRequest): string => {
    const p = req.params
    if (/Group/.test(req.action) && p.string('GroupName')) return groupArn(p.string('GroupName')!)
    if (p.string('RoleName')) return roleArn(p.string('RoleName')!)
    if (p.string('UserName')) return userArn(p.string('UserName')!)
    if (/AccessKey|^GetUser$/.test(req.action) && req.principal.userName) return userArn(req.principal.userName)
    if (p.string('PolicyArn')) return p.string('PolicyArn')!
    if (p.string('PolicySourceArn')) return p.string('PolicySourceArn')!
    return '*'
  }

  const authorized = (action: QueryAction): QueryAction => (req) => {
    const resource = resourceOf(req)
    if (decide(iam, req.principal, {action: `iam:${req.action}`, resource}) !== 'allowed')
      throw new QueryError('AccessDenied', `User: ${req.principal.arn} is not authorized to perform: iam:${req.action} on resource: ${resource}`, 403)
    return action(req)
  }

  const policyXml = (p: ManagedPolicyRecord): XmlValue => ({
    PolicyName: p.name, PolicyId: p.policyId, Arn: p.arn, Path: p.path, DefaultVersionId: p.defaultVersionId,
    AttachmentCount: iam.attachmentCount(p.arn), PermissionsBoundaryUsageCount: 0, IsAttachable: true, Description: p.description,
    CreateDate: p.createDate, UpdateDate: p.updateDate,
  })

  const inline = (kind: 'user' | 'group' | 'role') => {
    const nameParam = kind === 'user' ? 'UserName' : kind === 'group' ? 'GroupName' : 'RoleName'
    return {
      put: (req: QueryRequest) => { iam.putInlinePolicy(kind, req.params.required(nameParam), req.params.required('PolicyName'), req.params.required('PolicyDocument')) },
      get: (req: QueryRequest) => {
        const holder = req.params.required(nameParam)
        const p = iam.getInlinePolicy(kind, holder, req.params.required('PolicyName'))
        const canonical = kind === 'user' ? iam.getUser(holder).name : kind === 'group' ? iam.getGroup(holder).name : iam.getRole(holder).name
        return {[nameParam]: canonical, PolicyName: p.policyName, PolicyDocument: encodeDoc(p.document)}
      },
      delete: (req: QueryRequest) => { iam.deleteInlinePolicy(kind, req.params.required(nameParam), req.params.required('PolicyName')) },
      list: (req: QueryRequest) => {
        const {items, ...rest} = page(req, iam.listInlinePolicies(kind, req.params.required(nameParam)))
        return {PolicyNames: items, ...rest}
      },
      attach: (req: QueryRequest) => { iam.attachPolicy(kind, req.params.required(nameParam), req.params.required('PolicyArn')) },
      detach: (req: QueryRequest) => { iam.detachPolicy(kind, req.params.required(nameParam), req.params.required('PolicyArn')) },
      listAttached: (req: QueryRequest) => {
        const prefix = req.params.string('PathPrefix') ?? '/'
        const attached = iam.listAttachedPolicies(kind, req.params.required(nameParam)).filter((a) => iam.getPolicy(a.policyArn).path.startsWith(prefix))
        const {items, ...rest} = page(req, attached)
        return {AttachedPolicies: items.map((a) => ({PolicyName: a.policyName, PolicyArn: a.policyArn})), ...rest}
      },
    }
  }
  const user = inline('user')
  const group = inline('group')
  const role = inline('role')

  const simulatePrincipalPolicy: QueryAction = (req) => {
    const source = req.params.required('PolicySourceArn')
    const m = /^arn:aws:iam::(\d{12}):(user|group|role)\/(?:.*\/)?([^/]+)$/.exec(source)
    if (!m || m[1] !== iam.accountId) throw invalidInput(`Invalid PolicySourceArn: ${source}`)
    const kind = m[2] as 'user' | 'group' | 'role'
    const name = m[3]
    const sources = iam.policySources(kind, name)
    const extra = req.params.list('PolicyInputList').map((text, i) => ({id: `PolicyInputList.${i + 1}`, type: 'none' as const, document: parsePolicy(validatePolicyDocument(text))}))
    const identity = [...sources, ...extra]
    const resourcePolicyText = req.params.string('ResourcePolicy')
    const resourcePolicies: PolicyDocument[] = resourcePolicyText ? [parsePolicy(validatePolicyDocument(resourcePolicyText))] : []
    const actions = req.params.list('ActionNames')
    if (actions.length === 0) throw validationError("1 validation error detected: Value null at 'actionNames' failed to satisfy constraint: Member must not be null")
    const resources = req.params.list('ResourceArns')
    const callerArn = req.params.string('CallerArn') || (kind === 'group' ? undefined : source)
    const context = contextEntries(req)
    const principal = kind === 'user' ? {arn: source, accountId: iam.accountId, type: 'user' as const, userName: iam.getUser(name).name, accessKeyId: ''} : undefined
    const results: XmlValue[] = []
    for (const action of actions) {
      for (const resource of resources.length > 0 ? resources : ['*']) {
        const result = evaluate({
          identityPolicies: identity.map((s) => s.document),
          resourcePolicies,
          request: {action, resource, principalArn: callerArn ?? source, accountId: iam.accountId, context: requestContext(principal, context)},
        })
        results.push({
          EvalActionName: action,
          EvalResourceName: resource,
          EvalDecision: result.decision,
          MatchedStatements: result.matchedStatements.map((s) => {
            const src = s.source === 'resource' ? {id: 'ResourcePolicy', type: 'resource'} : identity[s.policyIndex] ?? {id: String(s.policyIndex), type: 'none'}
            return {SourcePolicyId: src.id, SourcePolicyType: src.type}
          }),
          MissingContextValues: [],
        })
      }
    }
    return {EvaluationResults: results, IsTruncated: false}
  }

  const actions: Record<string, QueryAction> = {
    // users
    CreateUser: (req) => ({User: userXml(iam.createUser({userName: req.params.required('UserName'), path: req.params.string('Path'), tags: tagsOf(req)}))}),
    GetUser: (req) => {
      const name = req.params.string('UserName') || req.principal.userName
      if (!name) throw validationError('Must specify userName when calling with non-User credentials')
      return {User: userXml(iam.getUser(name))}
    },
    ListUsers: (req) => {
      const {items, ...rest} = page(req, iam.listUsers({pathPrefix: req.params.string('PathPrefix')}))
      return {Users: items.map(userXml), ...rest}
    },
    DeleteUser: (req) => { iam.deleteUser(req.params.required('UserName')) },
    // groups
    CreateGroup: (req) => ({Group: groupXml(iam.createGroup({groupName: req.params.required('GroupName'), path: req.params.string('Path')}))}),
    GetGroup: (req) => {
      const g = iam.getGroup(req.params.required('GroupName'))
      const {items, ...rest} = page(req, iam.groupMembers(g.name))
      return {Group: groupXml(g), Users: items.map(userXml), ...rest}
    },
    ListGroups: (req) => {
      const {items, ...rest} = page(req, iam.listGroups({pathPrefix: req.params.string('PathPrefix')}))
      return {Groups: items.map(groupXml), ...rest}
    },
    DeleteGroup: (req) => { iam.deleteGroup(req.params.required('GroupName')) },
    AddUserToGroup: (req) => { iam.addUserToGroup(req.params.required('GroupName'), req.params.required('UserName')) },
    RemoveUserFromGroup: (req) => { iam.removeUserFromGroup(req.params.required('GroupName'), req.params.required('UserName')) },
    ListGroupsForUser: (req) => {
      const {items, ...rest} = page(req, iam.listGroupsForUser(req.params.required('UserName')))
      return {Groups: items.map(groupXml), ...rest}
    },
    // inline policies
    PutUserPolicy: user.put, GetUserPolicy: user.get, DeleteUserPolicy: user.delete, ListUserPolicies: user.list,
    PutGroupPolicy: group.put, GetGroupPolicy: group.get, DeleteGroupPolicy: group.delete, ListGroupPolicies: group.list,
    PutRolePolicy: role.put, GetRolePolicy: role.get, DeleteRolePolicy: role.delete, ListRolePolicies: role.list,
    // managed policies
    CreatePolicy: (req) => ({Policy: policyXml(iam.createPolicy({
      policyName: req.params.required('PolicyName'), path: req.params.string('Path'),
      policyDocument: req.params.required('PolicyDocument'), description: req.params.string('Description'),
    }))}),
    GetPolicy: (req) => ({Policy: policyXml(iam.getPolicy(req.params.required('PolicyArn')))}),
    GetPolicyVersion: (req) => {
      const v = iam.getPolicyVersion(req.params.required('PolicyArn'), req.params.required('VersionId'))
      return {PolicyVersion: {Document: encodeDoc(v.document), VersionId: v.versionId, IsDefaultVersion: v.isDefault, CreateDate: v.createDate}}
    },
    CreatePolicyVersion: (req) => {
      const arn = req.params.required('PolicyArn')
      const v = iam.createPolicyVersion(arn, req.params.required('PolicyDocument'), req.params.bool('SetAsDefault') ?? false)
      return {PolicyVersion: {VersionId: v.versionId, IsDefaultVersion: iam.getPolicy(arn).defaultVersionId === v.versionId, CreateDate: v.createDate}}
    },
    DeletePolicyVersion: (req) => { iam.deletePolicyVersion(req.params.required('PolicyArn'), req.params.required('VersionId')) },
    ListPolicyVersions: (req) => {
      const policy = iam.getPolicy(req.params.required('PolicyArn'))
      const {items, ...rest} = page(req, [...policy.versions].reverse())
      return {Versions: items.map((v) => ({VersionId: v.versionId, IsDefaultVersion: v.versionId === policy.defaultVersionId, CreateDate: v.createDate})), ...rest}
    },
    ListPolicies: (req) => {
      const scope = req.params.string('Scope') ?? 'All'
      if (!['All', 'AWS', 'Local'].includes(scope)) throw validationError(`Invalid Scope: ${scope}`)
      const all = iam.listPolicies({scope: scope as 'All' | 'AWS' | 'Local', onlyAttached: req.params.bool('OnlyAttached'), pathPrefix: req.params.string('PathPrefix')})
      const {items, ...rest} = page(req, all)
      return {Policies: items.map(policyXml), ...rest}
    },
    DeletePolicy: (req) => { iam.deletePolicy(req.params.required('PolicyArn')) },
    AttachUserPolicy: user.attach, DetachUserPolicy: user.detach, ListAttachedUserPolicies: user.listAttached,
    AttachGroupPolicy: group.attach, DetachGroupPolicy: group.detach, ListAttachedGroupPolicies: group.listAttached,
    AttachRolePolicy: role.attach, DetachRolePolicy: role.detach, ListAttachedRolePolicies: role.listAttached,
    // roles
    CreateRole: (req) => ({Role: roleXml(iam.createRole({
      roleName: req.params.required('RoleName'), path: req.params.string('Path'),
      assumeRolePolicyDocument: req.params.required('AssumeRolePolicyDocument'), description: req.params.string('Description'),
      maxSessionDuration: req.params.int('MaxSessionDuration'), tags: tagsOf(req),
    }))}),
    GetRole: (req) => ({Role: roleXml(iam.getRole(req.params.required('RoleName')))}),
    ListRoles: (req) => {
      const {items, ...rest} = page(req, iam.listRoles({pathPrefix: req.params.string('PathPrefix')}))
      return {Roles: items.map(roleXml), ...rest}
    },
    UpdateAssumeRolePolicy: (req) => { iam.updateAssumeRolePolicy(req.params.required('RoleName'), req.params.required('PolicyDocument')) },
    DeleteRole: (req) => { iam.deleteRole(req.params.required('RoleName')) },
    // access keys
    CreateAccessKey: (req) => {
      const k = iam.createAccessKey(keyUser(req))
      return {AccessKey: {UserName: k.userName, AccessKeyId: k.accessKeyId, Status: k.status, SecretAccessKey: k.secretAccessKey, CreateDate: k.createDate}}
    },
    ListAccessKeys: (req) => {
      const {items, ...rest} = page(req, iam.listAccessKeys(keyUser(req)))
      return {AccessKeyMetadata: items.map((k) => ({UserName: k.userName, AccessKeyId: k.accessKeyId, Status: k.status, CreateDate: k.createDate})), ...rest}
    },
    UpdateAccessKey: (req) => {
      const status = req.params.required('Status')
      iam.updateAccessKey(req.params.required('AccessKeyId'), status as 'Active' | 'Inactive', req.params.string('UserName') || req.principal.userName)
    },
    DeleteAccessKey: (req) => { iam.deleteAccessKey(req.params.required('AccessKeyId'), req.params.string('UserName') || req.principal.userName) },
    // simulation and summary
    SimulatePrincipalPolicy: simulatePrincipalPolicy,
    GetAccountSummary: () => ({SummaryMap: xmlMap({
      Users: iam.listUsers().length, Groups: iam.listGroups().length, Roles: iam.listRoles().length,
      Policies: iam.listPolicies({scope: 'Local'}).length, UsersQuota: 5000, GroupsQuota: 300, RolesQuota: 1000, PoliciesQuota: 1500,
      AccessKeysPerUserQuota: 2, GroupsPerUserQuota: 10, AttachedPoliciesPerUserQuota: 10, AttachedPoliciesPerGroupQuota: 10,
      AttachedPoliciesPerRoleQuota: 10, PolicyVersionsInUseQuota: 10000, ServerCertificates: 0, MFADevices: 0, AccountMFAEnabled: 0,
    })}),
  }

  const wrapped = Object.fromEntries(Object.entries(actions).map(([name, fn]) => [name, authorized(fn)]))
  return createQueryHandler({namespace: IAM_NAMESPACE, actions: wrapped})
}

/** SimulatePrincipalPolicy's ContextEntries as an evaluation context. */
function contextEntries(req: QueryRequest): Record<string, string | string[] | boolean | number> {
  const out: Record<string, string | string[] | boolean | number> = {}
  for (const e of req.params.structs('ContextEntries')) {
    const key = typeof e.ContextKeyName === 'string' ? e.ContextKeyName : undefined
    if (!key) continue
    const values = Array.isArray(e.ContextKeyValues) ? e.ContextKeyValues.filter((v): v is string => typeof v === 'string') : []
    const type = typeof e.ContextKeyType === 'string' ? e.ContextKeyType : 'string'
    if (type.endsWith('List')) out[key] = values
    else if (type === 'boolean') out[key] = values[0]?.toLowerCase() === 'true'
    else if (type === 'numeric') out[key] = Number(values[0])
    else out[key] = values[0] ?? ''
  }
  return out
}
