/**
 * CloudFormation template parsing (YAML with short-form tags, or JSON) and structural validation.
 *
 * Short forms are turned into their long JSON forms while parsing (`!Ref x` → `{Ref: 'x'}`,
 * `!GetAtt a.b` → `{'Fn::GetAtt': ['a', 'b']}`), so everything after this module sees one representation.
 * Pure: no I/O.
 */
import {parseDocument, type Tags, type YAMLMap, type YAMLSeq} from 'yaml'
import {formatError, validationError} from './errors.js'

export type Json = null | boolean | number | string | Json[] | {[key: string]: Json}

export interface ParameterDecl {
  Type: string
  Default?: Json
  Description?: string
  AllowedValues?: Json[]
  AllowedPattern?: string
  ConstraintDescription?: string
  MinLength?: number | string
  MaxLength?: number | string
  MinValue?: number | string
  MaxValue?: number | string
  NoEcho?: boolean | string
}

export interface ResourceDecl {
  Type: string
  Properties?: Record<string, Json>
  DependsOn?: string | string[]
  Condition?: string
  DeletionPolicy?: string
  UpdateReplacePolicy?: string
  Metadata?: Json
}

export interface OutputDecl {
  Value: Json
  Description?: string
  Condition?: string
  Export?: {Name: Json}
}

export interface Template {
  AWSTemplateFormatVersion?: string
  Description?: string
  Metadata?: Json
  Parameters: Record<string, ParameterDecl>
  Mappings: Record<string, Record<string, Record<string, Json>>>
  Conditions: Record<string, Json>
  Resources: Record<string, ResourceDecl>
  Outputs: Record<string, OutputDecl>
}

/** Long-form names of the intrinsic functions the engine evaluates. */
export const INTRINSIC_FUNCTIONS = [
  'Fn::GetAtt', 'Fn::Sub', 'Fn::Join', 'Fn::Select', 'Fn::Split', 'Fn::If', 'Fn::Equals', 'Fn::Not', 'Fn::And',
  'Fn::Or', 'Fn::FindInMap', 'Fn::Base64', 'Fn::GetAZs', 'Fn::ImportValue',
] as const

/** Intrinsic functions AWS has that the local platform does not evaluate (rejected with a clear message). */
export const UNSUPPORTED_FUNCTIONS = ['Fn::Cidr', 'Fn::Transform', 'Fn::Length', 'Fn::ToJsonString', 'Fn::ForEach'] as const

const SHORT_FORMS: Record<string, string> = {
  Sub: 'Fn::Sub', Join: 'Fn::Join', Select: 'Fn::Select', Split: 'Fn::Split', If: 'Fn::If', Equals: 'Fn::Equals',
  Not: 'Fn::Not', And: 'Fn::And', Or: 'Fn::Or', FindInMap: 'Fn::FindInMap', Base64: 'Fn::Base64', GetAZs: 'Fn::GetAZs',
  ImportValue: 'Fn::ImportValue', Cidr: 'Fn::Cidr', Transform: 'Fn::Transform', Length: 'Fn::Length',
  ToJsonString: 'Fn::ToJsonString',
}

const getAttFromString = (s: string): Json => {
  const dot = s.indexOf('.')
  if (dot <= 0 || dot === s.length - 1) throw validationError(`Template error: every Fn::GetAtt object requires two non-empty parameters (got "${s}")`)
  return {'Fn::GetAtt': [s.slice(0, dot), s.slice(dot + 1)]}
}

const collectionJson = (c: YAMLMap.Parsed | YAMLSeq.Parsed): Json => c.toJSON() as Json

/** The custom tags for the `yaml` package: every CloudFormation short form, as scalar, sequence and mapping. */
export const cloudFormationTags: Tags = (() => {
  const tags: Tags = [
    {tag: '!Ref', resolve: (s: string) => ({Ref: s})},
    {tag: '!Condition', resolve: (s: string) => ({Condition: s})},
    {tag: '!GetAtt', resolve: (s: string) => getAttFromString(s)},
    {tag: '!GetAtt', collection: 'seq', resolve: (c) => ({'Fn::GetAtt': collectionJson(c)})},
  ]
  for (const [short, long] of Object.entries(SHORT_FORMS)) {
    tags.push({tag: `!${short}`, resolve: (s: string) => ({[long]: s})})
    tags.push({tag: `!${short}`, collection: 'seq', resolve: (c) => ({[long]: collectionJson(c)})})
    tags.push({tag: `!${short}`, collection: 'map', resolve: (c) => ({[long]: collectionJson(c)})})
  }
  return tags
})()

