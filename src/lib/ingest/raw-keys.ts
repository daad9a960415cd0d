import {paginateListObjectsV2, type S3Client} from '@aws-sdk/client-s3'
import {CapeError} from '../cli/errors.js'
import {ExitCode} from '../cli/exit-codes.js'

/**
 * Raw is write-once: an object that landed is never replaced (the phase 1 bucket policy denies a PutObject without
 * `If-None-Match: *`, and cape writes raw only that way). A file ingested again under a name that already landed
 * that day — changed content, or `--force` — lands beside it as `<name>~2.<ext>`, `~3`, … Curated follows the
 * source name, not the landing: every `name~N.ext` is curated at the key of `name.ext`, so curated holds the last
 * valid version of each file while raw keeps every version that came in.
 */

const LANDING = /^(.*?)~([1-9]\d*)((?:\.[^./]*)?)$/

/** Split a key's last segment at its extension (`a/b/data.csv` → [`a/b/data`, `.csv`]; no dot → ''). */
function splitExtension(key: string): [string, string] {
  const slash = key.lastIndexOf('/')
  const dot = key.lastIndexOf('.')
  return dot > slash + 1 ? [key.slice(0, dot), key.slice(dot)] : [key, '']
}

/** The key of the `n`th landing under `key` (1: the key itself). */
export function landingKey(key: string, n: number): string {
  if (n <= 1) return key
  const [stem, ext] = splitExtension(key)
  return `${stem}~${n}${ext}`
}

/** The source key a raw landing belongs to: `data~3.csv` → `data.csv` (a key without `~N` is its own). */
export function sourceKeyOf(key: string): string {
  const slash = key.lastIndexOf('/')
  const m = LANDING.exec(key.slice(slash + 1))
  return m ? key.slice(0, slash + 1) + m[1] + m[3] : key
}

/** The landing number of a key of `key`'s family, or undefined when it is not one (`data~2.csv` of `data.csv`: 2). */
function landingNumber(candidate: string, key: string): number | undefined {
  if (candidate === key) return 1
  const slash = candidate.lastIndexOf('/')
  const m = LANDING.exec(candidate.slice(slash + 1))
  if (!m || candidate.slice(0, slash + 1) + m[1] + m[3] !== key) return undefined
  return Number(m[2])
}

/** The first landing key under `key` no object holds yet (one listing of the key's prefix). */
export async function freeLandingKey(s3: S3Client, bucket: string, key: string, signal?: AbortSignal): Promise<string> {
  const [stem] = splitExtension(key)
  let highest = 0
  for await (const page of paginateListObjectsV2({client: s3}, {Bucket: bucket, Prefix: stem}, signal ? {abortSignal: signal} : {})) {
    for (const object of page.Contents ?? []) highest = Math.max(highest, landingNumber(object.Key ?? '', key) ?? 0)
  }
  return landingKey(key, highest + 1)
}

export const isPreconditionFailed = (e: unknown) => {
  const err = e as {name?: string; Code?: string; $metadata?: {httpStatusCode?: number}}
  return err?.name === 'PreconditionFailed' || err?.Code === 'PreconditionFailed' || err?.$metadata?.httpStatusCode === 412
}

/** The error of a landing that lost the race for its key to another writer: nothing was replaced. */
export function landingTaken(bucket: string, key: string, cause: unknown): CapeError {
  return new CapeError('RAW_KEY_TAKEN', `another upload created s3://${bucket}/${key} while this one ran; raw objects are never replaced, so this file did not land`, {
    exit: ExitCode.remoteFailed,
    hints: ['Run the same command again: the file lands beside the other one, under the next free name (~2, ~3, …).'],
    cause,
  })
}
