/**
 * Template lint: structure against the CloudFormation resource specification (@aws-cdk/aws-service-spec, the spec
 * the CDK generates from), plus cape's security rules. Used by test/templates/phase1.test.ts and `npm run
 * lint:templates`.
 */
import {loadAwsServiceSpec} from '@aws-cdk/aws-service-spec'
import {parseTemplateBody} from '../../src/lib/platform/cloudformation/template.js'

type Json = any
export interface LintProblem {
  rule: string
  where: string
  message: string
}

const INTRINSICS = new Set(['Ref', 'Fn::GetAtt', 'Fn::Sub', 'Fn::Join', 'Fn::Select', 'Fn::Split', 'Fn::If', 'Fn::FindInMap', 'Fn::Base64', 'Fn::GetAZs', 'Fn::ImportValue', 'Fn::Cidr', 'Fn::Equals', 'Fn::Not', 'Fn::And', 'Fn::Or'])
const isIntrinsic = (v: Json) => v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1 && INTRINSICS.has(Object.keys(v)[0])

export async function lintTemplate(body: string): Promise<LintProblem[]> {
  const db = await loadAwsServiceSpec()
  const t = parseTemplateBody(body) as Json
  const problems: LintProblem[] = []
  /** The specification of one resource type, or undefined for a type CloudFormation does not have. */
  const resourceSpec = (type: string): Json => (db.lookup('resource', 'cloudFormationType', 'equals', type) as Json)[0]
  const add = (rule: string, where: string, message: string): void => void problems.push({rule, where, message})
  const resources: Record<string, Json> = t.Resources ?? {}

  // ---- structure against the spec
  const checkValue = (typeRef: Json, value: Json, where: string): void => {
    if (value === undefined || isIntrinsic(value)) return
    switch (typeRef?.type) {
      case 'string':
        if (typeof value === 'object') add('spec-type', where, 'expected a string')
        return
      case 'integer':
      case 'number':
        if (typeof value === 'object' || Number.isNaN(Number(value))) add('spec-type', where, 'expected a number')
        return
      case 'boolean':
        if (typeof value === 'object' || !['true', 'false'].includes(String(value))) add('spec-type', where, 'expected a boolean')
        return
      case 'array':
        if (!Array.isArray(value)) return add('spec-type', where, 'expected a list')
        value.forEach((v: Json, i: number) => checkValue(typeRef.element, v, `${where}[${i}]`))
        return
      case 'map':
        if (typeof value !== 'object' || Array.isArray(value)) return add('spec-type', where, 'expected a map')
        for (const [k, v] of Object.entries(value)) checkValue(typeRef.element, v, `${where}.${k}`)
        return
      case 'ref': {
        const def = db.get('typeDefinition', typeRef.reference.$ref) as Json
        if (typeof value !== 'object' || Array.isArray(value)) return add('spec-type', where, `expected an object (${def.name})`)
        checkProps(def.properties, value, where)
        return
      }
      case 'union':
        return // any of several shapes: accept
      default:
        return // json, date-time, tag…
    }
  }
  const checkProps = (spec: Record<string, Json>, props: Record<string, Json>, where: string) => {
    for (const [name, value] of Object.entries(props ?? {})) {
      const p = spec[name]
      if (!p) {
        add('spec-property', `${where}.${name}`, `unknown property (known: ${Object.keys(spec).sort().join(', ')})`)
        continue
      }
      checkValue(p.type, value, `${where}.${name}`)
    }
    for (const [name, p] of Object.entries(spec)) {
      if ((p as Json).required && props?.[name] === undefined) add('spec-required', `${where}.${name}`, 'required property missing')
    }
  }
  for (const [id, r] of Object.entries(resources)) {
    const spec = resourceSpec(r.Type)
    if (!spec) {
      add('spec-type-unknown', `Resources.${id}`, `unknown resource type ${r.Type}`)
      continue
    }
    checkProps(spec.properties, r.Properties ?? {}, `Resources.${id}.Properties`)
  }
  // GetAtt attributes exist
  const walk = (v: Json, where: string): void => {
    if (Array.isArray(v)) return v.forEach((x, i) => walk(x, `${where}[${i}]`))
    if (!v || typeof v !== 'object') return
    if (v['Fn::GetAtt']) {
      const [rid, attr] = Array.isArray(v['Fn::GetAtt']) ? v['Fn::GetAtt'] : String(v['Fn::GetAtt']).split('.')
      const r = resources[rid]
      if (!r) add('ref-unknown', where, `GetAtt of unknown resource ${rid}`)
      else {
        const spec = resourceSpec(r.Type)
        if (spec && !spec.attributes[attr]) add('spec-attribute', where, `${r.Type} has no attribute ${attr}`)
      }
    }
    for (const [k, x] of Object.entries(v)) walk(x, `${where}.${k}`)
  }
  walk(t.Resources, 'Resources')
  walk(t.Outputs, 'Outputs')

  // ---- cape's security rules
  const byType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type)
  const policies = byType('AWS::S3::BucketPolicy')
  const policyRefs = (r: Json) => JSON.stringify(r.Properties?.Bucket)
  for (const [id, b] of byType('AWS::S3::Bucket')) {
    const p = b.Properties ?? {}
    const pab = p.PublicAccessBlockConfiguration ?? {}
    for (const k of ['BlockPublicAcls', 'BlockPublicPolicy', 'IgnorePublicAcls', 'RestrictPublicBuckets']) {
      if (String(pab[k]) !== 'true') add('sec-public-access', `Resources.${id}`, `PublicAccessBlockConfiguration.${k} must be true`)
    }
    if (!p.BucketEncryption?.ServerSideEncryptionConfiguration?.length) add('sec-encryption', `Resources.${id}`, 'BucketEncryption is required')
    const tls = policies.find(([, bp]) => policyRefs(bp) === JSON.stringify({Ref: id}))
    const statements = [tls?.[1].Properties?.PolicyDocument?.Statement ?? []].flat()
    const tlsOnly = statements.some(
      (s: Json) => s.Effect === 'Deny' && JSON.stringify(s.Condition ?? {}).includes('"aws:SecureTransport":"false"'),
    )
    if (!tlsOnly) add('sec-tls-only', `Resources.${id}`, 'needs a bucket policy denying aws:SecureTransport=false')
  }
  for (const [id, expect] of [['RawBucket', true], ['CuratedBucket', true]] as const) {
    const r = resources[id]
    if (!r) continue
    if (r.DeletionPolicy !== 'Retain' || r.UpdateReplacePolicy !== 'Retain') add('sec-retain', `Resources.${id}`, 'DeletionPolicy and UpdateReplacePolicy must be Retain')
    if (id === 'RawBucket' && expect && r.Properties?.VersioningConfiguration?.Status !== 'Enabled') add('sec-versioning', `Resources.${id}`, 'raw must be versioned')
  }
  for (const [id, o] of Object.entries((t.Outputs ?? {}) as Record<string, Json>)) {
    const text = JSON.stringify(o.Value)
    if (/SecretAccessKey/.test(text)) add('sec-no-secrets', `Outputs.${id}`, 'outputs must not expose secret access keys')
    const ref = o.Value?.Ref
    if (ref && resources[ref]?.Type === 'AWS::IAM::AccessKey') add('sec-no-keys', `Outputs.${id}`, 'outputs must not expose access keys')
  }
  if (byType('AWS::IAM::AccessKey').length > 0) add('sec-no-keys', 'Resources', 'access keys are created by `cape users`, never by the template')
  const partner = resources.PartnerGroup
  if (partner) {
    const denies = (partner.Properties?.Policies ?? []).flatMap((p: Json) => [p.PolicyDocument?.Statement ?? []].flat()).filter((s: Json) => s.Effect === 'Deny')
    if (!denies.some((s: Json) => [s.Action].flat().includes('s3:*'))) add('sec-partner-deny', 'Resources.PartnerGroup', 'partner needs an explicit Deny s3:* on the lakehouse buckets')
  }
  return problems
}
