/**
 * IAM resource types on the platform's IamStore: User, Group, Role, Policy (inline), ManagedPolicy, AccessKey,
 * UserToGroupAddition. Names not given are generated like CloudFormation does.
 */
import type {IamStore} from '../../iam/store.js'
import type {Json} from '../template.js'
import {generatedName, randomSuffix} from './names.js'
import {ProviderError, type Properties, type ProviderContext, type ResourceProvider} from './types.js'
import {ignoreNotFound, policyDoc, requireStr, same, str, strList, tagList} from './util.js'

export type IamDeps = Pick<IamStore,
  | 'createUser' | 'getUser' | 'deleteUser' | 'createGroup' | 'getGroup' | 'deleteGroup' | 'addUserToGroup' | 'removeUserFromGroup'
  | 'createRole' | 'getRole' | 'deleteRole' | 'updateAssumeRolePolicy' | 'putInlinePolicy' | 'deleteInlinePolicy' | 'listInlinePolicies'
  | 'createPolicy' | 'getPolicy' | 'createPolicyVersion' | 'deletePolicy' | 'attachPolicy' | 'detachPolicy' | 'listAttachedPolicies'
  | 'createAccessKey' | 'updateAccessKey' | 'deleteAccessKey'>

type Kind = 'user' | 'group' | 'role'

interface InlinePolicy {
  name: string
  document: string
}

function inlinePolicies(type: string, v: Json | undefined): InlinePolicy[] {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) throw new ProviderError(`Policies of ${type} must be a list`)
  return v.map((p) => {
    const o = (p ?? {}) as Record<string, Json>
    const name = str(o.PolicyName)
    if (!name) throw new ProviderError(`Every Policies entry of ${type} needs a PolicyName`)
    return {name, document: policyDoc(type, o.PolicyDocument)}
  })
}

/** Bring inline policies and managed-policy attachments of one principal from `old` to `next` props. */
async function syncPolicies(iam: IamDeps, kind: Kind, name: string, type: string, oldProps: Properties, newProps: Properties): Promise<void> {
  const oldInline = inlinePolicies(type, oldProps.Policies)
  const newInline = inlinePolicies(type, newProps.Policies)
  for (const p of oldInline) if (!newInline.some((n) => n.name === p.name)) await ignoreNotFound(() => iam.deleteInlinePolicy(kind, name, p.name))
  for (const p of newInline) {
    const before = oldInline.find((o) => o.name === p.name)
    if (!before || before.document !== p.document) iam.putInlinePolicy(kind, name, p.name, p.document)
  }
  const oldArns = strList(oldProps.ManagedPolicyArns)
  const newArns = strList(newProps.ManagedPolicyArns)
  for (const arn of oldArns) if (!newArns.includes(arn)) await ignoreNotFound(() => iam.detachPolicy(kind, name, arn))
  for (const arn of newArns) if (!oldArns.includes(arn)) iam.attachPolicy(kind, name, arn)
}

/** Remove everything attached to a principal before deleting it (only what the template put there). */
async function clearPolicies(iam: IamDeps, kind: Kind, name: string, type: string, props: Properties): Promise<void> {
  for (const p of inlinePolicies(type, props.Policies)) await ignoreNotFound(() => iam.deleteInlinePolicy(kind, name, p.name))
  for (const arn of strList(props.ManagedPolicyArns)) await ignoreNotFound(() => iam.detachPolicy(kind, name, arn))
}

const unsupported = (type: string, props: Properties, names: string[]) => {
  const found = names.filter((n) => props[n] !== undefined)
  if (found.length > 0) throw new ProviderError(`${type} property ${found[0]} is not supported on the local platform`)
}

