import {SignatureV4} from '@smithy/signature-v4'
import type {LocalWorkspace} from '../../helpers/platform.js'
import {Sha256} from '../platform/iam/sha256.js'

/** The local platform's S3 request counters (GET /_cape/stats, signed by the account root). */
export async function s3Stats(ws: LocalWorkspace): Promise<Record<string, number>> {
  const {target} = ws.admin()
  const url = new URL('/_cape/stats', ws.endpoint())
  const credentials = target.credentials as {accessKeyId: string; secretAccessKey: string}
  const signer = new SignatureV4({credentials, region: target.region, service: 's3', sha256: Sha256})
  const signed = await signer.sign({
    method: 'GET',
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    query: {},
    headers: {host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD'},
  })
  const res = await fetch(url, {headers: signed.headers})
  if (!res.ok) throw new Error(`GET /_cape/stats: HTTP ${res.status} ${await res.text()}`)
  return ((await res.json()) as {s3: Record<string, number>}).s3
}