/** Parse a template body (JSON or YAML with short-form tags) into plain JSON-like data. */
export function parseTemplateBody(body: string): Json {
  const trimmed = body.trimStart()
  if (trimmed.startsWith('{')) {
    try {
      return JSON.parse(body) as Json
    } catch (error) {
      throw formatError(`JSON not well-formed. (${(error as Error).message})`)
    }
  }
  const doc = parseDocument(body, {customTags: cloudFormationTags, uniqueKeys: true, prettyErrors: false})
  const first = doc.errors[0]
  if (first) {
    const where = first.linePos?.[0] ? ` (line ${first.linePos[0].line}, column ${first.linePos[0].col})` : ''
    throw formatError(`YAML not well-formed${where}: ${first.message.split('\n')[0]}`)
  }
  return doc.toJS({maxAliasCount: 1000}) as Json
}

const TOP_LEVEL = new Set(['AWSTemplateFormatVersion', 'Description', 'Metadata', 'Parameters', 'Rules', 'Mappings',
  'Conditions', 'Transform', 'Resources', 'Outputs'])
const RESOURCE_KEYS = new Set(['Type', 'Properties', 'DependsOn', 'Condition', 'DeletionPolicy', 'UpdateReplacePolicy',
  'Metadata', 'CreationPolicy', 'UpdatePolicy'])
const DELETION_POLICIES = new Set(['Delete', 'Retain', 'RetainExceptOnCreate', 'Snapshot'])
const OUTPUT_KEYS = new Set(['Value', 'Description', 'Condition', 'Export'])
const PARAMETER_KEYS = new Set(['Type', 'Default', 'Description', 'AllowedValues', 'AllowedPattern',
  'ConstraintDescription', 'MinLength', 'MaxLength', 'MinValue', 'MaxValue', 'NoEcho'])
const LOGICAL_ID = /^[A-Za-z0-9]+$/

const isObject = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Parameter types the local platform accepts. `AWS::SSM::Parameter::*` types are rejected (no SSM here). */
export function parameterKind(type: string): 'string' | 'number' | 'list' | 'numberList' | undefined {
  if (type === 'String') return 'string'
  if (type === 'Number') return 'number'
  if (type === 'CommaDelimitedList') return 'list'
  if (type === 'List<Number>') return 'numberList'
  if (type.startsWith('AWS::SSM::')) return undefined
  if (/^List<AWS::EC2::[A-Za-z:]+>$/.test(type)) return 'list'
  if (/^AWS::EC2::[A-Za-z:]+$/.test(type)) return 'string'
  return undefined
}

/**
 * Parse and structurally validate a template. Throws `ValidationError` with AWS-like messages
 * (`Template format error: …`) for anything the engine cannot run.
 */
