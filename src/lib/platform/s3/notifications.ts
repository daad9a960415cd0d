import {createHash, randomBytes} from 'node:crypto'
import S3Error from 's3rver/lib/models/error.js'

import type {NotificationSettings, NotificationTarget} from './bucket-config.js'
import type {S3Event} from './types.js'
import {asArray, text} from './xml.js'

/** Event names S3 accepts in notification configurations (wildcards and the concrete names). */
const EVENT_PATTERN = /^s3:(ObjectCreated|ObjectRemoved|ObjectRestore|Replication|LifecycleExpiration|LifecycleTransition|IntelligentTiering|ObjectTagging|ObjectAcl|ReducedRedundancyLostObject)(:[A-Za-z*]+)*$/

const invalid = (message: string, name = 'NotificationConfiguration') =>
  new S3Error('InvalidArgument', message, {ArgumentName: name})

export function validateTarget(t: NotificationTarget): NotificationTarget {
  if (!t.arn) throw invalid('A notification configuration must name its destination (function, queue or topic ARN).')
  if (t.events.length === 0) throw invalid('A notification configuration must have at least one Event.')
  for (const e of t.events) if (!EVENT_PATTERN.test(e)) throw invalid(`The event is not supported for notifications: ${e}`)
  return t
}

const newId = () => randomBytes(12).toString('base64url')

/** Parse the <NotificationConfiguration> of a PutBucketNotificationConfiguration body. */
export function parseNotificationXml(doc: Record<string, any>): NotificationSettings {
  const root = doc.NotificationConfiguration
  if (root === undefined) throw new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.')
  const cfg = typeof root === 'object' && root !== null ? root : {}
  const targets = (elements: unknown[], arnField: string[]): NotificationTarget[] =>
    elements.map((el: any) => {
      const target: NotificationTarget = {
        id: text(el?.Id) || newId(),
        arn: text(arnField.map((f) => el?.[f]).find((v) => v !== undefined)),
        events: asArray<unknown>(el?.Event).map(text),
      }
      for (const rule of asArray<any>(el?.Filter?.S3Key?.FilterRule)) {
        const name = text(rule?.Name).toLowerCase()
        const value = typeof rule?.Value === 'string' ? rule.Value : text(rule?.Value)
        if (name !== 'prefix' && name !== 'suffix') throw invalid(`Unsupported FilterRule name: ${text(rule?.Name)}`, 'FilterRule')
        if (target[name] !== undefined) throw invalid(`Cannot specify more than one ${name} rule in a filter.`, 'FilterRule')
        target[name] = value
      }
      return validateTarget(target)
    })
  return {
    lambda: targets([...asArray(cfg.CloudFunctionConfiguration), ...asArray(cfg.LambdaFunctionConfiguration)], ['CloudFunction', 'LambdaFunctionArn', 'Function']),
    queue: targets(asArray(cfg.QueueConfiguration), ['Queue', 'QueueArn']),
    topic: targets(asArray(cfg.TopicConfiguration), ['Topic', 'TopicArn']),
    ...(cfg.EventBridgeConfiguration !== undefined ? {eventBridge: true} : {}),
  }
}

/** The body of GetBucketNotificationConfiguration (element names as the SDK expects them). */
export function notificationXmlBody(cfg: NotificationSettings | undefined): Record<string, unknown> {
  if (!cfg) return {}
  const el = (t: NotificationTarget, arnName: string) => ({
    Id: t.id,
    [arnName]: t.arn,
    Event: t.events,
    ...(t.prefix !== undefined || t.suffix !== undefined
      ? {
          Filter: {
            S3Key: {
              FilterRule: [
                ...(t.prefix !== undefined ? [{Name: 'Prefix', Value: t.prefix}] : []),
                ...(t.suffix !== undefined ? [{Name: 'Suffix', Value: t.suffix}] : []),
              ],
            },
          },
        }
      : {}),
  })
  return {
    ...(cfg.topic.length > 0 ? {TopicConfiguration: cfg.topic.map((t) => el(t, 'Topic'))} : {}),
    ...(cfg.queue.length > 0 ? {QueueConfiguration: cfg.queue.map((t) => el(t, 'Queue'))} : {}),
    ...(cfg.lambda.length > 0 ? {CloudFunctionConfiguration: cfg.lambda.map((t) => el(t, 'CloudFunction'))} : {}),
    ...(cfg.eventBridge ? {EventBridgeConfiguration: ''} : {}),
  }
}

/** Does the configured pattern (s3:ObjectCreated:*, s3:ObjectRemoved:Delete, …) cover this event name? */
export function eventMatches(pattern: string, eventName: string): boolean {
  const p = pattern.startsWith('s3:') ? pattern.slice(3) : pattern
  if (p === eventName) return true
  if (p.endsWith(':*')) return eventName.startsWith(p.slice(0, -1))
  return false
}

export function targetMatches(t: NotificationTarget, eventName: string, key: string): boolean {
  if (t.prefix !== undefined && !key.startsWith(t.prefix)) return false
  if (t.suffix !== undefined && !key.endsWith(t.suffix)) return false
  return t.events.some((e) => eventMatches(e, eventName))
}

/** Keys in S3 events are URL-encoded with spaces as '+' ('/' kept). */
export const encodeEventKey = (key: string) =>
  encodeURIComponent(key)
    .replace(/%2F/g, '/')
    .replace(/%20/g, '+')
    .replace(/[!'()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

let sequence = 0n
/** Increasing hex sequencer, like S3's (ordering of events for the same key). */
export function nextSequencer(): string {
  sequence += 1n
  return (BigInt(Date.now()) * 1_000_000n + (sequence % 1_000_000n)).toString(16).toUpperCase().padStart(16, '0')
}

export interface ObjectEventInput {
  region: string
  accountId: string
  bucket: string
  key: string
  eventName: string
  configurationId: string
  principalId: string
  sourceIp: string
  requestId: string
  size?: number
  eTag?: string
  sequencer: string
  eventTime: string
}

export function buildEvent(e: ObjectEventInput): S3Event {
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: e.region,
        eventTime: e.eventTime,
        eventName: e.eventName,
        userIdentity: {principalId: e.principalId},
        requestParameters: {sourceIPAddress: e.sourceIp},
        responseElements: {
          'x-amz-request-id': e.requestId,
          'x-amz-id-2': createHash('sha256').update(e.requestId).digest('base64'),
        },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: e.configurationId,
          bucket: {name: e.bucket, ownerIdentity: {principalId: e.accountId}, arn: `arn:aws:s3:::${e.bucket}`},
          object: {
            key: encodeEventKey(e.key),
            ...(e.size !== undefined ? {size: e.size} : {}),
            ...(e.eTag !== undefined ? {eTag: e.eTag} : {}),
            sequencer: e.sequencer,
          },
        },
      },
    ],
  }
}
