import {XMLBuilder, XMLParser, XMLValidator} from 'fast-xml-parser'
import S3Error from 's3rver/lib/models/error.js'

export const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/'

/** Elements that may repeat in the request bodies this service reads; always parsed as arrays. */
const REPEATED = new Set([
  'Object',
  'Part',
  'FilterRule',
  'Event',
  'CloudFunctionConfiguration',
  'LambdaFunctionConfiguration',
  'QueueConfiguration',
  'TopicConfiguration',
  'Tag',
  'Rule',
  'Grant',
])

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false, // keys like "0123" stay strings
  trimValues: false, // keys may start or end with spaces
  htmlEntities: true, // decode &#13; &#x0A; …
  isArray: (name) => REPEATED.has(name),
})

// XML 1.0 cannot carry most control characters literally; \r would be normalized away by the reader
const escapeXml = (value: string) =>
  // eslint-disable-next-line no-control-regex
  value.replace(/[&<>"'\r\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, (ch) => {
    switch (ch) {
      case '&':
        return '&amp;'
      case '<':
        return '&lt;'
      case '>':
        return '&gt;'
      case '"':
        return '&quot;'
      case "'":
        return '&apos;'
      default:
        return `&#${ch.charCodeAt(0)};`
    }
  })

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  processEntities: false,
  tagValueProcessor: (_name, value) => escapeXml(String(value)),
  attributeValueProcessor: (_name, value) => escapeXml(String(value)),
})

/** Serialize `{Root: {...}}` to an S3 XML document; the root element gets the S3 namespace. */
export function toXml(root: string, body: Record<string, unknown>): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({[root]: {'@_xmlns': S3_XMLNS, ...body}})}`
}

/** Parse a request body; MalformedXML (400) when it is not well-formed. */
export function parseXml(text: string): Record<string, any> {
  if (text.trim() === '' || XMLValidator.validate(text) !== true) {
    throw new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.')
  }
  return parser.parse(text) as Record<string, any>
}

/** `x` as an array (undefined → []). */
export const asArray = <T>(x: T | T[] | undefined | null): T[] => (x === undefined || x === null ? [] : Array.isArray(x) ? x : [x])

/** Text content of a parsed element ('' when absent), trimmed (for enum-like values, never for keys). */
export const text = (x: unknown): string => (typeof x === 'string' ? x.trim() : x === undefined || x === null ? '' : String(x).trim())
