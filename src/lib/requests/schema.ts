import {isIP} from 'node:net'
import {addressClass} from './callback-guard.js'
import {Ajv2020, type ErrorObject, type ValidateFunction} from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import type {Dataset, Datasets} from '../ingest/datasets.js'
import {filterProblems, LIST_OPS, type RequestFilter} from './filter.js'
import requestSchema from './request.schema.json' with {type: 'json'}

/**
 * request.json: its JSON Schema (published as schemas/request.schema.json) and the checks against the dataset's
 * format. The CLI validates before uploading; the extractor validates again (the requests bucket is an API).
 */

export {requestSchema}

export interface ExtractionRequest {
  $schema?: string
  dataset: string
  columns?: string[]
  filters?: RequestFilter[]
  format?: 'csv' | 'parquet'
  limit?: number
  callbackUrl?: string
  description?: string
}

/** One problem, located by a JSON pointer (RFC 6901) into the request document ('' = the whole document). */
export interface RequestIssue {
  pointer: string
  message: string
}

export type RequestValidation =
  | {valid: true; request: ExtractionRequest; dataset: Dataset; issues: []}
  | {valid: false; issues: RequestIssue[]}

/** Requests bigger than this are refused before parsing. */
export const MAX_REQUEST_BYTES = 256 * 1024

