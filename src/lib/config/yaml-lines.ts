import {isMap, isSeq, type parseDocument} from 'yaml'

/** The 1-based line of the node at keyPath in a parsed YAML document, or of its nearest ancestor that exists. */
export function lineOf(doc: ReturnType<typeof parseDocument>, keyPath: ReadonlyArray<string | number>, text: string): number | undefined {
  for (let n = keyPath.length; n > 0; n--) {
    const node = doc.getIn(keyPath.slice(0, n), true) as {range?: [number, number, number]} | undefined
    if (node && typeof node === 'object' && node.range) return text.slice(0, node.range[0]).split('\n').length
  }
  return undefined
}

/**
 * The 1-based line of the key (in a mapping) or item (in a sequence) at keyPath, or of the deepest ancestor that
 * exists: a missing key is reported where its parent starts, an unknown key on its own line.
 */
export function keyLineOf(doc: ReturnType<typeof parseDocument>, keyPath: ReadonlyArray<string | number>, text: string): number {
  const lineAt = (offset: number | undefined) => (offset === undefined ? 1 : text.slice(0, offset).split('\n').length)
  let node: unknown = doc.contents
  let line = lineAt((node as {range?: number[]} | null)?.range?.[0])
  for (const part of keyPath) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as {value?: unknown} | null)?.value === part)
      if (!pair) break
      line = lineAt((pair.key as {range?: number[]}).range?.[0])
      node = pair.value
    } else if (isSeq(node) && typeof part === 'number' && node.items[part] !== undefined) {
      node = node.items[part]
      line = lineAt((node as {range?: number[]}).range?.[0])
    } else {
      break
    }
  }
  return line
}