export function iamProviders(iam: IamDeps): Record<string, ResourceProvider> {
  const nameOf = (ctx: ProviderContext, props: Properties, prop: string, max: number) => str(props[prop]) ?? generatedName(ctx, {maxLength: max})

  const user: ResourceProvider = {
    attributes: ['Arn'],
    async create(ctx, _id, props) {
      unsupported('AWS::IAM::User', props, ['PermissionsBoundary'])
      const name = nameOf(ctx, props, 'UserName', 64)
      const record = iam.createUser({userName: name, path: str(props.Path), tags: tagList(props.Tags)})
      try {
        for (const g of strList(props.Groups)) iam.addUserToGroup(g, name)
        await syncPolicies(iam, 'user', name, 'AWS::IAM::User', {}, props)
      } catch (error) {
        await this.delete(ctx, name, props).catch(() => {})
        throw error
      }
      return {physicalId: name, attributes: {Arn: record.arn}}
    },
    async update(_ctx, _id, name, oldProps, newProps) {
      unsupported('AWS::IAM::User', newProps, ['PermissionsBoundary'])
      if ((str(oldProps.Path) ?? '/') !== (str(newProps.Path) ?? '/')) {
        throw new ProviderError('Changing the Path of an existing AWS::IAM::User is not supported on the local platform')
      }
      const oldGroups = strList(oldProps.Groups)
      const newGroups = strList(newProps.Groups)
      for (const g of oldGroups) if (!newGroups.includes(g)) await ignoreNotFound(() => iam.removeUserFromGroup(g, name))
      for (const g of newGroups) if (!oldGroups.includes(g)) iam.addUserToGroup(g, name)
      await syncPolicies(iam, 'user', name, 'AWS::IAM::User', oldProps, newProps)
      return {attributes: {Arn: iam.getUser(name).arn}}
    },
    async delete(_ctx, name, props) {
      for (const g of strList(props.Groups)) await ignoreNotFound(() => iam.removeUserFromGroup(g, name))
      await ignoreNotFound(() => clearPolicies(iam, 'user', name, 'AWS::IAM::User', props))
      await ignoreNotFound(() => iam.deleteUser(name))
    },
  }

  const group: ResourceProvider = {
    attributes: ['Arn'],
    async create(ctx, _id, props) {
      const name = nameOf(ctx, props, 'GroupName', 128)
      const record = iam.createGroup({groupName: name, path: str(props.Path)})
      try {
        await syncPolicies(iam, 'group', name, 'AWS::IAM::Group', {}, props)
      } catch (error) {
        await this.delete(ctx, name, props).catch(() => {})
        throw error
      }
      return {physicalId: name, attributes: {Arn: record.arn}}
    },
    async update(_ctx, _id, name, oldProps, newProps) {
      if ((str(oldProps.Path) ?? '/') !== (str(newProps.Path) ?? '/')) {
        throw new ProviderError('Changing the Path of an existing AWS::IAM::Group is not supported on the local platform')
      }
      await syncPolicies(iam, 'group', name, 'AWS::IAM::Group', oldProps, newProps)
      return {attributes: {Arn: iam.getGroup(name).arn}}
    },
    async delete(_ctx, name, props) {
      await ignoreNotFound(() => clearPolicies(iam, 'group', name, 'AWS::IAM::Group', props))
      await ignoreNotFound(() => iam.deleteGroup(name))
    },
  }

  const role: ResourceProvider = {
    attributes: ['Arn', 'RoleId'],
    async create(ctx, _id, props) {
      unsupported('AWS::IAM::Role', props, ['PermissionsBoundary'])
      const name = nameOf(ctx, props, 'RoleName', 64)
      const record = iam.createRole({
        roleName: name, path: str(props.Path), assumeRolePolicyDocument: policyDoc('AWS::IAM::Role', props.AssumeRolePolicyDocument, 'AssumeRolePolicyDocument'),
        description: str(props.Description), maxSessionDuration: props.MaxSessionDuration === undefined ? undefined : Number(props.MaxSessionDuration),
        tags: tagList(props.Tags),
      })
      try {
        await syncPolicies(iam, 'role', name, 'AWS::IAM::Role', {}, props)
      } catch (error) {
        await this.delete(ctx, name, props).catch(() => {})
        throw error
      }
      return {physicalId: name, attributes: {Arn: record.arn, RoleId: record.roleId}}
    },
    async update(_ctx, _id, name, oldProps, newProps) {
      unsupported('AWS::IAM::Role', newProps, ['PermissionsBoundary'])
      if (!same(oldProps.AssumeRolePolicyDocument, newProps.AssumeRolePolicyDocument)) {
        iam.updateAssumeRolePolicy(name, policyDoc('AWS::IAM::Role', newProps.AssumeRolePolicyDocument, 'AssumeRolePolicyDocument'))
      }
      await syncPolicies(iam, 'role', name, 'AWS::IAM::Role', oldProps, newProps)
      const r = iam.getRole(name)
      return {attributes: {Arn: r.arn, RoleId: r.roleId}}
    },
    async delete(_ctx, name, props) {
      await ignoreNotFound(() => clearPolicies(iam, 'role', name, 'AWS::IAM::Role', props))
      await ignoreNotFound(() => iam.deleteRole(name))
    },
  }

  const targets = (props: Properties): Array<[Kind, string]> => [
    ...strList(props.Users).map((n): [Kind, string] => ['user', n]),
    ...strList(props.Groups).map((n): [Kind, string] => ['group', n]),
    ...strList(props.Roles).map((n): [Kind, string] => ['role', n]),
  ]

  const inlinePolicy: ResourceProvider = {
    attributes: ['Id'],
    async create(ctx, _id, props) {
      const name = requireStr('AWS::IAM::Policy', props, 'PolicyName')
      const doc = policyDoc('AWS::IAM::Policy', props.PolicyDocument)
      const list = targets(props)
      if (list.length === 0) throw new ProviderError('At least one of [Groups,Roles,Users] must be non-empty (AWS::IAM::Policy)')
      for (const [kind, holder] of list) iam.putInlinePolicy(kind, holder, name, doc)
      const id = `${ctx.stackName.slice(0, 5)}-${name.slice(0, 5)}-${randomSuffix(12)}`
      return {physicalId: id, attributes: {Id: id}}
    },
    async update(_ctx, _id, physicalId, oldProps, newProps) {
      const oldName = str(oldProps.PolicyName) as string
      const name = requireStr('AWS::IAM::Policy', newProps, 'PolicyName')
      const doc = policyDoc('AWS::IAM::Policy', newProps.PolicyDocument)
      const next = targets(newProps)
      for (const [kind, holder] of targets(oldProps)) {
        if (oldName !== name || !next.some(([k, h]) => k === kind && h === holder)) await ignoreNotFound(() => iam.deleteInlinePolicy(kind, holder, oldName))
      }
      for (const [kind, holder] of next) iam.putInlinePolicy(kind, holder, name, doc)
      return {attributes: {Id: physicalId}}
    },
    async delete(_ctx, _physicalId, props) {
      const name = str(props.PolicyName) as string
      for (const [kind, holder] of targets(props)) await ignoreNotFound(() => iam.deleteInlinePolicy(kind, holder, name))
    },
  }

  const managedPolicy: ResourceProvider = {
    attributes: ['PolicyArn', 'PolicyId', 'DefaultVersionId', 'CreateDate', 'UpdateDate', 'IsAttachable'],
    async create(ctx, _id, props) {
      const name = nameOf(ctx, props, 'ManagedPolicyName', 128)
      const record = iam.createPolicy({policyName: name, path: str(props.Path), policyDocument: policyDoc('AWS::IAM::ManagedPolicy', props.PolicyDocument), description: str(props.Description)})
      try {
        for (const [kind, holder] of targets(props)) iam.attachPolicy(kind, holder, record.arn)
      } catch (error) {
        await this.delete(ctx, record.arn, props).catch(() => {})
        throw error
      }
      return {physicalId: record.arn, attributes: managedAttributes(iam, record.arn)}
    },
    async update(_ctx, _id, arn, oldProps, newProps) {
      if (!same(oldProps.PolicyDocument, newProps.PolicyDocument)) {
        iam.createPolicyVersion(arn, policyDoc('AWS::IAM::ManagedPolicy', newProps.PolicyDocument), true)
      }
      const next = targets(newProps)
      const prev = targets(oldProps)
      for (const [kind, holder] of prev) if (!next.some(([k, h]) => k === kind && h === holder)) await ignoreNotFound(() => iam.detachPolicy(kind, holder, arn))
      for (const [kind, holder] of next) if (!prev.some(([k, h]) => k === kind && h === holder)) iam.attachPolicy(kind, holder, arn)
      return {attributes: managedAttributes(iam, arn)}
    },
    async delete(_ctx, arn, props) {
      for (const [kind, holder] of targets(props)) await ignoreNotFound(() => iam.detachPolicy(kind, holder, arn))
      await ignoreNotFound(() => iam.deletePolicy(arn))
    },
  }

  const accessKey: ResourceProvider = {
    attributes: ['SecretAccessKey'],
    secretAttributes: ['SecretAccessKey'],
    async create(_ctx, _id, props) {
      const userName = requireStr('AWS::IAM::AccessKey', props, 'UserName')
      const key = iam.createAccessKey(userName)
      if (str(props.Status) === 'Inactive') iam.updateAccessKey(key.accessKeyId, 'Inactive', userName)
      return {physicalId: key.accessKeyId, attributes: {SecretAccessKey: key.secretAccessKey}}
    },
    async update(_ctx, _id, physicalId, oldProps, newProps) {
      const status = str(newProps.Status) ?? 'Active'
      if (status !== (str(oldProps.Status) ?? 'Active')) {
        if (status !== 'Active' && status !== 'Inactive') throw new ProviderError(`Invalid Status ${status} (Active or Inactive)`)
        iam.updateAccessKey(physicalId, status, str(newProps.UserName))
      }
      // the secret is only known at creation: the engine keeps the attribute from the create
      return {attributes: {}}
    },
    async delete(_ctx, physicalId, props) {
      await ignoreNotFound(() => iam.deleteAccessKey(physicalId, str(props.UserName)))
    },
  }

  const userToGroup: ResourceProvider = {
    attributes: [],
    async create(ctx, _id, props) {
      const groupName = requireStr('AWS::IAM::UserToGroupAddition', props, 'GroupName')
      const users = strList(props.Users)
      if (users.length === 0) throw new ProviderError('Property Users is required for AWS::IAM::UserToGroupAddition')
      for (const u of users) iam.addUserToGroup(groupName, u)
      return {physicalId: `${ctx.stackName.slice(0, 8)}-${ctx.logicalId.slice(0, 8)}-${randomSuffix(12)}`, attributes: {}}
    },
    async update(_ctx, _id, _physicalId, oldProps, newProps) {
      const oldGroup = str(oldProps.GroupName) as string
      const newGroup = requireStr('AWS::IAM::UserToGroupAddition', newProps, 'GroupName')
      const oldUsers = strList(oldProps.Users)
      const newUsers = strList(newProps.Users)
      for (const u of oldUsers) if (oldGroup !== newGroup || !newUsers.includes(u)) await ignoreNotFound(() => iam.removeUserFromGroup(oldGroup, u))
      for (const u of newUsers) if (oldGroup !== newGroup || !oldUsers.includes(u)) iam.addUserToGroup(newGroup, u)
      return {attributes: {}}
    },
    async delete(_ctx, _physicalId, props) {
      const groupName = str(props.GroupName) as string
      for (const u of strList(props.Users)) await ignoreNotFound(() => iam.removeUserFromGroup(groupName, u))
    },
  }

  return {
    'AWS::IAM::User': user, 'AWS::IAM::Group': group, 'AWS::IAM::Role': role, 'AWS::IAM::Policy': inlinePolicy,
    'AWS::IAM::ManagedPolicy': managedPolicy, 'AWS::IAM::AccessKey': accessKey, 'AWS::IAM::UserToGroupAddition': userToGroup,
  }
}

function managedAttributes(iam: IamDeps, arn: string) {
  const p = iam.getPolicy(arn)
  return {PolicyArn: p.arn, PolicyId: p.policyId, DefaultVersionId: p.defaultVersionId, CreateDate: p.createDate, UpdateDate: p.updateDate, IsAttachable: 'true'}
}