const addFormats = ((addFormatsModule as any).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020
let compiled: ValidateFunction | undefined
function schemaValidator(): ValidateFunction {
  if (compiled) return compiled
  const ajv = new Ajv2020({allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true})
  addFormats(ajv)
  compiled = ajv.compile(requestSchema)
  return compiled
}

const escapePointer = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1')
const show = (v: unknown) => JSON.stringify(v)

/** The value at a JSON pointer (for messages). */
function at(doc: unknown, pointer: string): unknown {
  let node: any = doc
  for (const part of pointer.split('/').slice(1)) node = node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')]
  return node
}

function topLevelKeys(): string[] {
  return Object.keys(requestSchema.properties)
}

/** ajv's errors → one readable issue each, at the pointer of the offending value (not of its parent). */
function schemaIssues(errors: ErrorObject[], doc: unknown): RequestIssue[] {
  const out: RequestIssue[] = []
  for (const e of errors) {
    const p = e.instancePath
    const params = e.params as Record<string, any>
    switch (e.keyword) {
      case 'if':
      case 'allOf':
        continue // the failing `then` branch says what is wrong
      case 'required':
        out.push({pointer: `${p}/${escapePointer(params.missingProperty)}`, message: requiredMessage(doc, p, params.missingProperty)})
        break
      case 'additionalProperties': {
        const allowed = p === '' ? topLevelKeys() : ['column', 'op', 'value', 'values']
        out.push({pointer: `${p}/${escapePointer(params.additionalProperty)}`, message: `unknown key ${show(params.additionalProperty)} (allowed: ${allowed.join(', ')})`})
        break
      }
      case 'not': {
        const op = (at(doc, p) as RequestFilter | undefined)?.op
        const takesList = op !== undefined && LIST_OPS.has(op)
        out.push({pointer: `${p}/${takesList ? 'value' : 'values'}`, message: `"${op}" takes ${takesList ? '"values" (a list)' : 'one "value"'}, not ${takesList ? '"value"' : '"values"'}`})
        break
      }
      case 'enum':
        out.push({pointer: p, message: `${show(at(doc, p))} is not one of ${params.allowedValues.map((v: unknown) => show(v)).join(', ')}`})
        break
      case 'type':
        out.push({pointer: p, message: `must be ${typeWords(String(params.type))}`})
        break
      case 'minItems':
      case 'maxItems': {
        const filterOp = /^\/filters\/\d+\/values$/.test(p) ? (at(doc, p.slice(0, -'/values'.length)) as RequestFilter | undefined)?.op : undefined
        if (filterOp === 'between') out.push({pointer: p, message: `"between" needs exactly two values [low, high], got ${(at(doc, p) as unknown[]).length}`})
        else out.push({pointer: p, message: `must have ${e.keyword === 'minItems' ? 'at least' : 'at most'} ${params.limit} ${params.limit === 1 ? 'item' : 'items'}`})
        break
      }
      case 'pattern':
        out.push({
          pointer: p,
          message:
            p === '/dataset' ? `${show(at(doc, p))} is not a dataset name (lower case letters, digits, "-" or "_", starting with a letter)`
            : p === '/callbackUrl' ? `${show(at(doc, p))} is not an http(s) URL`
            : `must match ${params.pattern}`,
        })
        break
      case 'format':
        out.push({pointer: p, message: `${show(at(doc, p))} is not a URL`})
        break
      case 'uniqueItems':
        out.push({pointer: `${p}/${params.j}`, message: `${show(at(doc, `${p}/${params.j}`))} is listed twice`})
        break
      case 'minimum':
        out.push({pointer: p, message: `must be at least ${params.limit}`})
        break
      case 'minLength':
        out.push({pointer: p, message: params.limit === 1 ? 'must not be empty' : `must have at least ${params.limit} characters`})
        break
      case 'maxLength':
        out.push({pointer: p, message: `must have at most ${params.limit} characters`})
        break
      default:
        out.push({pointer: p, message: e.message ?? e.keyword})
    }
  }
  return out
}

function requiredMessage(doc: unknown, parent: string, prop: string): string {
  if (/^\/filters\/\d+$/.test(parent) && (prop === 'value' || prop === 'values')) {
    const op = (at(doc, parent) as RequestFilter | undefined)?.op
    return prop === 'values' ? `"${op}" needs "values" (a list${op === 'between' ? ' [low, high]' : ''})` : `"${op}" needs a "value"`
  }
  return 'is required'
}

function typeWords(type: string): string {
  const words: Record<string, string> = {object: 'an object', array: 'a list', string: 'a string', integer: 'an integer', number: 'a number', boolean: 'true or false'}
  return type.split(',').map((t) => words[t] ?? t).join(', ').replace(/, ([^,]*)$/, ' or $1')
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i

/**
 * https to a public host; http only to a loopback host (localhost, 127.0.0.0/8, [::1]), which the function accepts only
 * on the local platform. A literal private, link-local, unique-local, multicast or reserved address is refused here;
 * a name is resolved and checked by the function itself (callback-guard.ts), with the reason in status.json.
 */
export function callbackUrlProblem(text: string): string | undefined {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return `${show(text)} is not a URL`
  }
  if (url.username || url.password) return 'must not carry credentials (user:password@)'
  const literal = url.hostname.replace(/^\[|\]$/g, '')
  const cls = isIP(literal) ? addressClass(literal) : undefined
  if (cls !== undefined && cls !== 'loopback') return `${literal} is a ${cls} address: callbacks go to public addresses only`
  if (url.protocol === 'https:') return undefined
  if (url.protocol === 'http:') return LOOPBACK.test(url.hostname) ? undefined : `plain http is allowed only to a loopback host (localhost, 127.0.0.1, [::1]); use https for ${url.hostname}`
  return `${show(url.protocol)} is not allowed: use https`
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

/** The checks against the dataset; guarded, so they also run (on the well-formed parts) when the schema fails. */
function datasetIssues(doc: Record<string, unknown>, datasets: Datasets): {issues: RequestIssue[]; dataset?: Dataset} {
  const issues: RequestIssue[] = []
  if (typeof doc.callbackUrl === 'string' && /^https?:\/\//i.test(doc.callbackUrl)) {
    const problem = callbackUrlProblem(doc.callbackUrl)
    if (problem) issues.push({pointer: '/callbackUrl', message: problem})
  }
  if (typeof doc.dataset !== 'string' || !/^[a-z][a-z0-9_-]*$/.test(doc.dataset)) return {issues}
  const dataset = datasets.get(doc.dataset)
  if (!dataset) {
    issues.push({pointer: '/dataset', message: `unknown dataset ${show(doc.dataset)} (known: ${[...datasets.keys()].join(', ')})`})
    return {issues}
  }
  const names = new Set(dataset.columns.map((c) => c.name))
  if (Array.isArray(doc.columns)) {
    doc.columns.forEach((c, i) => {
      if (typeof c === 'string' && c !== '' && !names.has(c)) issues.push({pointer: `/columns/${i}`, message: `unknown column ${show(c)} of dataset ${show(dataset.name)} (columns: ${[...names].join(', ')})`})
    })
  }
  if (Array.isArray(doc.filters)) {
    doc.filters.forEach((f, i) => {
      if (!wellFormedFilter(f)) return
      for (const [suffix, message] of filterProblems(f, dataset)) issues.push({pointer: `/filters/${i}${suffix}`, message})
    })
  }
  return {issues, dataset}
}

function wellFormedFilter(f: unknown): f is RequestFilter {
  if (!isObject(f) || typeof f.column !== 'string' || typeof f.op !== 'string') return false
  const op = f.op as RequestFilter['op']
  if (!['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'in', 'between', 'contains'].includes(op)) return false
  if (LIST_OPS.has(op)) return Array.isArray(f.values) && (op !== 'between' || f.values.length === 2)
  return 'value' in f && !('values' in f)
}

/** Validate a parsed request document: schema first, then against the dataset; every problem with its pointer. */
export function validateRequest(doc: unknown, datasets: Datasets): RequestValidation {
  const validate = schemaValidator()
  const ok = validate(doc)
  const issues = ok ? [] : schemaIssues(validate.errors ?? [], doc)
  let dataset: Dataset | undefined
  if (isObject(doc)) {
    const more = datasetIssues(doc, datasets)
    dataset = more.dataset
    for (const i of more.issues) if (!issues.some((x) => x.pointer === i.pointer)) issues.push(i)
  }
  if (issues.length === 0 && dataset) return {valid: true, request: doc as ExtractionRequest, dataset, issues: []}
  issues.sort((a, b) => comparePointers(a.pointer, b.pointer))
  return {valid: false, issues: dedupe(issues)}
}

function comparePointers(a: string, b: string): number {
  const pa = a.split('/')
  const pb = b.split('/')
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] === pb[i]) continue
    const na = Number(pa[i])
    const nb = Number(pb[i])
    if (Number.isInteger(na) && Number.isInteger(nb)) return na - nb
    return pa[i] < pb[i] ? -1 : 1
  }
  return pa.length - pb.length
}

function dedupe(issues: RequestIssue[]): RequestIssue[] {
  const seen = new Set<string>()
  return issues.filter((i) => {
    const k = `${i.pointer}\u0000${i.message}`
    if (seen.has(k)) return false
    seen.add(k)
    return true
  })
}

/** Parse request.json text; a syntax error becomes an issue at '' with the position. */
export function parseRequestText(text: string): {ok: true; doc: unknown} | {ok: false; issues: RequestIssue[]} {
  if (Buffer.byteLength(text) > MAX_REQUEST_BYTES) return {ok: false, issues: [{pointer: '', message: `the request is larger than ${MAX_REQUEST_BYTES / 1024} KiB`}]}
  try {
    return {ok: true, doc: JSON.parse(text.replace(/^\uFEFF/, ''))}
  } catch (e) {
    return {ok: false, issues: [{pointer: '', message: `not valid JSON: ${(e as Error).message}`}]}
  }
}

/** `parseRequestText` + `validateRequest`. */
export function checkRequestText(text: string, datasets: Datasets): RequestValidation {
  const parsed = parseRequestText(text)
  if (!parsed.ok) return {valid: false, issues: parsed.issues}
  return validateRequest(parsed.doc, datasets)
}

/** "/filters/0/value: 12 is not a string" lines. */
export function renderIssues(issues: readonly RequestIssue[]): string[] {
  return issues.map((i) => `${i.pointer === '' ? '(document)' : i.pointer}: ${i.message}`)
}
