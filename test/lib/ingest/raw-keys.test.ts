import {describe, expect, it} from 'vitest'
import {curatedKeyFor} from '../../../src/lib/ingest/curate.js'
import {landingKey, sourceKeyOf} from '../../../src/lib/ingest/raw-keys.js'

describe('raw landing keys', () => {
  it.each([
    ['p/ingest_date=2026-01-01/a.csv', 2, 'p/ingest_date=2026-01-01/a~2.csv'],
    ['p/ingest_date=2026-01-01/a.csv', 1, 'p/ingest_date=2026-01-01/a.csv'],
    ['p/d/archive.tar.gz', 3, 'p/d/archive.tar~3.gz'],
    ['p/d/noext', 2, 'p/d/noext~2'],
    ['p/d/.hidden', 2, 'p/d/.hidden~2'],
    ['p/v1.2/x', 2, 'p/v1.2/x~2'],
  ])('landingKey(%j, %d) = %j and back', (key, n, landed) => {
    expect(landingKey(key, n)).toBe(landed)
    expect(sourceKeyOf(landed)).toBe(key)
  })

  it('a key without ~N is its own source; ~0 and ~01 are not landings', () => {
    for (const key of ['a/b.csv', 'a/b~.csv', 'a/b~0.csv', 'a/b~01.csv', 'a/~2/b.csv']) expect(sourceKeyOf(key)).toBe(key)
  })

  it('curated follows the source name, in both formats', () => {
    expect(curatedKeyFor('p/ingest_date=2026-01-01/a~2.csv', 'csv')).toBe('p/ingest_date=2026-01-01/a.csv')
    expect(curatedKeyFor('p/ingest_date=2026-01-01/a~2.csv', 'parquet')).toBe('p/parquet/ingest_date=2026-01-01/a.parquet')
  })
})
