import {createHash} from 'node:crypto'
import {createWriteStream} from 'node:fs'
import {mkdir, rename, rm} from 'node:fs/promises'
import path from 'node:path'
import {Transform, type Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {GetObjectCommand, type S3Client} from '@aws-sdk/client-s3'
import pLimit from 'p-limit'
import {mapAwsError} from '../aws/errors.js'
import {CapeError, remoteFailed} from '../cli/errors.js'
import {ExitCode} from '../cli/exit-codes.js'
import type {Reporter} from '../reporter.js'
import type {RequestStatus} from './status.js'

export interface DownloadedFile {
  key: string
  path: string
  size: number
  sha256: string
  rows: number
}

export interface FetchResult {
  id: string
  dir: string
  files: DownloadedFile[]
  rows: number
  bytes: number
}

/** Only a file name of the form part-NNNNN.csv|parquet: a status cannot send a download outside `dir`. */
const SAFE_NAME = /^part-\d{5,}\.(csv|parquet)$/

/**
 * Download the result files of a succeeded request into `dir` and verify each one's size and SHA-256 against the
 * status (the manifest). Files are written to a temp name and renamed when verified: a mismatch leaves nothing.
 */
export async function downloadResults(
  ctx: {s3: S3Client; reporter?: Reporter; signal?: AbortSignal},
  bucket: string,
  status: RequestStatus,
  dir: string,
): Promise<FetchResult> {
  if (status.state !== 'succeeded') {
    throw new CapeError('REQUEST_NOT_SUCCEEDED', `Request ${status.id} is ${status.state}: there are no results to fetch.`, {
      exit: status.state === 'failed' ? ExitCode.remoteFailed : ExitCode.stillRunning,
      hints: status.state === 'failed' ? [`See why: cape request status ${status.id}`] : [`Wait for it: cape request wait ${status.id}`],
    })
  }
  for (const f of status.files) {
    if (!f.key.startsWith(`${status.id}/`) || !SAFE_NAME.test(path.posix.basename(f.key))) {
      throw remoteFailed('RESULT_MANIFEST_INVALID', `The status of ${status.id} lists an unexpected result key ${JSON.stringify(f.key)}.`)
    }
  }
  await mkdir(dir, {recursive: true})
  const limit = pLimit(4)
  const files = await Promise.all(status.files.map((f) => limit(() => downloadOne(ctx, bucket, f, dir))))
  const bytes = files.reduce((n, f) => n + f.size, 0)
  ctx.reporter?.notify({code: 'request.fetched', level: 'success', message: `Downloaded ${files.length} ${files.length === 1 ? 'file' : 'files'} to ${dir} (checksums verified)`, data: {dir, bytes}})
  return {id: status.id, dir, files, rows: status.rows, bytes}
}

async function downloadOne(
  ctx: {s3: S3Client; signal?: AbortSignal},
  bucket: string,
  file: RequestStatus['files'][number],
  dir: string,
): Promise<DownloadedFile> {
  const target = path.join(dir, path.posix.basename(file.key))
  const temp = `${target}.${process.pid}.part`
  const hash = createHash('sha256')
  let size = 0
  try {
    const r = await ctx.s3.send(new GetObjectCommand({Bucket: bucket, Key: file.key}), {abortSignal: ctx.signal}).catch((e) => {
      throw mapAwsError(e, {doing: `downloading s3://${bucket}/${file.key}`})
    })
    const count = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk)
        size += chunk.length
        cb(null, chunk)
      },
    })
    await pipeline(r.Body as Readable, count, createWriteStream(temp), {signal: ctx.signal})
    const sha256 = hash.digest('hex')
    if (size !== file.size || sha256 !== file.sha256) {
      throw remoteFailed(
        'RESULT_CHECKSUM_MISMATCH',
        `${file.key} does not match the manifest: got ${size} bytes, sha256 ${sha256}; expected ${file.size} bytes, sha256 ${file.sha256}.`,
        ['Fetch again: cape request fetch <id>. If it persists, the result was changed after the extractor wrote it.'],
      )
    }
    await rename(temp, target)
    return {key: file.key, path: target, size, sha256, rows: file.rows}
  } catch (e) {
    await rm(temp, {force: true})
    throw e
  }
}