export function parseTemplate(body: string): Template {
  if (body.trim() === '') throw validationError('Template body cannot be empty')
  const raw = parseTemplateBody(body)
  if (!isObject(raw)) throw formatError('template must be a JSON object or a YAML mapping')
  const unknown = Object.keys(raw).filter((k) => !TOP_LEVEL.has(k))
  if (unknown.length > 0) throw formatError(`Invalid template property or properties [${unknown.join(', ')}]`)
  if (raw.Transform !== undefined) {
    throw validationError(`Transform ${JSON.stringify(raw.Transform)} is not supported on the local platform (no macros or SAM)`)
  }
  if (raw.Rules !== undefined) throw validationError('Template Rules are not supported on the local platform')
  if (raw.AWSTemplateFormatVersion !== undefined && String(raw.AWSTemplateFormatVersion) !== '2010-09-09') {
    throw formatError(`Unsupported AWSTemplateFormatVersion "${String(raw.AWSTemplateFormatVersion)}" (expected 2010-09-09)`)
  }
  if (raw.Description !== undefined && typeof raw.Description !== 'string') {
    throw formatError('Description must be a string')
  }

  const section = (name: string): Record<string, Json> => {
    const v = raw[name]
    if (v === undefined || v === null) return {}
    if (!isObject(v)) throw formatError(`${name} must be an object`)
    return v
  }

  const parameters: Record<string, ParameterDecl> = {}
  for (const [name, decl] of Object.entries(section('Parameters'))) {
    if (!LOGICAL_ID.test(name)) throw formatError(`Parameter name ${name} is non alphanumeric.`)
    if (!isObject(decl)) throw formatError(`[/Parameters/${name}] parameter must be an object`)
    const extra = Object.keys(decl).filter((k) => !PARAMETER_KEYS.has(k))
    if (extra.length > 0) throw formatError(`Invalid template parameter property '${extra[0]}'`)
    if (typeof decl.Type !== 'string') throw formatError(`[/Parameters/${name}] Every Parameters object must contain a Type member.`)
    if (decl.Type.startsWith('AWS::SSM::')) {
      throw validationError(`Parameter '${name}' has type ${decl.Type}: SSM parameter types are not supported on the local platform`)
    }
    if (parameterKind(decl.Type) === undefined) throw validationError(`Template format error: Unrecognized parameter type: ${decl.Type}`)
    if (decl.AllowedPattern !== undefined) {
      try {
        new RegExp(String(decl.AllowedPattern))
      } catch {
        throw validationError(`Parameter '${name}' has an invalid AllowedPattern ${String(decl.AllowedPattern)}`)
      }
    }
    parameters[name] = decl as unknown as ParameterDecl
  }

  const mappings = section('Mappings') as Template['Mappings']
  for (const [name, map] of Object.entries(mappings)) {
    if (!isObject(map)) throw formatError(`[/Mappings/${name}] mapping must be an object`)
    for (const [k, v] of Object.entries(map)) {
      if (!isObject(v)) throw formatError(`[/Mappings/${name}/${k}] every Mappings member ${k} must be a map`)
    }
  }

  const conditions = section('Conditions')

  const resourcesRaw = section('Resources')
  if (Object.keys(resourcesRaw).length === 0) throw formatError('At least one Resources member must be defined.')
  const resources: Record<string, ResourceDecl> = {}
  for (const [id, decl] of Object.entries(resourcesRaw)) {
    if (!LOGICAL_ID.test(id)) throw formatError(`Resource name ${id} is non alphanumeric.`)
    if (!isObject(decl)) throw formatError(`[/Resources/${id}] resource definition is malformed`)
    if (typeof decl.Type !== 'string' || decl.Type === '') {
      throw formatError(`[/Resources/${id}] Every Resources object must contain a Type member.`)
    }
    const extra = Object.keys(decl).filter((k) => !RESOURCE_KEYS.has(k))
    if (extra.length > 0) throw formatError(`[/Resources/${id}] Invalid resource attribute ${extra[0]}`)
    if (decl.Properties !== undefined && decl.Properties !== null && !isObject(decl.Properties)) {
      throw formatError(`[/Resources/${id}/Properties] Properties must be an object`)
    }
    for (const policy of ['DeletionPolicy', 'UpdateReplacePolicy'] as const) {
      const p = decl[policy]
      if (p !== undefined && (typeof p !== 'string' || !DELETION_POLICIES.has(p))) {
        throw formatError(`[/Resources/${id}/${policy}] Unrecognized ${policy} ${JSON.stringify(p)}`)
      }
    }
    const deps = decl.DependsOn
    if (deps !== undefined && typeof deps !== 'string' && !(Array.isArray(deps) && deps.every((d) => typeof d === 'string'))) {
      throw formatError(`[/Resources/${id}/DependsOn] DependsOn must be a string or a list of strings`)
    }
    if (decl.Condition !== undefined) {
      if (typeof decl.Condition !== 'string') throw formatError(`[/Resources/${id}/Condition] Condition must be a string`)
      if (!(decl.Condition in conditions)) {
        throw formatError(`Unresolved dependencies [${decl.Condition}]. Cannot find condition ${decl.Condition} for resource ${id}`)
      }
    }
    resources[id] = {...(decl as unknown as ResourceDecl), Properties: isObject(decl.Properties) ? decl.Properties : {}}
  }
  for (const [id, decl] of Object.entries(resources)) {
    const missing = dependsOnList(decl).filter((d) => !(d in resources))
    if (missing.length > 0) {
      throw formatError(`Unresolved resource dependencies [${missing.join(', ')}] in the Resources block of the template`)
    }
    if (dependsOnList(decl).includes(id)) throw formatError(`Circular dependency between resources: [${id}]`)
  }

  const outputs: Record<string, OutputDecl> = {}
  for (const [name, decl] of Object.entries(section('Outputs'))) {
    if (!LOGICAL_ID.test(name)) throw formatError(`Output name ${name} is non alphanumeric.`)
    if (!isObject(decl) || decl.Value === undefined) throw formatError(`[/Outputs/${name}] Every Outputs member must contain a Value object`)
    const extra = Object.keys(decl).filter((k) => !OUTPUT_KEYS.has(k))
    if (extra.length > 0) throw formatError(`[/Outputs/${name}] Invalid outputs property : [${extra.join(', ')}]`)
    if (decl.Condition !== undefined && !(String(decl.Condition) in conditions)) {
      throw formatError(`Unresolved dependencies [${String(decl.Condition)}]. Cannot find condition for output ${name}`)
    }
    if (decl.Export !== undefined && !(isObject(decl.Export) && decl.Export.Name !== undefined)) {
      throw formatError(`[/Outputs/${name}/Export] Export must contain a Name`)
    }
    outputs[name] = decl as unknown as OutputDecl
  }

  return {
    ...(raw.AWSTemplateFormatVersion === undefined ? {} : {AWSTemplateFormatVersion: String(raw.AWSTemplateFormatVersion)}),
    ...(typeof raw.Description === 'string' ? {Description: raw.Description} : {}),
    ...(raw.Metadata === undefined ? {} : {Metadata: raw.Metadata}),
    Parameters: parameters,
    Mappings: mappings,
    Conditions: conditions,
    Resources: resources,
    Outputs: outputs,
  }
}

