/** Small helpers shared by the providers. */
import type {Json} from '../template.js'
import {ProviderError, type Properties} from './types.js'

export const str = (v: Json | undefined): string | undefined => (v === undefined || v === null ? undefined : String(v))

export function requireStr(type: string, props: Properties, name: string): string {
  const v = str(props[name])
  if (v === undefined || v === '') throw new ProviderError(`Property ${name} is required for ${type}`)
  return v
}

export const strList = (v: Json | undefined): string[] => (Array.isArray(v) ? v.map((x) => String(x)) : v === undefined || v === null ? [] : [String(v)])

/** A policy document property: an object, or JSON text. */
export function policyDoc(type: string, v: Json | undefined, name = 'PolicyDocument'): string {
  if (v === undefined || v === null) throw new ProviderError(`Property ${name} is required for ${type}`)
  return typeof v === 'string' ? v : JSON.stringify(v)
}

export const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

/** Run `fn`, ignoring "not found" errors (deletes must succeed when the resource is already gone). */
export async function ignoreNotFound(fn: () => unknown | Promise<unknown>): Promise<void> {
  try {
    await fn()
  } catch (error) {
    const code = (error as {code?: string}).code
    if (code === 'NoSuchEntity' || code === 'NoSuchBucket' || code === 'ResourceNotFoundException' || code === 'NotFound') return
    throw error
  }
}

export const tagList = (v: Json | undefined): Array<{Key: string; Value: string}> =>
  Array.isArray(v) ? v.map((t) => ({Key: String((t as Record<string, Json>)?.Key ?? ''), Value: String((t as Record<string, Json>)?.Value ?? '')})) : []
