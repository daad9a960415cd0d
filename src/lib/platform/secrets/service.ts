import {randomInt, randomUUID} from 'node:crypto'
import {decide} from '../iam/authz.js'
import type {IamStore} from '../iam/store.js'
import {createJsonHandler, JsonError, type JsonHandler, type JsonRequest} from '../json.js'
import type {SecretStore, SecretVersion, StoredSecret} from './store.js'

/**
 * AWS Secrets Manager over awsJson1_1 (`X-Amz-Target: secretsmanager.<Operation>`, signing name `secretsmanager`):
 * CreateSecret, GetSecretValue, PutSecretValue, DescribeSecret, DeleteSecret. A secret's ARN ends in `-` and six
 * random characters, as on AWS. Every call is authorized with decide() as `secretsmanager:<Operation>` on the
 * secret's ARN; a secret that does not exist is checked as `…:secret:<name>-??????` (what a `<name>-*` policy
 * matches), so a caller without access learns nothing about which secrets exist.
 */
export interface SecretsServiceOptions {
  iam: IamStore
  store: SecretStore
}

const SUFFIX_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
const NAME = /^[a-zA-Z0-9/_+=.@-]{1,512}$/

const suffix = () => Array.from({length: 6}, () => SUFFIX_CHARS[randomInt(SUFFIX_CHARS.length)]).join('')
const secretArn = (req: JsonRequest, name: string, tail: string) => `arn:aws:secretsmanager:${req.region}:${req.accountId}:secret:${name}-${tail}`
const epoch = (iso: string) => Date.parse(iso) / 1000

function str(input: Record<string, unknown>, field: string): string | undefined {
  const v = input[field]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string') throw new JsonError('SerializationException', `${field} must be a string`)
  return v
}

function required(input: Record<string, unknown>, field: string): string {
  const v = str(input, field)
  if (v === undefined || v === '') throw new JsonError('InvalidParameterException', `You must provide a value for the ${field} parameter.`)
  return v
}

function authorize(iam: IamStore, req: JsonRequest, resource: string): void {
  const action = `secretsmanager:${req.operation}`
  if (decide(iam, req.principal, {action, resource}) !== 'allowed') {
    throw new JsonError('AccessDeniedException', `User: ${req.principal.arn} is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`)
  }
}

const notFound = () => new JsonError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.")

/** The secret named by `SecretId` (name or ARN), authorized; deleted-pending secrets refused unless `allowDeleted`. */
function resolve(iam: IamStore, store: SecretStore, req: JsonRequest, allowDeleted = false): StoredSecret {
  const id = required(req.input, 'SecretId')
  const secret = store.find(id)
  authorize(iam, req, secret?.arn ?? (id.startsWith('arn:') ? id : secretArn(req, id, '??????')))
  if (!secret) throw notFound()
  if (secret.deletionDate && !allowDeleted) {
    throw new JsonError('InvalidRequestException', `You can't perform this operation on the secret because it was marked for deletion.`)
  }
  return secret
}

function newVersion(req: JsonRequest): SecretVersion {
  const secretString = str(req.input, 'SecretString')
  const secretBinary = str(req.input, 'SecretBinary')
  if (secretString !== undefined && secretBinary !== undefined) throw new JsonError('InvalidParameterException', 'You can\'t specify both a binary secret value and a string secret value in the same secret.')
  const token = str(req.input, 'ClientRequestToken')
  return {
    versionId: token ?? randomUUID(),
    ...(secretString === undefined ? {} : {secretString}),
    ...(secretBinary === undefined ? {} : {secretBinary}),
    created: new Date().toISOString(),
    stages: ['AWSCURRENT'],
  }
}

/** Add `version` as AWSCURRENT; the previous current becomes AWSPREVIOUS; older versions lose their stages. */
function promote(secret: StoredSecret, version: SecretVersion): StoredSecret {
  const versions = secret.versions
    .filter((v) => v.versionId !== version.versionId)
    .map((v) => ({...v, stages: v.stages.includes('AWSCURRENT') ? ['AWSPREVIOUS'] : []}))
    .filter((v, i, all) => v.stages.length > 0 || all.length - i <= 100)
  return {...secret, versions: [...versions, version], lastChanged: version.created}
}

