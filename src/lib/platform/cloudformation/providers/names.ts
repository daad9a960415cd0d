/**
 * Physical names CloudFormation generates when a template gives none: `<stack>-<logical>-<RANDOM>`, truncated to
 * the service's maximum length (the random suffix always kept).
 */
import {randomBytes} from 'node:crypto'
import type {ProviderContext} from './types.js'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'

export function randomSuffix(length = 12): string {
  let out = ''
  for (const b of randomBytes(length)) out += ALPHABET[b % ALPHABET.length]
  return out
}

export function generatedName(ctx: ProviderContext, options: {maxLength: number; lowerCase?: boolean}): string {
  const suffix = randomSuffix(12)
  const room = options.maxLength - suffix.length - 2
  const stackPart = ctx.stackName.slice(0, Math.max(1, Math.floor(room / 2)))
  const logicalPart = ctx.logicalId.slice(0, Math.max(1, room - stackPart.length))
  const name = `${stackPart}-${logicalPart}-${suffix}`
  return options.lowerCase ? name.toLowerCase() : name
}
