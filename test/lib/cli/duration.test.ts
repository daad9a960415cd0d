import {describe, expect, it} from 'vitest'
import {formatDuration, parseDuration} from '../../../src/lib/cli/duration.js'

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1.5h', 5_400_000],
    ['45', 45_000],
  ])('%s → %d ms', (text, msValue) => expect(parseDuration(text)).toBe(msValue))

  it.each(['', 'soon', '5 minutes', '-1s', '1y'])('rejects %j with a usage error naming the flag', (text) => {
    expect(() => parseDuration(text, 'timeout')).toThrow(expect.objectContaining({code: 'USAGE', exit: 2, message: expect.stringContaining('--timeout')}))
  })

  it('formats', () => {
    expect(formatDuration(250)).toBe('250ms')
    expect(formatDuration(12_300)).toBe('12.3s')
    expect(formatDuration(125_000)).toBe('2m05s')
  })
})
