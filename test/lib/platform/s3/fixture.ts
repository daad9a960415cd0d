import {mkdtemp, rm} from 'node:fs/promises'
import {createServer, type IncomingHttpHeaders, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {S3Client, type S3ClientConfig} from '@aws-sdk/client-s3'

import {createS3Service} from '../../../../src/lib/platform/s3/index.js'
import type {Authorize, AuthorizeCheck, S3Notification, S3Service} from '../../../../src/lib/platform/s3/index.js'

export interface S3Fixture {
  dataDir: string
  service: S3Service
  endpoint: string
  /** every authorize() call, in order */
  checks: AuthorizeCheck[]
  notifications: S3Notification[]
  /** method, url and headers of every HTTP request received */
  requests: Array<{method: string; url: string; headers: IncomingHttpHeaders}>
  /** an S3 client for this endpoint; `flexibleChecksums: true` keeps the SDK's default (aws-chunked) checksums */
  client(opts?: {flexibleChecksums?: boolean}): S3Client
  /** close the HTTP server and the service; `keepData` leaves the data dir (for restart tests) */
  close(opts?: {keepData?: boolean}): Promise<void>
}

export async function startS3(
  opts: {dataDir?: string; authorize?: Authorize; onNotify?: (n: S3Notification) => void | Promise<void>} = {},
): Promise<S3Fixture> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'cape-s3-')))
  const checks: AuthorizeCheck[] = []
  const notifications: S3Notification[] = []
  const service = await createS3Service({
    dataDir,
    authorize: async (req, check) => {
      checks.push(check)
      if (opts.authorize) await opts.authorize(req, check)
    },
    onNotify: (n) => {
      notifications.push(n)
      return opts.onNotify?.(n)
    },
    accountId: '123456789012',
  })
  const requests: S3Fixture['requests'] = []
  const server: Server = createServer((req, res) => {
    requests.push({method: req.method ?? '', url: req.url ?? '', headers: {...req.headers}})
    service.handle(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const clients: S3Client[] = []
  return {
    dataDir,
    service,
    endpoint,
    checks,
    notifications,
    requests,
    client(clientOpts = {}) {
      const config: S3ClientConfig = {
        endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: {accessKeyId: 'AKIATESTTESTTESTTEST', secretAccessKey: 'secret'},
        maxAttempts: 1,
      }
      if (!clientOpts.flexibleChecksums) {
        config.requestChecksumCalculation = 'WHEN_REQUIRED'
        config.responseChecksumValidation = 'WHEN_REQUIRED'
      }
      const client = new S3Client(config)
      clients.push(client)
      return client
    },
    async close(closeOpts = {}) {
      for (const c of clients) c.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await service.close()
      if (!closeOpts.keepData) await rm(dataDir, {recursive: true, force: true})
    },
  }
}
