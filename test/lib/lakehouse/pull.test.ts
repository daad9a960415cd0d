import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {mergePages, type ListPage} from '../../../src/lib/lakehouse/list.js'
import {STATE_FILE} from '../../../src/lib/lakehouse/paths.js'
import {PullState} from '../../../src/lib/lakehouse/pull-state.js'
import {keyFilter, md5FromEtag, relativeKey, showKey} from '../../../src/lib/lakehouse/pull.js'

describe('relativeKey', () => {
  it('is relative to a folder prefix, with or without the trailing slash', () => {
    expect(relativeKey('p/a.csv', 'p/')).toBe('a.csv')
    expect(relativeKey('p/sub/a.csv', 'p')).toBe('sub/a.csv')
    expect(relativeKey('p-old/a.csv', 'p')).toBeUndefined()
    expect(relativeKey('q/a.csv', 'p/')).toBeUndefined()
    expect(relativeKey('anything/at/all', '')).toBe('anything/at/all')
  })
  it('names a single object by its base name', () => {
    expect(relativeKey('p/data.csv', 'p/data.csv')).toBe('data.csv')
  })
  it('keeps hostile remainders for the path check to refuse', () => {
    expect(relativeKey('p/../x', 'p/')).toBe('../x')
    expect(relativeKey('p//abs', 'p/')).toBe('/abs')
  })
})

describe('keyFilter', () => {
  it('includes and excludes with picomatch; patterns without a slash match the name at any depth', () => {
    const f = keyFilter(['*.csv'], ['tmp/**'])
    expect(f('a.csv')).toBe(true)
    expect(f('deep/down/a.csv')).toBe(true)
    expect(f('a.parquet')).toBe(false)
    expect(f('tmp/a.csv')).toBe(false)
    expect(keyFilter()('.hidden/x')).toBe(true)
    expect(keyFilter([], ['**/.*'])('.hidden')).toBe(false)
    expect(keyFilter(['2024/**'])('2024/01/a.csv')).toBe(true)
    expect(keyFilter(['2024/**'])('2023/01/a.csv')).toBe(false)
  })
})

describe('md5FromEtag', () => {
  it('is the MD5 of single-part ETags only', () => {
    expect(md5FromEtag('"9E107D9D372BB6826BD81D3542A419D6"')).toBe('9e107d9d372bb6826bd81d3542a419d6')
    expect(md5FromEtag('9e107d9d372bb6826bd81d3542a419d6')).toBe('9e107d9d372bb6826bd81d3542a419d6')
    expect(md5FromEtag('"9e107d9d372bb6826bd81d3542a419d6-3"')).toBeUndefined()
    expect(md5FromEtag(undefined)).toBeUndefined()
  })
})

describe('showKey', () => {
  it('quotes keys with control characters so they never reach a terminal raw', () => {
    expect(showKey('a/b.csv')).toBe('a/b.csv')
    expect(showKey('a\u001B[2Jb')).toBe('"a\\u001b[2Jb"')
    expect(showKey('new\nline')).toBe('"new\\nline"')
  })
})

describe('PullState', () => {
  it('round-trips through .cape-pull.json and ignores a broken file', async () => {
    const dest = mkdtempSync(path.join(tmpdir(), 'cape-state-'))
    const s = await PullState.load(dest)
    expect(s.size).toBe(0)
    s.set('a/b.csv', {etag: '"e"', size: 3, mtimeMs: 1700000000123.5})
    await Promise.all([s.save(), s.save()])
    const again = await PullState.load(dest)
    expect(again.get('a/b.csv')).toEqual({etag: '"e"', size: 3, mtimeMs: 1700000000123.5})
    expect(JSON.parse(readFileSync(path.join(dest, STATE_FILE), 'utf8')).version).toBe(1)

    const {writeFileSync} = await import('node:fs')
    writeFileSync(path.join(dest, STATE_FILE), '{not json')
    expect((await PullState.load(dest)).size).toBe(0)
  })
})

describe('mergePages', () => {
  const page = (tag: string, i: number): ListPage => ({objects: [{key: `${tag}${i}`, size: i, etag: '', lastModified: ''}], prefixes: []})
  async function* listing(tag: string, n: number, delayMs: number): AsyncGenerator<ListPage> {
    for (let i = 0; i < n; i++) {
      await new Promise((r) => setTimeout(r, delayMs))
      yield page(tag, i)
    }
  }

  it('yields every page of every listing, running up to `parallel` at once', async () => {
    let running = 0
    let peak = 0
    const tracked = (tag: string) =>
      async function* () {
        running++
        peak = Math.max(peak, running)
        try {
          yield* listing(tag, 5, 2)
        } finally {
          running--
        }
      }
    const keys: string[] = []
    for await (const p of mergePages(['a', 'b', 'c', 'd', 'e'].map(tracked), 2)) keys.push(...p.objects.map((o) => o.key))
    expect(keys.sort()).toEqual(['a', 'b', 'c', 'd', 'e'].flatMap((t) => [0, 1, 2, 3, 4].map((i) => `${t}${i}`)).sort())
    expect(peak).toBe(2)
  })

  it('holds at most a small buffer while the consumer is slow', async () => {
    let produced = 0
    const counting = async function* () {
      for (let i = 0; i < 100; i++) {
        produced++
        yield page('x', i)
      }
    }
    const it = mergePages([counting, counting], 2)
    await it.next()
    await new Promise((r) => setTimeout(r, 20))
    expect(produced).toBeLessThanOrEqual(8)
    await it.return(undefined)
  })

  it('fails with the first listing error', async () => {
    const failing = async function* (): AsyncGenerator<ListPage> {
      yield page('f', 0)
      throw new Error('AccessDenied')
    }
    const run = async () => {
      for await (const _ of mergePages([() => listing('ok', 50, 1), failing], 2)) void _
    }
    await expect(run()).rejects.toThrow('AccessDenied')
  })
})
