import {lookup as dnsLookup} from 'node:dns/promises'
import {BlockList, isIP} from 'node:net'

/**
 * Where the extractor may POST a request's callback. The function runs inside the VPC: a callback to the instance
 * metadata address, a private range or the Lambda runtime API (127.0.0.1:9001) would let anyone who may write a
 * request choose what the function reaches. So the host is resolved once, every address it resolves to is checked,
 * and the POST connects to the checked address (no second lookup: no DNS rebinding).
 */

/** Address ranges a callback must never reach, by name (the name shows in the refusal). */
const RANGES: Array<[string, string, number, 'ipv4' | 'ipv6']> = [
  ['unspecified', '0.0.0.0', 8, 'ipv4'],
  ['private', '10.0.0.0', 8, 'ipv4'],
  ['shared (CGNAT)', '100.64.0.0', 10, 'ipv4'],
  ['loopback', '127.0.0.0', 8, 'ipv4'],
  ['link-local', '169.254.0.0', 16, 'ipv4'],
  ['private', '172.16.0.0', 12, 'ipv4'],
  ['reserved (IETF)', '192.0.0.0', 24, 'ipv4'],
  ['private', '192.168.0.0', 16, 'ipv4'],
  ['benchmarking', '198.18.0.0', 15, 'ipv4'],
  ['multicast', '224.0.0.0', 4, 'ipv4'],
  ['reserved', '240.0.0.0', 4, 'ipv4'],
  ['unspecified', '::', 128, 'ipv6'],
  ['loopback', '::1', 128, 'ipv6'],
  ['unique-local', 'fc00::', 7, 'ipv6'],
  ['link-local', 'fe80::', 10, 'ipv6'],
  ['multicast', 'ff00::', 8, 'ipv6'],
]

const lists = RANGES.map(([name, net, prefix, type]) => {
  const list = new BlockList()
  list.addSubnet(net, prefix, type)
  return {name, list}
})

/** The IPv4 address inside an IPv4-mapped/compatible IPv6 address (::ffff:a.b.c.d, ::ffff:7f00:1), else undefined. */
function embeddedIPv4(address: string): string | undefined {
  const m = /^::(?:ffff:)?(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(address)
  if (!m) return undefined
  if (m[1]) return m[1]
  const hi = parseInt(m[2], 16)
  const lo = parseInt(m[3], 16)
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`
}

/** The class of a non-public address ("loopback", "private"…), or undefined for a public one. */
export function addressClass(address: string): string | undefined {
  const v4 = isIP(address) === 6 ? embeddedIPv4(address) : undefined
  const [addr, type] = v4 ? [v4, 'ipv4' as const] : [address, isIP(address) === 4 ? 'ipv4' as const : 'ipv6' as const]
  return lists.find(({list}) => list.check(addr, type))?.name
}

export interface CallbackPolicy {
  /** The function runs on the cape local platform: http and https to loopback are allowed (nothing else private). */
  local?: boolean
  /** When set, only these host names are allowed (case-insensitive). */
  allowedHosts?: string[]
  /** Resolver (tests inject one); default dns.lookup with all addresses. */
  lookup?: (host: string) => Promise<Array<{address: string; family: number}>>
}

export type CallbackTarget = {ok: true; address: string; family: 4 | 6} | {ok: false; reason: string}

const bare = (hostname: string) => hostname.replace(/^\[|\]$/g, '')

/** Check a callback URL and resolve it to the one address the POST will connect to. */
export async function resolveCallbackTarget(text: string, policy: CallbackPolicy = {}): Promise<CallbackTarget> {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return {ok: false, reason: 'not a URL'}
  }
  const host = bare(url.hostname).toLowerCase()
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.local)) return {ok: false, reason: `${url.protocol} is not allowed: use https`}
  if (policy.allowedHosts?.length && !policy.allowedHosts.some((h) => h.trim().toLowerCase() === host)) {
    return {ok: false, reason: `host ${host} is not in CallbackAllowedHosts (${policy.allowedHosts.join(', ')})`}
  }
  let addresses: Array<{address: string; family: number}>
  try {
    addresses = isIP(host) ? [{address: host, family: isIP(host)}] : await (policy.lookup ?? ((h) => dnsLookup(h, {all: true, verbatim: true})))(host)
  } catch (e) {
    return {ok: false, reason: `cannot resolve ${host}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`}
  }
  if (addresses.length === 0) return {ok: false, reason: `cannot resolve ${host}: no address`}
  for (const {address} of addresses) {
    const cls = addressClass(address)
    if (cls === undefined || (cls === 'loopback' && policy.local)) continue
    return {ok: false, reason: `${host} resolves to ${address}, a ${cls} address: callbacks go to public addresses only`}
  }
  if (url.protocol === 'http:' && addressClass(addresses[0].address) !== 'loopback') {
    return {ok: false, reason: 'plain http is allowed only to a loopback host on the local platform: use https'}
  }
  const first = addresses[0]
  return {ok: true, address: first.address, family: first.family === 6 ? 6 : 4}
}

/** The policy of a function from its environment: local when its endpoint is the local platform on loopback. */
export function callbackPolicyFromEnv(env: NodeJS.ProcessEnv): CallbackPolicy {
  let local = false
  // real Lambda always sets AWS_LAMBDA_RUNTIME_API; the local platform's runtime does not
  if (env.AWS_LAMBDA_RUNTIME_API) return {local: false, ...allowed(env)}
  try {
    local = env.AWS_ENDPOINT_URL ? addressClass(bare(new URL(env.AWS_ENDPOINT_URL).hostname)) === 'loopback' || new URL(env.AWS_ENDPOINT_URL).hostname === 'localhost' : false
  } catch {
    local = false
  }
  return {local, ...allowed(env)}
}

function allowed(env: NodeJS.ProcessEnv): {allowedHosts?: string[]} {
  const allowedHosts = (env.CALLBACK_ALLOWED_HOSTS ?? '').split(',').map((h) => h.trim()).filter(Boolean)
  return allowedHosts.length ? {allowedHosts} : {}
}
