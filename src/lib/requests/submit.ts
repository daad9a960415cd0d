import {readFile} from 'node:fs/promises'
import {PutObjectCommand} from '@aws-sdk/client-s3'
import {GetCallerIdentityCommand} from '@aws-sdk/client-sts'
import {ulid} from 'ulid'
import type {AwsClients} from '../aws/clients.js'
import {mapAwsError} from '../aws/errors.js'
import {inputRejected, notFoundError} from '../cli/errors.js'
import type {Datasets} from '../ingest/datasets.js'
import type {Reporter} from '../reporter.js'
import {checkRequestText, renderIssues, type ExtractionRequest, type RequestIssue} from './schema.js'
import {REQUEST_META, requestKey} from './status.js'

export interface CheckedRequest {
  file: string
  request: ExtractionRequest
  /** The document as it will be uploaded (pretty JSON). */
  body: string
}

/** The error for an invalid request: every problem with its JSON pointer, in the message and in data.issues. */
export function requestRejected(file: string, issues: RequestIssue[]) {
  const n = issues.length
  return inputRejected(
    'REQUEST_INVALID',
    [`${file} is not a valid request (${n} ${n === 1 ? 'problem' : 'problems'}); nothing was uploaded:`, ...renderIssues(issues).map((l) => `  ${l}`)].join('\n'),
    ['The request format: schemas/request.schema.json (README, "Extraction requests").'],
    {issues},
  )
}

/** Read and validate a request file against the schema and the dataset's format (no network). */
export async function checkRequestFile(file: string, datasets: Datasets): Promise<CheckedRequest> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw notFoundError('REQUEST_FILE_UNREADABLE', `Cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}.`)
  }
  const v = checkRequestText(text, datasets)
  if (!v.valid) throw requestRejected(file, v.issues)
  return {file, request: v.request, body: `${JSON.stringify(v.request, null, 2)}\n`}
}

export interface Submitted {
  id: string
  bucket: string
  key: string
  dataset: string
  submittedBy: string
  submittedAt: string
}

/**
 * Upload a checked request as `<id>/request.json` (id: a new ULID) to the requests zone, with the submitter's
 * identity (STS GetCallerIdentity) in the object's metadata. The upload fires the extractor.
 */
export async function submitRequest(
  ctx: {clients: AwsClients; reporter?: Reporter; signal?: AbortSignal},
  bucket: string,
  checked: CheckedRequest,
  options: {id?: string} = {},
): Promise<Submitted> {
  const identity = await ctx.clients.sts.send(new GetCallerIdentityCommand({}), {abortSignal: ctx.signal}).catch((e) => {
    throw mapAwsError(e, {doing: 'finding out who you are (sts:GetCallerIdentity)'})
  })
  const id = options.id ?? ulid()
  const key = requestKey(id)
  const submittedBy = identity.Arn ?? identity.UserId ?? 'unknown'
  const submittedAt = new Date().toISOString()
  await ctx.clients.s3
    .send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: checked.body,
        ContentType: 'application/json',
        Metadata: {[REQUEST_META.submittedBy]: submittedBy, [REQUEST_META.submittedAt]: submittedAt},
      }),
      {abortSignal: ctx.signal},
    )
    .catch((e) => {
      throw mapAwsError(e, {doing: `uploading the request to s3://${bucket}/${key}`})
    })
  ctx.reporter?.notify({code: 'request.submitted', level: 'success', message: `Submitted ${id} (${checked.request.dataset}) as ${submittedBy}`, data: {id, key}})
  return {id, bucket, key, dataset: checked.request.dataset, submittedBy, submittedAt}
}
