import {GetDatabasesCommand, GlueClient} from '@aws-sdk/client-glue'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {createJsonHandler, JsonError} from '../../../src/lib/platform/json.js'
import type {Platform} from '../../../src/lib/platform/server.js'
import {removeDir, startTestPlatform} from './iam/fixture.js'

describe('JSON-protocol routing (awsJson1_1 by X-Amz-Target)', () => {
  let p: Platform
  const glue = (secret?: string) => new GlueClient({
    region: p.region,
    endpoint: p.endpoint,
    credentials: {accessKeyId: p.adminCredentials.accessKeyId, secretAccessKey: secret ?? p.adminCredentials.secretAccessKey},
    maxAttempts: 1,
  })
  beforeAll(async () => {
    p = await startTestPlatform()
    p.registerJsonService('glue', createJsonHandler({
      GetDatabases: (req) => ({DatabaseList: [{Name: `seen-by-${req.principal.type}`}]}),
      GetDatabase: () => { throw new JsonError('EntityNotFoundException', 'Database x not found.') },
    }))
  })
  afterAll(async () => {
    await p.close()
    removeDir(p.dataDir)
  })

  it('hands the operation, input and principal to the registered service and answers its JSON', async () => {
    const out = await glue().send(new GetDatabasesCommand({}))
    expect(out.DatabaseList?.map((d) => d.Name)).toEqual(['seen-by-root'])
  })

  it('answers a service error with its __type as the SDK exception name', async () => {
    await expect(glue().send(new (await import('@aws-sdk/client-glue')).GetDatabaseCommand({Name: 'x'}))).rejects.toMatchObject({name: 'EntityNotFoundException', message: 'Database x not found.'})
  })

  it('refuses a bad signature and an unknown operation like AWS', async () => {
    await expect(glue('wrong-secret').send(new GetDatabasesCommand({}))).rejects.toMatchObject({$metadata: {httpStatusCode: 403}})
    await expect(glue().send(new (await import('@aws-sdk/client-glue')).GetTablesCommand({DatabaseName: 'x'}))).rejects.toMatchObject({name: 'UnknownOperationException'})
  })
})
