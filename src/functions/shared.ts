import type {ClientTarget} from '../lib/aws/clients.js'

export interface S3Event {
  Records?: Array<{eventName?: string; s3?: {bucket?: {name?: string}; object?: {key?: string; size?: number}}}>
}

/** The bucket and (decoded) key of each S3 record: S3 sends keys URL-encoded, spaces as '+'. */
export function s3Records(event: S3Event): Array<{bucket: string; key: string; eventName: string}> {
  return (event.Records ?? [])
    .filter((r) => r.s3?.bucket?.name && r.s3?.object?.key !== undefined)
    .map((r) => ({
      bucket: r.s3!.bucket!.name!,
      key: decodeURIComponent(r.s3!.object!.key!.replace(/\+/g, ' ')),
      eventName: r.eventName ?? '',
    }))
}

/** Client settings inside a function: the runtime's region, credentials from the environment, and the local
 * platform's endpoint when it sets AWS_ENDPOINT_URL (on AWS it is unset). */
export function lambdaTarget(env: NodeJS.ProcessEnv): ClientTarget {
  return {
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    endpoint: env.AWS_ENDPOINT_URL || undefined,
    credentials: env.AWS_ACCESS_KEY_ID
      ? {accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '', sessionToken: env.AWS_SESSION_TOKEN}
      : undefined,
  }
}
