import {createHash} from 'node:crypto'
import {decide} from '../iam/authz.js'
import type {IamStore} from '../iam/store.js'
import {createJsonHandler, JsonError, type JsonHandler, type JsonRequest} from '../json.js'
import type {ParameterStore, StoredParameter} from './store.js'

/**
 * SSM Parameter Store over awsJson1_1 (`X-Amz-Target: AmazonSSM.<Operation>`, signing name `ssm`): GetParameter,
 * PutParameter (Overwrite), GetParametersByPath, DeleteParameter; String, StringList and SecureString (kept in the
 * platform's 0600 state file; answered as an opaque token unless WithDecryption). Every call is authorized with
 * decide() as `ssm:<Operation>` on `arn:aws:ssm:<region>:<account>:parameter/<name without its leading slash>`.
 */
export interface SsmServiceOptions {
  iam: IamStore
  store: ParameterStore
}

const TYPES = new Set(['String', 'StringList', 'SecureString'])
const NAME = /^[a-zA-Z0-9_.\-/]{1,2048}$/

export const parameterArn = (region: string, accountId: string, name: string) =>
  `arn:aws:ssm:${region}:${accountId}:parameter/${name.replace(/^\//, '')}`

function stringField(input: Record<string, unknown>, field: string, required: true): string
function stringField(input: Record<string, unknown>, field: string, required?: false): string | undefined
function stringField(input: Record<string, unknown>, field: string, required = false): string | undefined {
  const v = input[field]
  if (v === undefined || v === null) {
    if (required) throw new JsonError('ValidationException', `1 validation error detected: Value null at '${field.charAt(0).toLowerCase()}${field.slice(1)}' failed to satisfy constraint: Member must not be null`)
    return undefined
  }
  if (typeof v !== 'string') throw new JsonError('SerializationException', `${field} must be a string`)
  return v
}

function checkName(name: string): void {
  if (!NAME.test(name) || (name.includes('/') && !name.startsWith('/'))) {
    throw new JsonError('ValidationException', `Parameter name: ${name} is not valid: only a-zA-Z0-9_.-/ are allowed, and a name with slashes must begin with one.`)
  }
}

function authorize(iam: IamStore, req: JsonRequest, resource: string): void {
  const action = `ssm:${req.operation}`
  if (decide(iam, req.principal, {action, resource}) !== 'allowed') {
    throw new JsonError('AccessDeniedException', `User: ${req.principal.arn} is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`)
  }
}

const notFound = () => new JsonError('ParameterNotFound', '')

function view(p: StoredParameter, req: JsonRequest, decrypt: boolean) {
  const value = p.type === 'SecureString' && !decrypt
    // what AWS answers is KMS ciphertext; the platform answers an opaque token that reveals nothing
    ? createHash('sha256').update(`${p.name}\0${p.version}\0${p.value}`).digest('base64')
    : p.value
  return {
    Name: p.name,
    Type: p.type,
    Value: value,
    Version: p.version,
    LastModifiedDate: Date.parse(p.lastModified) / 1000,
    ARN: parameterArn(req.region, req.accountId, p.name),
    DataType: 'text',
  }
}

export function createSsmService({iam, store}: SsmServiceOptions): JsonHandler {
  return createJsonHandler({
    PutParameter(req) {
      const name = stringField(req.input, 'Name', true)
      const value = stringField(req.input, 'Value', true)
      checkName(name)
      authorize(iam, req, parameterArn(req.region, req.accountId, name))
      const existing = store.get(name)
      if (existing && req.input.Overwrite !== true) {
        throw new JsonError('ParameterAlreadyExists', 'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.')
      }
      const type = stringField(req.input, 'Type') ?? existing?.type
      if (!type) throw new JsonError('ValidationException', 'A parameter type is required when you create a parameter.')
      if (!TYPES.has(type)) throw new JsonError('ValidationException', `1 validation error detected: Value '${type}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]`)
      if (value.length === 0) throw new JsonError('ValidationException', "1 validation error detected: Value '' at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1")
      const description = stringField(req.input, 'Description') ?? existing?.description
      const version = (existing?.version ?? 0) + 1
      store.put({
        name, type: type as StoredParameter['type'], value, version, ...(description === undefined ? {} : {description}),
        lastModified: new Date().toISOString(), lastModifiedUser: req.principal.arn,
      })
      return {Version: version, Tier: 'Standard'}
    },

    GetParameter(req) {
      const raw = stringField(req.input, 'Name', true)
      // `name:version` selects a version; the platform keeps only the latest
      const [name, selector] = raw.split(':') as [string, string | undefined]
      authorize(iam, req, parameterArn(req.region, req.accountId, name))
      const p = store.get(name)
      if (!p || (selector !== undefined && selector !== String(p.version))) throw notFound()
      return {Parameter: view(p, req, req.input.WithDecryption === true)}
    },

    GetParametersByPath(req) {
      const path = stringField(req.input, 'Path', true)
      if (!path.startsWith('/')) throw new JsonError('ValidationException', `The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash "/".`)
      authorize(iam, req, parameterArn(req.region, req.accountId, path))
      const prefix = path.endsWith('/') ? path : `${path}/`
      const recursive = req.input.Recursive === true
      const max = typeof req.input.MaxResults === 'number' ? Math.min(Math.max(1, req.input.MaxResults), 10) : 10
      const start = Number(stringField(req.input, 'NextToken') ?? '0')
      if (!Number.isInteger(start) || start < 0) throw new JsonError('ValidationException', 'The specified token is invalid.')
      const matching = store.list().filter((p) => p.name.startsWith(prefix) && (recursive || !p.name.slice(prefix.length).includes('/')))
      const page = matching.slice(start, start + max)
      const decrypt = req.input.WithDecryption === true
      return {
        Parameters: page.map((p) => view(p, req, decrypt)),
        ...(start + max < matching.length ? {NextToken: String(start + max)} : {}),
      }
    },

    DeleteParameter(req) {
      const name = stringField(req.input, 'Name', true)
      authorize(iam, req, parameterArn(req.region, req.accountId, name))
      if (!store.delete(name)) throw notFound()
    },
  })
}
