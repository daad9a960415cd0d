import {describe, expect, it} from 'vitest'
import {findInvalidUtf8, incompleteTail, Utf8Guard} from '../../../src/lib/ingest/encoding.js'

const feed = (chunks: Buffer[]) => {
  const g = new Utf8Guard()
  const passed: Buffer[] = []
  for (const c of chunks) {
    const r = g.push(c)
    passed.push(r.bytes)
    if (r.problem) return {problem: r.problem, passed: Buffer.concat(passed)}
  }
  return {problem: g.end(), passed: Buffer.concat(passed)}
}

describe('Utf8Guard', () => {
  it('passes UTF-8 through, holding back a character split across chunks', () => {
    const text = Buffer.from('a,b\nJosé,Zoë 😀,日本\n')
    for (let size = 1; size <= 5; size++) {
      const chunks: Buffer[] = []
      for (let i = 0; i < text.length; i += size) chunks.push(text.subarray(i, i + size))
      const {problem, passed} = feed(chunks)
      expect(problem).toBeUndefined()
      expect(passed.equals(text)).toBe(true)
    }
  })

  it('reports the line and offset of the first invalid byte, and passes the valid prefix', () => {
    const latin1 = Buffer.concat([Buffer.from('a,b\n1,2\nJos'), Buffer.from([0xe9]), Buffer.from(',3\n')])
    const {problem, passed} = feed([latin1.subarray(0, 5), latin1.subarray(5)])
    expect(problem).toMatchObject({line: 3, offset: 11, message: 'the file is not valid UTF-8: byte 0xE9 at byte offset 11 (Latin-1/Windows-1252 text?)'})
    expect(passed.toString()).toBe('a,b\n1,2\nJos')
  })

  it('recognises UTF-16, gzip, ZIP/xlsx, PDF and other binary data', () => {
    const first = (b: number[] | string) => feed([Buffer.from(b as any)]).problem?.message
    expect(first([0xff, 0xfe, 0x61, 0])).toBe('the file is UTF-16 encoded (byte order mark FF FE), not UTF-8')
    expect(first([0x1f, 0x8b, 8, 0])).toBe('the file is gzip-compressed, not CSV text')
    expect(first([0x50, 0x4b, 3, 4, 20])).toContain('ZIP archive')
    expect(first('%PDF-1.7\n')).toBe('the file is a PDF document, not CSV text')
    expect(first('a,b\n1,\u0000\n')).toBe('the file contains binary data, not CSV text (a NUL byte at byte offset 6)')
    expect(first([0x61, 0x0a, 0x01, 0x02, 0xff, 0x03])).toBe('the file contains binary data, not CSV text (byte 0xFF at byte offset 4)')
  })

  it('a file cut in the middle of a character is reported at the end', () => {
    const {problem} = feed([Buffer.from('a\nb'), Buffer.from([0xe2, 0x82])])
    expect(problem).toMatchObject({line: 2, offset: 3, message: 'the file ends in the middle of a multi-byte character (byte 0xE2 at byte offset 3)'})
  })

  it('findInvalidUtf8 rejects overlongs, surrogates, stray continuations; incompleteTail finds split characters', () => {
    expect(findInvalidUtf8(Buffer.from([0x61, 0xc0, 0xaf]))).toBe(1) // overlong "/"
    expect(findInvalidUtf8(Buffer.from([0xe0, 0x80, 0xaf]))).toBe(0) // overlong
    expect(findInvalidUtf8(Buffer.from([0xed, 0xa0, 0x80]))).toBe(0) // surrogate U+D800
    expect(findInvalidUtf8(Buffer.from([0x61, 0x80]))).toBe(1)
    expect(findInvalidUtf8(Buffer.from([0xf4, 0x90, 0x80, 0x80]))).toBe(0) // > U+10FFFF
    expect(findInvalidUtf8(Buffer.from('ok é 😀'))).toBe(-1)
    expect(incompleteTail(Buffer.from([0x61, 0xf0, 0x9f, 0x98]))).toBe(3)
    expect(incompleteTail(Buffer.from([0x61, 0xc3]))).toBe(1)
    expect(incompleteTail(Buffer.from('é'))).toBe(0)
    expect(incompleteTail(Buffer.from('abc'))).toBe(0)
  })
})
