import {describe, expect, it} from 'vitest'
import {
  QueryError, QueryParams, createQueryHandler, expandParams, parseFormParams, queryErrorXml, queryResponseXml, toXml, xmlMap,
} from '../../../src/lib/platform/query.js'
import type {Principal} from '../../../src/lib/platform/identity.js'

const principal: Principal = {arn: 'arn:aws:iam::123456789012:root', accountId: '123456789012', type: 'root', accessKeyId: 'AKIA'}

describe('query parameters', () => {
  it('expands member lists, nested lists and entry maps into a tree', () => {
    const flat = parseFormParams(
      'Action=CreateUser&UserName=a%20b&Tags.member.1.Key=team&Tags.member.1.Value=data&Tags.member.2.Key=env&Tags.member.2.Value=' +
      '&ActionNames.member.2=s3%3APutObject&ActionNames.member.1=s3%3AGetObject' +
      '&ContextEntries.member.1.ContextKeyName=s3%3Aprefix&ContextEntries.member.1.ContextKeyValues.member.1=a%2F&ContextEntries.member.1.ContextKeyValues.member.2=b%2F' +
      '&Attributes.entry.1.key=k&Attributes.entry.1.value=v&Empty=',
    )
    expect(flat.UserName).toBe('a b')
    const tree = expandParams(flat)
    expect(tree.Tags).toEqual([{Key: 'team', Value: 'data'}, {Key: 'env', Value: ''}])
    expect(tree.ActionNames).toEqual(['s3:GetObject', 's3:PutObject'])
    expect(tree.ContextEntries).toEqual([{ContextKeyName: 's3:prefix', ContextKeyValues: ['a/', 'b/']}])
    expect(tree.Attributes).toEqual([{key: 'k', value: 'v'}])
    const params = new QueryParams(flat)
    expect(params.list('ActionNames')).toEqual(['s3:GetObject', 's3:PutObject'])
    expect(params.list('Empty')).toEqual([])
    expect(params.tags()).toEqual([{Key: 'team', Value: 'data'}, {Key: 'env', Value: ''}])
    expect(params.structs('ContextEntries')).toHaveLength(1)
  })

  it('drops gaps in member indexes and ignores malformed members', () => {
    expect(expandParams({'L.member.3': 'c', 'L.member.1': 'a', 'L.member.x': 'bad'})).toEqual({L: ['a', 'c']})
  })

  it('validates required, int and bool parameters', () => {
    const p = new QueryParams({Name: '', Max: '5', Bad: '1.5', Flag: 'true'})
    expect(() => p.required('Name')).toThrowError(expect.objectContaining({code: 'ValidationError'}))
    expect(() => p.required('Missing')).toThrowError(/Member must not be null/)
    expect(p.int('Max')).toBe(5)
    expect(() => p.int('Bad')).toThrowError(QueryError)
    expect(p.bool('Flag')).toBe(true)
    expect(p.bool('Nope')).toBeUndefined()
  })
})

describe('XML', () => {
  it('renders objects, member lists, dates, maps and escapes text', () => {
    expect(toXml('R', {A: 'x<&>"\'', B: [1, 2], C: new Date(Date.UTC(2024, 0, 2)), D: undefined, E: {F: true}, M: xmlMap({k: 1})}))
      .toBe('<R><A>x&lt;&amp;&gt;&quot;&apos;</A><B><member>1</member><member>2</member></B><C>2024-01-02T00:00:00.000Z</C><E><F>true</F></E>' +
        '<M><entry><key>k</key><value>1</value></entry></M></R>')
  })

  it('wraps results and errors like AWS', () => {
    expect(queryResponseXml('GetUser', 'https://iam.amazonaws.com/doc/2010-05-08/', {User: {UserName: 'a'}}, 'rid'))
      .toContain('<GetUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetUserResult><User><UserName>a</UserName></User></GetUserResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></GetUserResponse>')
    expect(queryResponseXml('DeleteUser', 'ns', undefined, 'rid')).not.toContain('DeleteUserResult')
    expect(queryErrorXml('NoSuchEntity', 'no <such>', 'rid')).toContain('<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>no &lt;such&gt;</Message></Error><RequestId>rid</RequestId></ErrorResponse>')
  })
})

describe('createQueryHandler', () => {
  const handler = createQueryHandler({namespace: 'ns', actions: {
    Hello: (req) => ({Greeting: `hi ${req.params.required('Name')}`}),
    Fail: () => { throw new QueryError('Throttling', 'slow down', 400) },
    Crash: () => { throw new Error('boom') },
  }})
  const call = (action: string, flat: Record<string, string> = {}) =>
    handler({action, params: new QueryParams(flat), principal, requestId: 'rid', accountId: '123456789012', region: 'us-east-1'})

  it('answers actions, AWS errors, unknown actions and crashes', async () => {
    expect(await call('Hello', {Name: 'x'})).toMatchObject({status: 200, body: expect.stringContaining('<HelloResult><Greeting>hi x</Greeting></HelloResult>')})
    expect(await call('Hello')).toMatchObject({status: 400, body: expect.stringContaining('<Code>ValidationError</Code>')})
    expect(await call('Fail')).toMatchObject({status: 400, body: expect.stringContaining('<Code>Throttling</Code>')})
    const unknown = await call('toString')
    expect(unknown.status).toBe(400)
    expect(unknown.body).toContain('<Code>InvalidAction</Code><Message>NotImplemented: toString is not implemented by the cape local platform</Message>')
    expect(await call('Crash')).toMatchObject({status: 500, body: expect.stringContaining('<Type>Receiver</Type><Code>InternalFailure</Code>')})
  })
})
