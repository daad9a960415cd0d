import type {IncomingHttpHeaders} from 'node:http'
import {Transform, type TransformCallback} from 'node:stream'
import S3Error from 's3rver/lib/models/error.js'

/**
 * Decoder for the `aws-chunked` content encoding (SigV4 streaming uploads). The AWS SDKs send stream bodies as
 *   <hex size>[;chunk-signature=<sig>]\r\n<bytes>\r\n … 0[;chunk-signature=<sig>]\r\n[<trailer>:<value>\r\n…]\r\n
 * when `x-amz-content-sha256` is one of the STREAMING-* values or `Content-Encoding` contains `aws-chunked`.
 * Chunk signatures are not verified (the router verified the seed signature; chunk signatures chain from it and
 * would need the secret here). Trailers (e.g. x-amz-checksum-crc32) are collected and exposed via `trailers`.
 */

const MAX_LINE = 8192

export function isAwsChunked(headers: IncomingHttpHeaders): boolean {
  const sha = String(headers['x-amz-content-sha256'] ?? '')
  const encoding = String(headers['content-encoding'] ?? '')
  return sha.startsWith('STREAMING-') || encoding.split(',').some((e) => e.trim().toLowerCase() === 'aws-chunked')
}

/** Content-Encoding with `aws-chunked` removed (S3 never stores it), or undefined when nothing is left. */
export function storedContentEncoding(headers: IncomingHttpHeaders): string | undefined {
  const encoding = headers['content-encoding']
  if (encoding === undefined) return undefined
  const rest = String(encoding)
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '' && e.toLowerCase() !== 'aws-chunked')
  return rest.length > 0 ? rest.join(',') : undefined
}

type State = 'size' | 'data' | 'data-crlf' | 'trailer' | 'done'

const incomplete = (message: string) => new S3Error('IncompleteBody', message)

export class AwsChunkedDecoder extends Transform {
  readonly trailers: Record<string, string> = {}
  decodedLength = 0
  private state: State = 'size'
  private line = Buffer.alloc(0)
  private remaining = 0

  constructor(private readonly expectedLength?: number) {
    super()
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.consume(chunk)
      callback()
    } catch (error) {
      callback(error as Error)
    }
  }

  override _flush(callback: TransformCallback): void {
    if (this.state !== 'done' && !(this.state === 'trailer' && this.line.length === 0)) {
      callback(incomplete('The aws-chunked request body ended before its final chunk.'))
      return
    }
    if (this.expectedLength !== undefined && this.expectedLength !== this.decodedLength) {
      callback(
        incomplete(
          `You did not provide the number of bytes specified by x-amz-decoded-content-length (${this.expectedLength}, got ${this.decodedLength}).`,
        ),
      )
      return
    }
    callback()
  }

  private consume(buf: Buffer): void {
    let i = 0
    while (i < buf.length) {
      switch (this.state) {
        case 'data': {
          const n = Math.min(this.remaining, buf.length - i)
          this.push(buf.subarray(i, i + n))
          this.decodedLength += n
          this.remaining -= n
          i += n
          if (this.remaining === 0) this.state = 'data-crlf'
          break
        }
        case 'done':
          return // ignore anything after the final CRLF
        default: {
          // line-oriented states: size, data-crlf, trailer
          const nl = buf.indexOf(0x0a, i)
          const end = nl === -1 ? buf.length : nl + 1
          this.line = Buffer.concat([this.line, buf.subarray(i, end)])
          if (this.line.length > MAX_LINE) throw incomplete('Malformed aws-chunked body: line too long.')
          i = end
          if (nl !== -1) {
            const line = this.line.toString('latin1').replace(/\r?\n$/, '')
            this.line = Buffer.alloc(0)
            this.onLine(line)
          }
        }
      }
    }
  }

  private onLine(line: string): void {
    switch (this.state) {
      case 'size': {
        const hex = line.split(';')[0].trim()
        if (!/^[0-9a-fA-F]+$/.test(hex)) throw incomplete('Malformed aws-chunked body: bad chunk size.')
        const size = Number.parseInt(hex, 16)
        if (size === 0) this.state = 'trailer'
        else {
          this.remaining = size
          this.state = 'data'
        }
        return
      }
      case 'data-crlf':
        if (line !== '') throw incomplete('Malformed aws-chunked body: missing CRLF after chunk data.')
        this.state = 'size'
        return
      case 'trailer': {
        if (line === '') {
          this.state = 'done'
          return
        }
        const colon = line.indexOf(':')
        if (colon > 0) this.trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
        return
      }
      default:
        return
    }
  }
}
