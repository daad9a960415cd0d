import {createHash} from 'node:crypto'
import type {IncomingMessage} from 'node:http'

import {type ExtDeps, type ExtHandler, type ExtRequest, headerOf, requireObject, s3Err} from './extension.js'
import {asArray, parseXml, text} from './xml.js'

/**
 * Access control lists as S3 keeps them for a bucket with ACLs enabled: canned ACLs (x-amz-acl), grant headers
 * (x-amz-grant-*) and AccessControlPolicy XML bodies, on buckets (PutBucketAcl, CreateBucket) and objects
 * (PutObjectAcl, PutObject, CopyObject, CreateMultipartUpload), plus the bucket's ownership controls
 * (BucketOwnerEnforced disables ACLs: writes other than bucket-owner-full-control → AccessControlListNotSupported).
 * ACLs are stored and reported; access is decided by IAM and bucket policies only (see docs/local-platform.md).
 */

export type AclPermission = 'FULL_CONTROL' | 'WRITE' | 'WRITE_ACP' | 'READ' | 'READ_ACP'
export type AclGrantee =
  | {type: 'CanonicalUser'; id: string; displayName?: string}
  | {type: 'Group'; uri: string}
  | {type: 'AmazonCustomerByEmail'; email: string}
export interface AclGrant {
  grantee: AclGrantee
  permission: AclPermission
}

const XSI = 'http://www.w3.org/2001/XMLSchema-instance'
const GROUPS = {
  AllUsers: 'http://acs.amazonaws.com/groups/global/AllUsers',
  AuthenticatedUsers: 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers',
  LogDelivery: 'http://acs.amazonaws.com/groups/s3/LogDelivery',
}
const PERMISSIONS = new Set<string>(['FULL_CONTROL', 'WRITE', 'WRITE_ACP', 'READ', 'READ_ACP'])
const GRANT_HEADERS: Array<[string, AclPermission]> = [
  ['x-amz-grant-full-control', 'FULL_CONTROL'],
  ['x-amz-grant-read', 'READ'],
  ['x-amz-grant-read-acp', 'READ_ACP'],
  ['x-amz-grant-write', 'WRITE'],
  ['x-amz-grant-write-acp', 'WRITE_ACP'],
]
export const OWNERSHIP_VALUES = new Set(['BucketOwnerEnforced', 'BucketOwnerPreferred', 'ObjectWriter'])

/** The account's canonical user (the owner of every bucket and object), as ListBuckets reports it. */
export const owner = (accountId: string) => ({ID: createHash('sha256').update(accountId).digest('hex'), DisplayName: 'cape'})

const ownerGrant = (accountId: string): AclGrant => ({
  grantee: {type: 'CanonicalUser', id: owner(accountId).ID, displayName: 'cape'},
  permission: 'FULL_CONTROL',
})

const group = (uri: string, permission: AclPermission): AclGrant => ({grantee: {type: 'Group', uri}, permission})

/** The grants of a canned ACL; InvalidArgument for an unknown name. */
export function cannedAcl(name: string, accountId: string): AclGrant[] {
  const own = ownerGrant(accountId)
  switch (name) {
    case 'private':
    case 'bucket-owner-read':
    case 'bucket-owner-full-control':
    case 'aws-exec-read':
      return [own]
    case 'public-read':
      return [own, group(GROUPS.AllUsers, 'READ')]
    case 'public-read-write':
      return [own, group(GROUPS.AllUsers, 'READ'), group(GROUPS.AllUsers, 'WRITE')]
    case 'authenticated-read':
      return [own, group(GROUPS.AuthenticatedUsers, 'READ')]
    case 'log-delivery-write':
      return [own, group(GROUPS.LogDelivery, 'WRITE'), group(GROUPS.LogDelivery, 'READ_ACP')]
    default:
      throw s3Err('InvalidArgument', `Invalid canned ACL: ${name}`, 400, {ArgumentName: 'x-amz-acl', ArgumentValue: name})
  }
}