export function createSecretsService({iam, store}: SecretsServiceOptions): JsonHandler {
  return createJsonHandler({
    CreateSecret(req) {
      const name = required(req.input, 'Name')
      if (!NAME.test(name)) throw new JsonError('ValidationException', `Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!`)
      const existing = store.find(name)
      authorize(iam, req, existing?.arn ?? secretArn(req, name, '??????'))
      if (existing) {
        throw existing.deletionDate
          ? new JsonError('InvalidRequestException', `You can't create this secret because a secret with this name is already scheduled for deletion.`)
          : new JsonError('ResourceExistsException', `The operation failed because the secret ${name} already exists.`)
      }
      const now = new Date().toISOString()
      const description = str(req.input, 'Description')
      const secret: StoredSecret = {name, arn: secretArn(req, name, suffix()), ...(description === undefined ? {} : {description}), created: now, lastChanged: now, versions: []}
      const hasValue = req.input.SecretString !== undefined || req.input.SecretBinary !== undefined
      const version = hasValue ? newVersion(req) : undefined
      store.put(version ? promote(secret, version) : secret)
      return {ARN: secret.arn, Name: name, ...(version ? {VersionId: version.versionId} : {})}
    },

    GetSecretValue(req) {
      const secret = resolve(iam, store, req)
      const versionId = str(req.input, 'VersionId')
      const stage = str(req.input, 'VersionStage') ?? (versionId ? undefined : 'AWSCURRENT')
      const version = secret.versions.find((v) => (versionId === undefined || v.versionId === versionId) && (stage === undefined || v.stages.includes(stage)))
      if (!version) throw new JsonError('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for ${versionId ? `VersionId: ${versionId}` : `staging label: ${stage}`}`)
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: version.versionId,
        ...(version.secretString === undefined ? {} : {SecretString: version.secretString}),
        ...(version.secretBinary === undefined ? {} : {SecretBinary: version.secretBinary}),
        VersionStages: version.stages,
        CreatedDate: epoch(version.created),
      }
    },

    PutSecretValue(req) {
      const secret = resolve(iam, store, req)
      if (req.input.SecretString === undefined && req.input.SecretBinary === undefined) {
        throw new JsonError('InvalidRequestException', 'You must provide either SecretString or SecretBinary.')
      }
      const version = newVersion(req)
      store.put(promote(secret, version))
      return {ARN: secret.arn, Name: secret.name, VersionId: version.versionId, VersionStages: version.stages}
    },

    DescribeSecret(req) {
      const secret = resolve(iam, store, req, true)
      return {
        ARN: secret.arn,
        Name: secret.name,
        ...(secret.description === undefined ? {} : {Description: secret.description}),
        CreatedDate: epoch(secret.created),
        LastChangedDate: epoch(secret.lastChanged),
        ...(secret.deletionDate ? {DeletedDate: epoch(secret.deletionDate)} : {}),
        VersionIdsToStages: Object.fromEntries(secret.versions.filter((v) => v.stages.length > 0).map((v) => [v.versionId, v.stages])),
      }
    },

    DeleteSecret(req) {
      const secret = resolve(iam, store, req, true)
      const force = req.input.ForceDeleteWithoutRecovery === true
      const days = typeof req.input.RecoveryWindowInDays === 'number' ? req.input.RecoveryWindowInDays : 30
      if (force && req.input.RecoveryWindowInDays !== undefined) throw new JsonError('InvalidParameterException', 'You can\'t use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.')
      if (!force && (days < 7 || days > 30)) throw new JsonError('InvalidParameterException', 'The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).')
      const deletionDate = new Date(Date.now() + (force ? 0 : days * 86_400_000)).toISOString()
      if (force) store.delete(secret.name)
      else store.put({...secret, deletionDate: secret.deletionDate ?? deletionDate})
      return {ARN: secret.arn, Name: secret.name, DeletionDate: epoch(secret.deletionDate ?? deletionDate)}
    },
  })
}
