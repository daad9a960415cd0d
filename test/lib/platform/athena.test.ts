import {GetQueryExecutionCommand, GetQueryResultsCommand, StartQueryExecutionCommand, StopQueryExecutionCommand, CreateWorkGroupCommand, type AthenaClient} from '@aws-sdk/client-athena'
import {CreateDatabaseCommand, CreateTableCommand, GetTableCommand, GetTablesCommand, type TableInput} from '@aws-sdk/client-glue'
import {AttachUserPolicyCommand, CreateAccessKeyCommand, CreatePolicyCommand, CreateUserCommand} from '@aws-sdk/client-iam'
import {CreateBucketCommand, GetObjectCommand, PutObjectCommand} from '@aws-sdk/client-s3'
import {execFile} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {DuckDBInstance} from '@duckdb/node-api'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {createClients, type AwsClients} from '../../../src/lib/aws/clients.js'
import {bootPlatform} from '../../../src/lib/local/boot.js'
import {athenaReason, checkQuery, parseParameter} from '../../../src/lib/platform/athena/dialect.js'
import type {Platform} from '../../../src/lib/platform/server.js'

/**
 * The local platform's Glue and Athena APIs with the real SDK and with Debian's aws cli: tables over CSV and
 * parquet objects, partition projection, results as Athena writes them, errors with Athena's reasons and
 * positions, parameters as typed values, IAM at every step (athena, glue, the caller's own S3 rights), cancel.
 */
const AWS = '/usr/bin/aws'
const DATA = 'data-bucket'
const RESULTS = 'results-bucket'
const DB = 'lake'

const csvTable = (name: string, prefix: string): TableInput => ({
  Name: name,
  TableType: 'EXTERNAL_TABLE',
  Parameters: {'skip.header.line.count': '1', 'projection.enabled': 'true', 'projection.day.type': 'date', 'storage.location.template': `s3://${DATA}/${prefix}day=\${day}/`},
  PartitionKeys: [{Name: 'day', Type: 'string'}],
  StorageDescriptor: {
    Columns: [{Name: 'id', Type: 'string'}, {Name: 'Site', Type: 'string'}, {Name: 'score', Type: 'bigint'}, {Name: 'born', Type: 'date'}],
    Location: `s3://${DATA}/${prefix}`,
    SerdeInfo: {SerializationLibrary: 'org.apache.hadoop.hive.serde2.OpenCSVSerde', Parameters: {separatorChar: ','}},
  },
})