/** A grantee as given in a grant header (id=, uri=, emailAddress=) or an XML Grantee, validated. */
function grantee(kind: string, value: string, accountId: string): AclGrantee {
  switch (kind.toLowerCase()) {
    case 'id': {
      if (!/^[0-9a-f]{64}$/.test(value)) throw s3Err('InvalidArgument', 'Invalid id', 400, {ArgumentName: 'CanonicalUser/ID', ArgumentValue: value})
      return value === owner(accountId).ID ? {type: 'CanonicalUser', id: value, displayName: 'cape'} : {type: 'CanonicalUser', id: value}
    }
    case 'uri': {
      if (!Object.values(GROUPS).includes(value)) throw s3Err('InvalidArgument', 'Invalid group uri', 400, {ArgumentName: 'Group/URI', ArgumentValue: value})
      return {type: 'Group', uri: value}
    }
    case 'emailaddress':
      throw s3Err('UnresolvableGrantByEmailAddress', 'The e-mail address you provided does not match any account on record.', 400, {EmailAddress: value})
    default:
      throw s3Err('InvalidArgument', 'Argument format not recognized', 400, {ArgumentName: 'x-amz-grant', ArgumentValue: `${kind}=${value}`})
  }
}

/** `id="…", uri="…"` → grantees. */
function parseGrantHeader(value: string, permission: AclPermission, accountId: string): AclGrant[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((item) => {
      const eq = item.indexOf('=')
      if (eq === -1) throw s3Err('InvalidArgument', 'Argument format not recognized', 400, {ArgumentName: 'x-amz-grant', ArgumentValue: item})
      const raw = item.slice(eq + 1).trim()
      return {grantee: grantee(item.slice(0, eq).trim(), raw.replace(/^"(.*)"$/, '$1'), accountId), permission}
    })
}

/**
 * The ACL a request's headers set (x-amz-acl or x-amz-grant-*), undefined when they set none. Both at once is
 * InvalidRequest, as on S3.
 */
export function aclFromHeaders(req: IncomingMessage, accountId: string): AclGrant[] | undefined {
  const canned = headerOf(req, 'x-amz-acl')
  const grants = GRANT_HEADERS.flatMap(([name, permission]) => {
    const v = headerOf(req, name)
    return v === undefined ? [] : parseGrantHeader(v, permission, accountId)
  })
  const anyGrantHeader = GRANT_HEADERS.some(([name]) => headerOf(req, name) !== undefined)
  if (canned !== undefined && anyGrantHeader) {
    throw s3Err('InvalidRequest', 'Specifying both Canned ACLs and Header Grants is not allowed', 400)
  }
  if (canned !== undefined) return cannedAcl(canned.trim(), accountId)
  return anyGrantHeader ? grants : undefined
}

const malformedAcl = () =>
  s3Err('MalformedACLError', 'The XML you provided was not well-formed or did not validate against our published schema', 400)

/** An AccessControlPolicy body → grants (the grantee's kind is told by its ID / URI / EmailAddress element). */
export function parseAclXml(body: string, accountId: string): AclGrant[] {
  const root = parseXml(body).AccessControlPolicy
  if (root === undefined || root === null || typeof root !== 'object') throw malformedAcl()
  const ownerId = text(root.Owner?.ID)
  if (ownerId !== '' && ownerId !== owner(accountId).ID) throw s3Err('AccessDenied', 'Access Denied', 403)
  return asArray<any>(root.AccessControlList?.Grant).map((g) => {
    const permission = text(g?.Permission)
    if (!PERMISSIONS.has(permission)) throw malformedAcl()
    const who = g?.Grantee ?? {}
    if (who.ID !== undefined) return {grantee: grantee('id', text(who.ID), accountId), permission: permission as AclPermission}
    if (who.URI !== undefined) return {grantee: grantee('uri', text(who.URI), accountId), permission: permission as AclPermission}
    if (who.EmailAddress !== undefined) return {grantee: grantee('emailAddress', text(who.EmailAddress), accountId), permission: permission as AclPermission}
    throw malformedAcl()
  })
}

/** The AccessControlPolicy XML body for grants. */
export function aclXmlBody(grants: AclGrant[], accountId: string): Record<string, unknown> {
  return {
    Owner: owner(accountId),
    AccessControlList: {
      Grant: grants.map((g) => {
        const base = {'@_xmlns:xsi': XSI, '@_xsi:type': g.grantee.type}
        const who =
          g.grantee.type === 'CanonicalUser'
            ? {...base, ID: g.grantee.id, ...(g.grantee.displayName ? {DisplayName: g.grantee.displayName} : {})}
            : g.grantee.type === 'Group'
              ? {...base, URI: g.grantee.uri}
              : {...base, EmailAddress: g.grantee.email}
        return {Grantee: who, Permission: g.permission}
      }),
    },
  }
}

const ownerOnly = (grants: AclGrant[], accountId: string) =>
  grants.length === 1 && grants[0].permission === 'FULL_CONTROL' && grants[0].grantee.type === 'CanonicalUser' && grants[0].grantee.id === owner(accountId).ID

