import {IAMClient} from '@aws-sdk/client-iam'
import {S3Client} from '@aws-sdk/client-s3'
import {STSClient} from '@aws-sdk/client-sts'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {startPlatform, type Platform} from '../../../../src/lib/platform/server.js'

export interface Creds {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

/** A real platform on an ephemeral port in a temp data dir, and SDK v3 clients pointed at it. */
export async function startTestPlatform(dataDir = mkdtempSync(join(tmpdir(), 'cape-platform-'))): Promise<Platform> {
  return startPlatform({dataDir, port: 0})
}

export const removeDir = (dir: string) => rmSync(dir, {recursive: true, force: true})

// (a copy: the SDK annotates the credentials object it is given)
const common = (p: Platform, credentials: Creds) => ({endpoint: p.endpoint, region: p.region, credentials: {...credentials}, maxAttempts: 1})

export const iamClient = (p: Platform, c: Creds = p.adminCredentials) => new IAMClient(common(p, c))
export const stsClient = (p: Platform, c: Creds = p.adminCredentials) => new STSClient(common(p, c))
export const s3Client = (p: Platform, c: Creds = p.adminCredentials) => new S3Client({
  ...common(p, c),
  forcePathStyle: true,
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
})

export const policy = (statements: unknown[]) => JSON.stringify({Version: '2012-10-17', Statement: statements})