describe('Glue + Athena on the local platform (DuckDB engine)', () => {
  let p: Platform
  let dir: string
  let admin: AwsClients
  let reader: AwsClients
  let readerKeys: {accessKeyId: string; secretAccessKey: string}
  let parquetBytes: Buffer

  const run = async (athena: AthenaClient, sql: string, extra: Record<string, unknown> = {}) => {
    const {QueryExecutionId} = await athena.send(new StartQueryExecutionCommand({QueryString: sql, QueryExecutionContext: {Database: DB}, WorkGroup: 'wg', ...extra}))
    for (;;) {
      const {QueryExecution: q} = await athena.send(new GetQueryExecutionCommand({QueryExecutionId}))
      if (!['QUEUED', 'RUNNING'].includes(q!.Status!.State!)) return q!
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  const rows = async (athena: AthenaClient, id: string) => {
    const out = await athena.send(new GetQueryResultsCommand({QueryExecutionId: id}))
    return out.ResultSet!.Rows!.map((r) => r.Data!.map((d) => d.VarCharValue ?? null))
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cape-athena-'))
    p = await bootPlatform({dataDir: dir, port: 0})
    admin = createClients({region: p.region, endpoint: p.endpoint, credentials: {...p.adminCredentials}})
    for (const b of [DATA, RESULTS]) await admin.s3.send(new CreateBucketCommand({Bucket: b}))
    const put = (Key: string, Body: string | Buffer) => admin.s3.send(new PutObjectCommand({Bucket: DATA, Key, Body}))
    await put('people/day=2026-01-01/a.csv', 'id,Site,score,born\n1,Oslo,10,1950-01-02\n2,"Lima, Peru",,1970-05-06\n')
    await put('people/day=2026-01-02/b.csv', 'id,Site,score,born\n3,Oslo,30,\n')
    await put('people/day=2026-01-02/_SUCCESS', '')
    await put('people/other/ignored.csv', 'not,a,partition\n')
    await put('secret/day=2026-01-01/s.csv', 'id,Site,score,born\n9,Hidden,1,2000-01-01\n')
    // a parquet object made by DuckDB itself
    const file = join(dir, 'p.parquet')
    const duck = await (await DuckDBInstance.create(':memory:')).connect()
    await duck.run(`COPY (SELECT range::BIGINT AS n, range % 3 AS k FROM range(1000)) TO '${file}' (FORMAT parquet)`)
    parquetBytes = (await import('node:fs')).readFileSync(file)
    await put('numbers/part=x/n.parquet', parquetBytes)
    await admin.glue.send(new CreateDatabaseCommand({DatabaseInput: {Name: DB}}))
    await admin.glue.send(new CreateTableCommand({DatabaseName: DB, TableInput: csvTable('people', 'people/')}))
    await admin.glue.send(new CreateTableCommand({DatabaseName: DB, TableInput: csvTable('secret', 'secret/')}))
    await admin.glue.send(new CreateTableCommand({DatabaseName: DB, TableInput: {
      Name: 'numbers', Parameters: {'projection.enabled': 'true'}, PartitionKeys: [{Name: 'part', Type: 'string'}],
      StorageDescriptor: {Columns: [{Name: 'n', Type: 'bigint'}, {Name: 'k', Type: 'bigint'}], Location: `s3://${DATA}/numbers/`, SerdeInfo: {SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'}},
    }}))
    await admin.athena.send(new CreateWorkGroupCommand({Name: 'wg', Configuration: {ResultConfiguration: {OutputLocation: `s3://${RESULTS}/athena/`}, EnforceWorkGroupConfiguration: true}}))
    // a reader: athena + glue on everything, S3 read on people/ only, results writable
    await admin.iam.send(new CreateUserCommand({UserName: 'reader'}))
    const {Policy} = await admin.iam.send(new CreatePolicyCommand({PolicyName: 'reader', PolicyDocument: JSON.stringify({Version: '2012-10-17', Statement: [
      {Effect: 'Allow', Action: ['athena:*', 'glue:GetTable', 'glue:GetTables', 'glue:GetDatabase'], Resource: '*'},
      {Effect: 'Allow', Action: 's3:ListBucket', Resource: `arn:aws:s3:::${DATA}`},
      {Effect: 'Allow', Action: 's3:GetObject', Resource: [`arn:aws:s3:::${DATA}/people/*`, `arn:aws:s3:::${RESULTS}/*`]},
      {Effect: 'Allow', Action: 's3:PutObject', Resource: `arn:aws:s3:::${RESULTS}/*`},
    ]})}))
    await admin.iam.send(new AttachUserPolicyCommand({UserName: 'reader', PolicyArn: Policy!.Arn}))
    const {AccessKey} = await admin.iam.send(new CreateAccessKeyCommand({UserName: 'reader'}))
    readerKeys = {accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey!}
    reader = createClients({region: p.region, endpoint: p.endpoint, credentials: {...readerKeys}})
  }, 60_000)
  afterAll(async () => {
    admin?.destroy()
    reader?.destroy()
    await p?.close()
    rmSync(dir, {recursive: true, force: true})
  })

  it('Glue keeps tables as GetTable answers them (names lower-cased)', async () => {
    const {Table} = await admin.glue.send(new GetTableCommand({DatabaseName: DB, Name: 'PEOPLE'}))
    expect(Table).toMatchObject({Name: 'people', DatabaseName: DB, StorageDescriptor: {Columns: [{Name: 'id'}, {Name: 'site'}, {Name: 'score'}, {Name: 'born'}]}})
    const {TableList} = await admin.glue.send(new GetTablesCommand({DatabaseName: DB, Expression: 'peo*|numbers'}))
    expect(TableList?.map((t) => t.Name)).toEqual(['numbers', 'people'])
    await expect(admin.glue.send(new GetTableCommand({DatabaseName: DB, Name: 'nope'}))).rejects.toMatchObject({name: 'EntityNotFoundException'})
    await expect(admin.glue.send(new CreateDatabaseCommand({DatabaseInput: {Name: DB}}))).rejects.toMatchObject({name: 'AlreadyExistsException'})
  })

  it('answers a query over CSV partitions with Athena\'s result file, header row, types and NULLs', async () => {
    const q = await run(admin.athena, 'SELECT id, site, score, born, day FROM people ORDER BY id')
    expect(q.Status?.State, q.Status?.StateChangeReason).toBe('SUCCEEDED')
    expect(q.ResultConfiguration?.OutputLocation).toBe(`s3://${RESULTS}/athena/${q.QueryExecutionId}.csv`)
    expect(q.Statistics?.DataScannedInBytes).toBeGreaterThan(0)
    expect(await rows(admin.athena, q.QueryExecutionId!)).toEqual([
      ['id', 'site', 'score', 'born', 'day'],
      ['1', 'Oslo', '10', '1950-01-02', '2026-01-01'],
      ['2', 'Lima, Peru', null, '1970-05-06', '2026-01-01'],
      ['3', 'Oslo', '30', null, '2026-01-02'],
    ])
    const out = await admin.athena.send(new GetQueryResultsCommand({QueryExecutionId: q.QueryExecutionId}))
    expect(out.ResultSet?.ResultSetMetadata?.ColumnInfo?.map((c) => `${c.Name}:${c.Type}`)).toEqual(['id:varchar', 'site:varchar', 'score:bigint', 'born:date', 'day:varchar'])
    const file = await admin.s3.send(new GetObjectCommand({Bucket: RESULTS, Key: `athena/${q.QueryExecutionId}.csv`}))
    expect((await file.Body!.transformToString()).split('\n')[0]).toBe('"id","site","score","born","day"')
  })

  it('aggregates over parquet equal DuckDB\'s on the same file; Trino semantics: integer division, _colN names', async () => {
    const q = await run(admin.athena, 'SELECT k, count(*), sum(n), 7 / 2 AS half FROM numbers GROUP BY k ORDER BY k')
    expect(q.Status?.State, q.Status?.StateChangeReason).toBe('SUCCEEDED')
    const file = join(dir, 'direct.parquet')
    writeFileSync(file, parquetBytes)
    const duck = await (await DuckDBInstance.create(':memory:')).connect()
    const direct = (await duck.runAndReadAll(`SELECT k, count(*), sum(n) FROM '${file}' GROUP BY k ORDER BY k`)).getRows().map((r) => [...r.map(String), '3'])
    expect(await rows(admin.athena, q.QueryExecutionId!)).toEqual([['k', '_col1', '_col2', 'half'], ...direct])
  })

  it('pages results with NextToken; bounded pages of MaxResults rows', async () => {
    const q = await run(admin.athena, 'SELECT n FROM numbers ORDER BY n')
    const seen: string[] = []
    let NextToken: string | undefined
    let pages = 0
    do {
      const page = await admin.athena.send(new GetQueryResultsCommand({QueryExecutionId: q.QueryExecutionId, MaxResults: 300, NextToken}))
      seen.push(...page.ResultSet!.Rows!.map((r) => r.Data![0]!.VarCharValue!))
      NextToken = page.NextToken
      pages++
    } while (NextToken)
    expect(pages).toBe(4)
    expect(seen).toEqual(['n', ...Array.from({length: 1000}, (_, i) => String(i))])
  })

  it('a failed query gives Athena\'s reason with line and column', async () => {
    const bad = await run(admin.athena, 'SELECT id,\n  nope FROM people')
    expect(bad.Status).toMatchObject({State: 'FAILED', AthenaError: {ErrorCategory: 2}})
    expect(bad.Status?.StateChangeReason).toMatch(/^COLUMN_NOT_FOUND: line 2:3: /)
    const missing = await run(admin.athena, 'SELECT * FROM nowhere')
    expect(missing.Status?.StateChangeReason).toMatch(/^TABLE_NOT_FOUND: line 1:15: /)
    const syntax = await run(admin.athena, 'SELEC 1')
    expect(syntax.Status?.StateChangeReason).toMatch(/^SYNTAX_ERROR: line 1:1: /)
    await expect(admin.athena.send(new GetQueryResultsCommand({QueryExecutionId: bad.QueryExecutionId}))).rejects.toMatchObject({name: 'InvalidRequestException'})
  })

  it('refuses what it would answer differently, and what is not a query, with a clear reason', async () => {
    expect(() => checkQuery("SELECT format('%s', 1)")).toThrow(/function format is not supported/)
    expect(() => checkQuery('SELECT 1; SELECT 2')).toThrow(/only one statement/)
    expect(checkQuery("SELECT ';' AS semicolon -- ; in a comment\n;")).toBe("SELECT ';' AS semicolon")
    expect(checkQuery("SELECT 1 WHERE 'a' = 'a';  ")).toBe("SELECT 1 WHERE 'a' = 'a'")
    const ddl = await run(admin.athena, 'DROP TABLE people')
    expect(ddl.Status?.StateChangeReason).toMatch(/^NOT_SUPPORTED: .*DROP statements are not run/)
    const files = await run(admin.athena, "SELECT * FROM read_csv('/etc/passwd')")
    expect(files.Status?.State).toBe('FAILED')
    expect(files.Status?.StateChangeReason).toMatch(/disabled by configuration|Permission/)
  })

  it('ExecutionParameters are typed values, never SQL: an injection attempt is data', async () => {
    expect(parseParameter("'O''Brien'", 0)).toBe("O'Brien")
    expect(() => parseParameter("1; DROP TABLE x", 0)).toThrow(/not a SQL literal/)
    const evil = "'x'' OR 1=1 --'"
    const q = await run(admin.athena, 'SELECT count(*) AS n FROM people WHERE site = ? OR id = ?', {ExecutionParameters: [evil, "'1'"]})
    expect(q.Status?.State, q.Status?.StateChangeReason).toBe('SUCCEEDED')
    expect(await rows(admin.athena, q.QueryExecutionId!)).toEqual([['n'], ['1']])
  })

  it('IAM at every step: athena and glue actions, the caller\'s own s3:GetObject on the data', async () => {
    const ok = await run(reader.athena, 'SELECT count(*) AS n FROM people')
    expect(ok.Status?.State, ok.Status?.StateChangeReason).toBe('SUCCEEDED')
    const denied = await run(reader.athena, 'SELECT * FROM secret')
    expect(denied.Status).toMatchObject({State: 'FAILED'})
    expect(denied.Status?.StateChangeReason).toContain(`Permission denied on S3 path: s3://${DATA}/secret/`)
    const nobody = createClients({region: p.region, endpoint: p.endpoint, credentials: {accessKeyId: 'AKIANOBODY', secretAccessKey: 'x'}})
    await expect(nobody.athena.send(new StartQueryExecutionCommand({QueryString: 'SELECT 1', WorkGroup: 'wg'}))).rejects.toMatchObject({$metadata: {httpStatusCode: 403}})
    nobody.destroy()
  })

  it('StopQueryExecution cancels a running query', async () => {
    const {QueryExecutionId} = await admin.athena.send(new StartQueryExecutionCommand({
      QueryString: 'SELECT count(*) FROM numbers a, numbers b, numbers c, numbers d WHERE a.n + b.n + c.n + d.n = -1', QueryExecutionContext: {Database: DB}, WorkGroup: 'wg',
    }))
    await new Promise((r) => setTimeout(r, 500))
    await admin.athena.send(new StopQueryExecutionCommand({QueryExecutionId}))
    let state = ''
    for (let i = 0; i < 100 && !['CANCELLED', 'SUCCEEDED', 'FAILED'].includes(state); i++) {
      await new Promise((r) => setTimeout(r, 50))
      state = (await admin.athena.send(new GetQueryExecutionCommand({QueryExecutionId}))).QueryExecution!.Status!.State!
    }
    expect(state).toBe('CANCELLED')
  })

  it('the DuckDB caret becomes Athena\'s line:column, also for a truncated snippet', () => {
    const sql = `SELECT ${'a, '.repeat(40)}zz FROM t`
    const message = `Binder Error: Referenced column "zz" not found in FROM clause!\n\nLINE 1: ...a, a, a, zz FROM t\n                    ^`
    expect(athenaReason(sql, message).reason).toBe(`COLUMN_NOT_FOUND: line 1:${sql.indexOf('zz') + 1}: Referenced column "zz" not found`)
  })

  describe.skipIf(!existsSync(AWS))('Debian\'s aws cli (an independent client)', () => {
    const aws = (args: string[]) => new Promise<{code: number; stdout: string; stderr: string}>((resolve) => {
      execFile(AWS, ['--endpoint-url', p.endpoint, '--region', p.region, '--output', 'json', ...args], {
        env: {PATH: process.env.PATH ?? '', HOME: dir, AWS_ACCESS_KEY_ID: readerKeys.accessKeyId, AWS_SECRET_ACCESS_KEY: readerKeys.secretAccessKey, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null'},
      }, (error, stdout, stderr) => resolve({code: error ? Number((error as {code?: number}).code ?? 1) : 0, stdout, stderr}))
    })
    it('glue get-tables, athena start-query-execution / get-query-execution / get-query-results', async () => {
      const tables = await aws(['glue', 'get-tables', '--database-name', DB])
      expect(tables.code, tables.stderr).toBe(0)
      expect(JSON.parse(tables.stdout).TableList.map((t: {Name: string}) => t.Name)).toContain('people')
      const start = await aws(['athena', 'start-query-execution', '--work-group', 'wg', '--query-execution-context', `Database=${DB}`, '--query-string', 'SELECT site, count(*) AS n FROM people GROUP BY site ORDER BY site'])
      expect(start.code, start.stderr).toBe(0)
      const id = JSON.parse(start.stdout).QueryExecutionId
      let state = 'QUEUED'
      while (state === 'QUEUED' || state === 'RUNNING') state = JSON.parse((await aws(['athena', 'get-query-execution', '--query-execution-id', id])).stdout).QueryExecution.Status.State
      expect(state).toBe('SUCCEEDED')
      const results = JSON.parse((await aws(['athena', 'get-query-results', '--query-execution-id', id])).stdout)
      expect(results.ResultSet.Rows.map((r: {Data: Array<{VarCharValue?: string}>}) => r.Data.map((d) => d.VarCharValue))).toEqual([['site', 'n'], ['Lima, Peru', '1'], ['Oslo', '2']])
    }, 60_000)
  })
})
