import type {parseDocument} from 'yaml'

/** The 1-based line of the node at keyPath in a parsed YAML document, or of its nearest ancestor that exists. */
export function lineOf(doc: ReturnType<typeof parseDocument>, keyPath: ReadonlyArray<string | number>, text: string): number | undefined {
  for (let n = keyPath.length; n > 0; n--) {
    const node = doc.getIn(keyPath.slice(0, n), true) as {range?: [number, number, number]} | undefined
    if (node && typeof node === 'object' && node.range) return text.slice(0, node.range[0]).split('\n').length
  }
  return undefined
}
