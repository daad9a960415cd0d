import {readFileSync} from 'node:fs'
import {parseDocument, type Tags} from 'yaml'

/** Logical ids whose DeletionPolicy is Retain (or RetainExceptOnCreate), read from the template. */
export function parseTemplateRetained(templatePath: string): Set<string> {
  const text = readFileSync(templatePath, 'utf8')
  // Short-form intrinsic tags (!Ref, !Sub…) are irrelevant here: keep them as plain values.
  const passthrough = ['Ref', 'Sub', 'GetAtt', 'Join', 'Select', 'Split', 'If', 'Equals', 'Not', 'And', 'Or', 'FindInMap', 'Base64', 'GetAZs', 'ImportValue', 'Condition', 'Cidr']
  const customTags: Tags = passthrough.flatMap((t) => [
    {tag: `!${t}`, resolve: (v: unknown) => v},
    {tag: `!${t}`, collection: 'seq' as const, resolve: (v: unknown) => v},
    {tag: `!${t}`, collection: 'map' as const, resolve: (v: unknown) => v},
  ])
  const doc = text.trimStart().startsWith('{') ? JSON.parse(text) : parseDocument(text, {customTags}).toJS()
  const out = new Set<string>()
  for (const [id, r] of Object.entries((doc?.Resources ?? {}) as Record<string, {DeletionPolicy?: string}>)) {
    if (r?.DeletionPolicy === 'Retain' || r?.DeletionPolicy === 'RetainExceptOnCreate') out.add(id)
  }
  return out
}