export const dependsOnList = (decl: ResourceDecl): string[] =>
  decl.DependsOn === undefined ? [] : Array.isArray(decl.DependsOn) ? decl.DependsOn : [decl.DependsOn]

const NAMED_IAM: Record<string, string> = {
  'AWS::IAM::User': 'UserName',
  'AWS::IAM::Group': 'GroupName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::IAM::ManagedPolicy': 'ManagedPolicyName',
  'AWS::IAM::InstanceProfile': 'InstanceProfileName',
}

/**
 * The capability the template needs: CAPABILITY_NAMED_IAM when an IAM resource has a custom name,
 * CAPABILITY_IAM when it has IAM resources at all (AccessKey, Policy, UserToGroupAddition, … included).
 */
export function requiredCapabilities(template: Template): {capabilities: string[]; reason?: string} {
  const iam = Object.entries(template.Resources).filter(([, r]) => r.Type.startsWith('AWS::IAM::'))
  if (iam.length === 0) return {capabilities: []}
  const named = iam.filter(([, r]) => NAMED_IAM[r.Type] !== undefined && r.Properties?.[NAMED_IAM[r.Type]] !== undefined)
  const list = (entries: typeof iam) => [...new Set(entries.map(([, r]) => r.Type))].sort().join(', ')
  return named.length > 0
    ? {capabilities: ['CAPABILITY_NAMED_IAM'], reason: `The following resource(s) require capabilities: [${list(named)}]`}
    : {capabilities: ['CAPABILITY_IAM'], reason: `The following resource(s) require capabilities: [${list(iam)}]`}
}

export const isNoEcho = (decl: ParameterDecl) => decl.NoEcho === true || String(decl.NoEcho).toLowerCase() === 'true'