/** BucketOwnerEnforced: ACLs are disabled, only bucket-owner-full-control (or its equivalent) may be written. */
export function checkAclAllowed(deps: ExtDeps, bucket: string, grants: AclGrant[] | undefined): void {
  if (grants === undefined || deps.configs.get(bucket).ownership !== 'BucketOwnerEnforced') return
  if (!ownerOnly(grants, deps.accountId)) throw s3Err('AccessControlListNotSupported', 'The bucket does not allow ACLs', 400)
}

/** The ACL a Put*Acl request sets: its headers, or its XML body; MissingSecurityHeader when neither. */
async function requestedAcl(deps: ExtDeps, r: ExtRequest): Promise<AclGrant[]> {
  const fromHeaders = aclFromHeaders(r.ctx.req, deps.accountId)
  const body = await deps.readBody(r.ctx.req)
  if (fromHeaders !== undefined) {
    if (body.trim() !== '') throw s3Err('UnexpectedContent', 'This request does not support content', 400)
    return fromHeaders
  }
  if (body.trim() === '') throw s3Err('MissingSecurityHeader', 'Your request was missing a required header', 400, {MissingHeaderName: 'x-amz-acl'})
  return parseAclXml(body, deps.accountId)
}

/** The reported ACL: the stored one, or owner FULL_CONTROL (always that when ACLs are disabled). */
const effective = (deps: ExtDeps, bucket: string, stored: AclGrant[] | undefined): AclGrant[] =>
  deps.configs.get(bucket).ownership === 'BucketOwnerEnforced' || stored === undefined ? [ownerGrant(deps.accountId)] : stored

export function aclHandlers(deps: ExtDeps): Record<string, ExtHandler> {
  const done = (r: ExtRequest, status = 200) => {
    r.ctx.status = status
    r.ctx.body = ''
  }
  return {
    async GetBucketAcl(r) {
      const bucket = await deps.requireBucket(r.bucket)
      deps.sendXml(r.ctx, 'AccessControlPolicy', aclXmlBody(effective(deps, bucket, deps.configs.get(bucket).acl), deps.accountId))
    },
    async PutBucketAcl(r) {
      const bucket = await deps.requireBucket(r.bucket)
      const grants = await requestedAcl(deps, r)
      checkAclAllowed(deps, bucket, grants)
      await deps.configs.set(bucket, 'acl', grants)
      done(r)
    },
    async GetObjectAcl(r) {
      const {bucket, key} = await requireObject(deps, r)
      const stored = (await deps.extras.get(bucket, key)).acl
      deps.sendXml(r.ctx, 'AccessControlPolicy', aclXmlBody(effective(deps, bucket, stored), deps.accountId))
    },
    async PutObjectAcl(r) {
      const {bucket, key} = await requireObject(deps, r)
      const grants = await requestedAcl(deps, r)
      checkAclAllowed(deps, bucket, grants)
      await deps.extras.update(bucket, key, {acl: grants})
      done(r)
    },
    async GetBucketOwnershipControls(r) {
      const bucket = await deps.requireBucket(r.bucket)
      const ownership = deps.configs.get(bucket).ownership
      if (!ownership) throw s3Err('OwnershipControlsNotFoundError', 'The bucket ownership controls were not found', 404, {BucketName: bucket})
      deps.sendXml(r.ctx, 'OwnershipControls', {Rule: {ObjectOwnership: ownership}})
    },
    async PutBucketOwnershipControls(r) {
      const bucket = await deps.requireBucket(r.bucket)
      const rules = asArray<any>(parseXml(await deps.readBody(r.ctx.req)).OwnershipControls?.Rule)
      const value = rules.length === 1 ? text(rules[0]?.ObjectOwnership) : ''
      if (!OWNERSHIP_VALUES.has(value)) throw s3Err('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.', 400)
      const acl = deps.configs.get(bucket).acl
      if (value === 'BucketOwnerEnforced' && acl !== undefined && !ownerOnly(acl, deps.accountId)) {
        throw s3Err('InvalidBucketAclWithObjectOwnership', "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting", 400)
      }
      await deps.configs.set(bucket, 'ownership', value)
      done(r)
    },
    async DeleteBucketOwnershipControls(r) {
      const bucket = await deps.requireBucket(r.bucket)
      await deps.configs.set(bucket, 'ownership', undefined)
      done(r, 204)
    },
  }
}
