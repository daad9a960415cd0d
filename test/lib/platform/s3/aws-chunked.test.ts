import {Readable} from 'node:stream'
import {describe, expect, it} from 'vitest'

import {AwsChunkedDecoder, isAwsChunked, storedContentEncoding} from '../../../../src/lib/platform/s3/aws-chunked.js'

/** Run `input` through the decoder, split into pieces of `step` bytes (to cross every boundary). */
async function decode(input: string, step: number, expectedLength?: number) {
  const decoder = new AwsChunkedDecoder(expectedLength)
  const bytes = Buffer.from(input)
  const pieces: Buffer[] = []
  for (let i = 0; i < bytes.length; i += step) pieces.push(bytes.subarray(i, i + step))
  const out: Buffer[] = []
  for await (const chunk of Readable.from(pieces).pipe(decoder)) out.push(chunk as Buffer)
  return {body: Buffer.concat(out).toString(), trailers: decoder.trailers}
}

describe('aws-chunked decoding', () => {
  const signed = '5;chunk-signature=abc\r\nhello\r\n6;chunk-signature=def\r\n world\r\n0;chunk-signature=ghi\r\n\r\n'
  const unsignedWithTrailer = 'a\r\n0123456789\r\n3\r\nabc\r\n0\r\nx-amz-checksum-crc32:sOO8/Q==\r\n\r\n'

  it.each([1, 2, 7, 1000])('decodes signed chunks split every %i bytes', async (step) => {
    expect(await decode(signed, step, 11)).toEqual({body: 'hello world', trailers: {}})
  })

  it('collects trailers', async () => {
    expect(await decode(unsignedWithTrailer, 3)).toEqual({body: '0123456789abc', trailers: {'x-amz-checksum-crc32': 'sOO8/Q=='}})
  })

  it('rejects truncated bodies, bad framing and a wrong decoded length', async () => {
    await expect(decode('5\r\nhel', 100)).rejects.toMatchObject({code: 'IncompleteBody'})
    await expect(decode('zz\r\nhello\r\n0\r\n\r\n', 100)).rejects.toMatchObject({code: 'IncompleteBody'})
    await expect(decode('5\r\nhelloXX0\r\n\r\n', 100)).rejects.toMatchObject({code: 'IncompleteBody'})
    await expect(decode(signed, 100, 12)).rejects.toMatchObject({code: 'IncompleteBody', message: expect.stringContaining('got 11')})
  })

  it('recognizes aws-chunked requests and strips the encoding from what is stored', () => {
    expect(isAwsChunked({'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER'})).toBe(true)
    expect(isAwsChunked({'content-encoding': 'gzip, aws-chunked'})).toBe(true)
    expect(isAwsChunked({'content-encoding': 'gzip', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD'})).toBe(false)
    expect(storedContentEncoding({'content-encoding': 'aws-chunked'})).toBeUndefined()
    expect(storedContentEncoding({'content-encoding': 'aws-chunked,gzip'})).toBe('gzip')
  })
})
