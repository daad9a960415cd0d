import {GetObjectCommand, ListObjectsV2Command} from '@aws-sdk/client-s3'
import {GetCallerIdentityCommand} from '@aws-sdk/client-sts'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {createClients} from '../../../src/lib/aws/clients.js'
import {mapAwsError} from '../../../src/lib/aws/errors.js'

/** A tiny HTTP endpoint answering AWS-shaped errors, so the real SDK produces real service exceptions. */
let server: Server
let endpoint: string
const s3Error = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>req-1</RequestId></Error>`

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      const url = req.url ?? ''
      if (req.method === 'POST') {
        res.writeHead(403, {'content-type': 'text/xml'})
        res.end(
          '<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error><RequestId>r2</RequestId></ErrorResponse>',
        )
      } else if (url.startsWith('/denied')) {
        res.writeHead(403, {'content-type': 'application/xml'})
        res.end(s3Error('AccessDenied', 'Access Denied'))
      } else if (url.startsWith('/missing/')) {
        res.writeHead(404, {'content-type': 'application/xml'})
        res.end(s3Error('NoSuchKey', 'The specified key does not exist.'))
      } else {
        res.writeHead(500, {'content-type': 'application/xml'})
        res.end(s3Error('InternalError', 'We encountered an internal error.'))
      }
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((r) => server.close(() => r())))

const clients = () =>
  createClients({region: 'us-east-1', endpoint, credentials: {accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret'}, maxAttempts: 1})

async function sdkError(p: Promise<unknown>): Promise<unknown> {
  try {
    await p
  } catch (e) {
    return e
  }
  throw new Error('expected the SDK call to fail')
}

describe('mapAwsError with real SDK errors', () => {
  it('AccessDenied → auth/config exit with the service message and the access-check hint', async () => {
    const err = await sdkError(clients().s3.send(new ListObjectsV2Command({Bucket: 'denied'})))
    expect(mapAwsError(err)).toMatchObject({
      code: 'AWS_AccessDenied',
      exit: 3,
      message: expect.stringContaining('Access Denied'),
      hints: expect.arrayContaining([expect.stringContaining('cape access check')]),
    })
  })

  it('NoSuchKey → not-found exit, keeping the message', async () => {
    const err = await sdkError(clients().s3.send(new GetObjectCommand({Bucket: 'missing', Key: 'x.csv'})))
    expect(mapAwsError(err, {doing: 'downloading s3://missing/x.csv'})).toMatchObject({
      code: 'AWS_NoSuchKey',
      exit: 4,
      message: expect.stringMatching(/^downloading s3:\/\/missing\/x\.csv: The specified key does not exist/),
    })
  })

  it('InvalidClientTokenId (query protocol) → auth/config exit', async () => {
    const err = await sdkError(clients().sts.send(new GetCallerIdentityCommand({})))
    expect(mapAwsError(err)).toMatchObject({code: 'AWS_InvalidClientTokenId', exit: 3})
  })

  it('a server error → remote-failure exit', async () => {
    const err = await sdkError(clients().s3.send(new GetObjectCommand({Bucket: 'other', Key: 'k'})))
    expect(mapAwsError(err)).toMatchObject({code: 'AWS_InternalError', exit: 5})
  })

  it('connection refused → endpoint unreachable', async () => {
    const c = createClients({region: 'us-east-1', endpoint: 'http://127.0.0.1:1', credentials: {accessKeyId: 'a', secretAccessKey: 'b'}, maxAttempts: 1})
    const err = await sdkError(c.s3.send(new ListObjectsV2Command({Bucket: 'b'})))
    expect(mapAwsError(err)).toMatchObject({code: 'ENDPOINT_UNREACHABLE', exit: 3})
  })

  it('anything else is unexpected (exit 1)', () => {
    expect(mapAwsError(new TypeError('boom'))).toMatchObject({code: 'UNEXPECTED', exit: 1, message: 'boom'})
  })
})
