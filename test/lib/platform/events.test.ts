import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {EventBus, matchesPattern, type PlatformEvent} from '../../../src/lib/platform/events/rules.js'

const event = {source: 'aws.athena', 'detail-type': 'Athena Query State Change', detail: {currentState: 'SUCCEEDED', workgroupName: 'cape-local-extract', n: 3}}

describe('the platform event bus', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cape-events-'))
  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  it.each([
    [{source: ['aws.athena']}, true],
    [{source: ['aws.s3', 'aws.athena'], detail: {currentState: ['SUCCEEDED', 'FAILED']}}, true],
    [{detail: {currentState: ['RUNNING']}}, false],
    [{detail: {workgroupName: [{prefix: 'cape-local'}]}}, true],
    [{detail: {workgroupName: [{'anything-but': ['cape-local-extract']}]}}, false],
    [{detail: {missing: [{exists: false}]}}, true],
    [{detail: {currentState: [{exists: true}]}}, true],
    [{detail: {n: [3]}}, true],
    [{detail: 'not a list'}, false],
  ] as Array<[Record<string, unknown>, boolean]>)('pattern %j → %s', (pattern, expected) => {
    expect(matchesPattern(pattern, event)).toBe(expected)
  })

  it('delivers to the targets of enabled matching rules only, and keeps rules across restarts', async () => {
    const got: Array<[string, PlatformEvent]> = []
    const bus = new EventBus(dir, {accountId: '123456789012', region: 'us-east-1', deliver: async (arn, e) => void got.push([arn, e])})
    bus.putRule({name: 'done', pattern: {source: ['aws.athena'], detail: {currentState: ['SUCCEEDED']}}, state: 'ENABLED', targets: [{id: 't', arn: 'arn:aws:lambda:us-east-1:123456789012:function:f'}]})
    bus.putRule({name: 'off', pattern: {source: ['aws.athena']}, state: 'DISABLED', targets: [{id: 't', arn: 'arn:aws:lambda:us-east-1:123456789012:function:g'}]})
    const sent = bus.publish({source: 'aws.athena', detailType: 'Athena Query State Change', detail: {currentState: 'SUCCEEDED'}})
    bus.publish({source: 'aws.athena', detailType: 'Athena Query State Change', detail: {currentState: 'RUNNING'}})
    await new Promise((r) => setImmediate(r))
    expect(got.map(([arn]) => arn)).toEqual(['arn:aws:lambda:us-east-1:123456789012:function:f'])
    expect(got[0]![1]).toMatchObject({version: '0', id: sent.id, source: 'aws.athena', 'detail-type': 'Athena Query State Change', account: '123456789012', region: 'us-east-1'})
    expect(new EventBus(dir, {accountId: '1', region: 'r', deliver: async () => {}}).getRule('done')?.targets).toHaveLength(1)
  })
})
