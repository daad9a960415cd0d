import {existsSync} from 'node:fs'
import {mkdtemp, readFile, readdir, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {strToU8, zipSync} from 'fflate'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import {CapeError} from '../../../../src/lib/cli/errors.js'
import {createLambdaRuntime, readLambdaState} from '../../../../src/lib/platform/lambda/index.js'
import type {FunctionDefinition, LambdaRuntime, LambdaRuntimeOptions} from '../../../../src/lib/platform/lambda/index.js'

const ACCOUNT = '123456789012'
const REGION = 'eu-west-1'
const ENDPOINT = 'http://127.0.0.1:4599'

const zip = (files: Record<string, string>) =>
  Buffer.from(zipSync(Object.fromEntries(Object.entries(files).map(([name, text]) => [name, strToU8(text)]))))

function definition(name: string, files: Record<string, string>, over: Partial<FunctionDefinition> = {}): FunctionDefinition {
  return {
    name,
    arn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`,
    roleArn: `arn:aws:iam::${ACCOUNT}:role/${name}-role`,
    handler: 'index.handler',
    runtime: 'nodejs20.x',
    timeoutSeconds: 10,
    memoryMb: 256,
    environment: {},
    code: zip(files),
    ...over,
  }
}

/** credentialsFor: a fresh key per call, remembering which role asked. */
function credentialSource() {
  const calls: string[] = []
  const credentialsFor = async (roleArn: string) => {
    calls.push(roleArn)
    return {accessKeyId: `ASIALOCAL${calls.length}`, secretAccessKey: `secret-${calls.length}`, sessionToken: `token-${calls.length}`}
  }
  return {calls, credentialsFor}
}

const dirs: string[] = []
async function tempDataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cape-lambda-'))
  dirs.push(dir)
  return join(dir, 'lambda')
}

async function startRuntime(dataDir: string, over: Partial<LambdaRuntimeOptions> = {}) {
  const creds = credentialSource()
  const runtime = await createLambdaRuntime({
    dataDir,
    endpoint: () => ENDPOINT,
    region: REGION,
    credentialsFor: creds.credentialsFor,
    ...over,
  })
  return {runtime, creds}
}

afterAll(async () => {
  for (const dir of dirs) await rm(dir, {recursive: true, force: true})
})

const ESM_ECHO = `
export const handler = async (event, context) => {
  console.log('echo', {got: event.value})
  process.stderr.write('to stderr\\n')
  return {
    event,
    functionName: context.functionName,
    functionVersion: context.functionVersion,
    invokedFunctionArn: context.invokedFunctionArn,
    memoryLimitInMB: context.memoryLimitInMB,
    awsRequestId: context.awsRequestId,
    logGroupName: context.logGroupName,
    remaining: context.getRemainingTimeInMillis(),
  }
}
`

describe('local Lambda runtime: handlers', () => {
  let dataDir: string
  let runtime: LambdaRuntime
  let creds: ReturnType<typeof credentialSource>

  beforeAll(async () => {
    dataDir = await tempDataDir()
    ;({runtime, creds} = await startRuntime(dataDir))
  })
  afterAll(async () => {
    await runtime.close()
  })

  it('runs an ESM async handler (index.mjs) with an AWS-shaped context and logs START/END/REPORT', async () => {
    const fn = definition('esm-echo', {'index.mjs': ESM_ECHO}, {timeoutSeconds: 7})
    await runtime.putFunction(fn)
    const result = await runtime.invoke(fn.arn, {value: 42}, {sync: true})

    expect(result).toMatchObject({status: 'success', functionName: 'esm-echo'})
    expect(result.functionError).toBeUndefined()
    const payload = result.payload as Record<string, unknown>
    expect(payload).toMatchObject({
      event: {value: 42},
      functionName: 'esm-echo',
      functionVersion: '$LATEST',
      invokedFunctionArn: fn.arn,
      memoryLimitInMB: '256',
      awsRequestId: result.requestId,
      logGroupName: '/aws/lambda/esm-echo',
    })
    expect(payload.remaining).toBeGreaterThan(5000)
    expect(payload.remaining).toBeLessThanOrEqual(7000)
    expect(creds.calls.at(-1)).toBe(fn.roleArn)

    const log = await readFile(runtime.logPath('esm-echo'), 'utf8')
    const id = result.requestId
    expect(log).toContain(`START RequestId: ${id} Version: $LATEST\n`)
    expect(log).toMatch(new RegExp(`\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\t${id}\\tINFO\\techo { got: 42 }\\n`))
    expect(log).toContain('to stderr\n')
    expect(log).toContain(`END RequestId: ${id}\n`)
    expect(log).toMatch(new RegExp(`REPORT RequestId: ${id}\\tDuration: [\\d.]+ ms\\tBilled Duration: \\d+ ms\\tMemory Size: 256 MB\\tMax Memory Used: \\d+ MB\\tInit Duration: [\\d.]+ ms\\n`))
    expect(log.indexOf('START')).toBeLessThan(log.indexOf('echo'))
    expect(log.indexOf('echo')).toBeLessThan(log.indexOf('END'))
  })

  it('runs a CommonJS handler (index.js) and a handler in a sub-folder with a nested export path', async () => {
    await runtime.putFunction(
      definition('cjs', {
        'index.js': "const os = require('node:os'); exports.handler = async (e) => ({sum: e.a + e.b, cjs: typeof module})",
        'lib/app.cjs': 'module.exports = {api: {main: async () => "nested"}}',
      }),
    )
    expect((await runtime.invoke('cjs', {a: 2, b: 3}, {sync: true})).payload).toEqual({sum: 5, cjs: 'object'})

    await runtime.putFunction(definition('nested', {'lib/app.cjs': 'module.exports = {api: {main: async () => "nested"}}'}, {handler: 'lib/app.api.main'}))
    expect(await runtime.invoke('nested', {}, {sync: true})).toMatchObject({status: 'success', payload: 'nested'})
  })

  it('supports callback-style handlers (result, error, and no callback at all → null)', async () => {
    await runtime.putFunction(
      definition('callback', {
        'index.js': `exports.handler = function (event, context, callback) {
          setTimeout(() => event.fail ? callback(new Error('callback failed')) : callback(null, {n: event.n + 1}), 20)
        }`,
      }),
    )
    expect(await runtime.invoke('callback', {n: 1}, {sync: true})).toMatchObject({status: 'success', payload: {n: 2}})
    expect(await runtime.invoke('callback', {fail: true}, {sync: true})).toMatchObject({
      status: 'error',
      functionError: 'Unhandled',
      errorType: 'Error',
      errorMessage: 'callback failed',
      payload: {errorType: 'Error', errorMessage: 'callback failed'},
    })

    // callbackWaitsForEmptyEventLoop = false: answer at the callback despite a live timer.
    await runtime.putFunction(
      definition('no-wait', {
        'index.js': `exports.handler = (event, context, callback) => {
          context.callbackWaitsForEmptyEventLoop = false
          setInterval(() => {}, 1000)
          callback(null, 'answered')
        }`,
      }, {timeoutSeconds: 3}),
    )
    expect(await runtime.invoke('no-wait', {}, {sync: true})).toMatchObject({status: 'success', payload: 'answered'})

    await runtime.putFunction(definition('no-callback', {'index.js': 'exports.handler = function (event) { setTimeout(() => {}, 10) }'}))
    expect(await runtime.invoke('no-callback', {}, {sync: true})).toMatchObject({status: 'success', payload: null})
  })

  it('reports a throwing handler as an error object, sync and async, without ever rejecting', async () => {
    await runtime.putFunction(
      definition('thrower', {
        'index.mjs': `class ValidationError extends Error { constructor(m) { super(m); this.name = 'ValidationError' } }
          export const handler = async (event) => { throw new ValidationError('bad row ' + event.row) }`,
      }),
    )
    const sync = await runtime.invoke('thrower', {row: 7}, {sync: true})
    expect(sync).toMatchObject({status: 'error', errorType: 'ValidationError', errorMessage: 'bad row 7', functionError: 'Unhandled'})
    expect((sync.payload as {trace: string[]}).trace[0]).toBe('ValidationError: bad row 7')

    const queued = await runtime.invoke('thrower', {row: 8})
    expect(queued).toMatchObject({status: 'queued', functionName: 'thrower'})
    await runtime.idle()
    const activity = runtime.activity('thrower')
    expect(activity).toMatchObject({invocations: 2, errors: 2})
    expect(activity.recent.at(-1)).toMatchObject({requestId: queued.requestId, status: 'error', errorType: 'ValidationError', errorMessage: 'bad row 8'})

    const log = await readFile(runtime.logPath('thrower'), 'utf8')
    expect(log).toContain(`${queued.requestId}\tERROR\tInvoke Error \t{"errorType":"ValidationError","errorMessage":"bad row 8"`)
  })

  it('maps loading failures and crashes to the AWS runtime error types', async () => {
    await runtime.putFunction(definition('no-export', {'index.mjs': 'export const other = async () => 1'}))
    expect(await runtime.invoke('no-export', {}, {sync: true})).toMatchObject({
      status: 'error',
      errorType: 'Runtime.HandlerNotFound',
      errorMessage: 'index.handler is undefined or not exported',
    })

    await runtime.putFunction(definition('no-module', {'other.js': 'exports.handler = async () => 1'}))
    expect(await runtime.invoke('no-module', {}, {sync: true})).toMatchObject({status: 'error', errorType: 'Runtime.ImportModuleError'})

    await runtime.putFunction(definition('syntax', {'index.mjs': 'export const handler = async () => {{'}))
    expect(await runtime.invoke('syntax', {}, {sync: true})).toMatchObject({status: 'error', errorType: 'Runtime.UserCodeSyntaxError'})

    await runtime.putFunction(definition('exits', {'index.js': 'exports.handler = async () => { process.exit(3) }'}))
    const exited = await runtime.invoke('exits', {}, {sync: true})
    expect(exited).toMatchObject({status: 'error', errorType: 'Runtime.ExitError'})
    expect(exited.errorMessage).toBe(`RequestId: ${exited.requestId} Error: Runtime exited with error: exit status 3`)

    await runtime.putFunction(definition('rejects-later', {'index.mjs': 'export const handler = async () => { Promise.reject(new Error("lost")); await new Promise(r => setTimeout(r, 200)); return 1 }'}))
    expect(await runtime.invoke('rejects-later', {}, {sync: true})).toMatchObject({
      status: 'error',
      errorType: 'Runtime.UnhandledPromiseRejection',
      errorMessage: 'Error: lost',
    })
  })

  it('kills a handler at its timeout and records "Task timed out after N seconds"', async () => {
    await runtime.putFunction(
      definition('sleeper', {'index.mjs': 'export const handler = async () => { await new Promise(r => setTimeout(r, 20000)); return "late" }'}, {timeoutSeconds: 1}),
    )
    const t0 = Date.now()
    const result = await runtime.invoke('sleeper', {}, {sync: true})
    const elapsed = Date.now() - t0
    expect(result).toMatchObject({
      status: 'error',
      errorType: 'Sandbox.Timedout',
      errorMessage: 'Task timed out after 1.00 seconds',
      timedOut: true,
    })
    expect(elapsed).toBeGreaterThanOrEqual(1000)
    expect(elapsed).toBeLessThan(4000)
    const log = await readFile(runtime.logPath('sleeper'), 'utf8')
    expect(log).toMatch(new RegExp(`Z ${result.requestId} Task timed out after 1.00 seconds\\nEND RequestId: ${result.requestId}\\nREPORT .*\\tStatus: timeout\\n`))
    expect(runtime.activity('sleeper').recent[0]).toMatchObject({status: 'error', timedOut: true, errorType: 'Sandbox.Timedout'})
  })

  it("gives the handler only the Lambda environment: no parent secrets, fresh role credentials per invocation", async () => {
    process.env.SECRET_TEST = 'parent-secret-must-not-leak'
    process.env.AWS_SECRET_ACCESS_KEY_PARENT = 'also-not'
    try {
      const fn = definition('env', {'index.mjs': 'export const handler = async () => ({...process.env})'}, {
        memoryMb: 512,
        timeoutSeconds: 30,
        environment: {RAW_BUCKET: 'cape-raw', NODE_OPTIONS: '--enable-source-maps'},
      })
      await runtime.putFunction(fn)
      const first = (await runtime.invoke('env', {}, {sync: true})).payload as Record<string, string>
      const second = (await runtime.invoke('env', {}, {sync: true})).payload as Record<string, string>

      expect(first.SECRET_TEST).toBeUndefined()
      expect(Object.values(first)).not.toContain('parent-secret-must-not-leak')
      expect(Object.values(first)).not.toContain('also-not')
      expect(first).toMatchObject({
        RAW_BUCKET: 'cape-raw',
        AWS_REGION: REGION,
        AWS_DEFAULT_REGION: REGION,
        AWS_ENDPOINT_URL: ENDPOINT,
        AWS_LAMBDA_FUNCTION_NAME: 'env',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
        AWS_LAMBDA_FUNCTION_TIMEOUT: '30',
        AWS_SESSION_TOKEN: expect.stringMatching(/^token-\d+$/),
        NODE_OPTIONS: '--enable-source-maps --max-old-space-size=460',
        PATH: process.env.PATH,
      })
      expect(first.LAMBDA_TASK_ROOT).toMatch(/[/\\]extracted[/\\][0-9a-f]{64}$/)
      expect(first.AWS_ACCESS_KEY_ID).toMatch(/^ASIALOCAL\d+$/)
      expect(second.AWS_ACCESS_KEY_ID).not.toBe(first.AWS_ACCESS_KEY_ID)
      expect(second.AWS_SECRET_ACCESS_KEY).not.toBe(first.AWS_SECRET_ACCESS_KEY)
      // Nothing else of this process: every key is the template's or one the runtime sets.
      const allowed = new Set([
        'RAW_BUCKET', 'NODE_OPTIONS', 'PATH', 'TZ', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ENDPOINT_URL', 'AWS_ACCESS_KEY_ID',
        'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_EXECUTION_ENV', 'AWS_LAMBDA_FUNCTION_NAME', 'AWS_LAMBDA_FUNCTION_VERSION',
        'AWS_LAMBDA_FUNCTION_MEMORY_SIZE', 'AWS_LAMBDA_FUNCTION_TIMEOUT', 'AWS_LAMBDA_LOG_GROUP_NAME', 'LAMBDA_TASK_ROOT', '_HANDLER',
        'AWS_REQUEST_CHECKSUM_CALCULATION', 'AWS_RESPONSE_CHECKSUM_VALIDATION',
      ])
      expect(Object.keys(first).sort()).toEqual([...allowed].sort())
    } finally {
      delete process.env.SECRET_TEST
      delete process.env.AWS_SECRET_ACCESS_KEY_PARENT
    }
  })

  it('refuses unknown functions: sync rejects, async resolves an error', async () => {
    await expect(runtime.invoke('missing', {}, {sync: true})).rejects.toMatchObject({code: 'ResourceNotFoundException'})
    await expect(runtime.invoke('missing', {}, {sync: true})).rejects.toBeInstanceOf(CapeError)
    expect(await runtime.invoke(`arn:aws:lambda:${REGION}:${ACCOUNT}:function:missing`, {})).toMatchObject({
      status: 'error',
      errorType: 'ResourceNotFoundException',
    })
    // Qualified ARNs: $LATEST resolves, other versions do not exist locally.
    await runtime.putFunction(definition('qualified', {'index.mjs': 'export const handler = async () => "ok"'}))
    const arn = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:qualified`
    expect(await runtime.invoke(`${arn}:$LATEST`, {}, {sync: true})).toMatchObject({status: 'success', payload: 'ok'})
    await expect(runtime.invoke(`${arn}:3`, {}, {sync: true})).rejects.toMatchObject({code: 'ResourceNotFoundException'})
  })

  it('validates definitions like AWS (runtime, reserved env keys, unsafe zip entries)', async () => {
    const ok = {'index.mjs': 'export const handler = async () => 1'}
    await expect(runtime.putFunction(definition('py', ok, {runtime: 'python3.12'}))).rejects.toMatchObject({code: 'InvalidParameterValueException'})
    await expect(runtime.putFunction(definition('reserved', ok, {environment: {AWS_ACCESS_KEY_ID: 'x'}}))).rejects.toMatchObject({
      code: 'InvalidParameterValueException',
      message: expect.stringContaining('AWS_ACCESS_KEY_ID'),
    })
    await expect(runtime.putFunction(definition('badhandler', ok, {handler: 'index'}))).rejects.toMatchObject({code: 'InvalidParameterValueException'})
    await expect(runtime.putFunction(definition('notzip', ok, {code: Buffer.from('not a zip at all')}))).rejects.toMatchObject({
      code: 'InvalidParameterValueException',
    })
    const evil = Buffer.from(zipSync({'../evil.js': strToU8('exports.handler = async () => 1')}))
    await expect(runtime.putFunction(definition('evil', ok, {code: evil}))).rejects.toMatchObject({
      code: 'InvalidParameterValueException',
      message: expect.stringContaining('unsafe'),
    })
    expect(existsSync(join(dataDir, 'extracted', '..', 'evil.js'))).toBe(false)
    expect(runtime.getFunction('evil')).toBeUndefined()
  })
})

describe('local Lambda runtime: queue, persistence, shutdown', () => {
  const opened: LambdaRuntime[] = []
  afterEach(async () => {
    for (const r of opened.splice(0)) await r.close()
  })

  it('runs at most maxConcurrent invocations at once, in FIFO order', async () => {
    const {runtime} = await startRuntime(await tempDataDir(), {maxConcurrent: 2})
    opened.push(runtime)
    await runtime.putFunction(definition('nap', {'index.mjs': 'export const handler = async (e) => { await new Promise(r => setTimeout(r, 400)); return e.i }'}))

    const t0 = Date.now()
    const queued = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => runtime.invoke('nap', {i})))
    expect(queued.every((q) => q.status === 'queued')).toBe(true)
    await new Promise((r) => setTimeout(r, 100))
    expect(runtime.load()).toEqual({running: 2, queued: 4})
    await runtime.idle()
    const elapsed = Date.now() - t0

    const recent = runtime.activity('nap').recent
    expect(recent.map((r) => r.status)).toEqual(Array(6).fill('success'))
    // Three rounds of two: at least 3 × 400 ms, clearly less than six sequential rounds.
    expect(elapsed).toBeGreaterThanOrEqual(1200)
    expect(elapsed).toBeLessThan(6 * 400)
    const intervals = recent.map((r) => [Date.parse(r.startedAt), Date.parse(r.endedAt)] as const)
    const maxOverlap = Math.max(...intervals.map(([s]) => intervals.filter(([s2, e2]) => s2 <= s && s < e2).length))
    expect(maxOverlap).toBe(2)
    // FIFO: started in the order they were queued.
    const order = [...recent]
      .sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt))
      .map((r) => queued.findIndex((q) => q.requestId === r.requestId))
    const rounds = [order.slice(0, 2), order.slice(2, 4), order.slice(4, 6)].map((round) => round.sort())
    expect(rounds).toEqual([[0, 1], [2, 3], [4, 5]])
    expect(runtime.load()).toEqual({running: 0, queued: 0})
  })

  it('keeps functions, code and recent activity across a restart; stores identical code once', async () => {
    const dataDir = await tempDataDir()
    const first = await startRuntime(dataDir)
    const code = {'index.mjs': 'export const handler = async (e) => ({twice: e.x * 2})'}
    await first.runtime.putFunction(definition('keep-a', code, {environment: {STAGE: 'dev'}}))
    await first.runtime.putFunction(definition('keep-b', code))
    expect((await first.runtime.invoke('keep-a', {x: 4}, {sync: true})).payload).toEqual({twice: 8})
    await first.runtime.close()

    const registry = JSON.parse(await readFile(join(dataDir, 'functions.json'), 'utf8'))
    expect(registry.functions.map((f: {name: string}) => f.name)).toEqual(['keep-a', 'keep-b'])
    expect(await readdir(join(dataDir, 'code'))).toHaveLength(1)
    expect(await readdir(join(dataDir, 'extracted'))).toHaveLength(1)
    const state = await readLambdaState(dataDir)
    expect(state.activity['keep-a']).toMatchObject({invocations: 1, errors: 0})

    const second = await startRuntime(dataDir)
    opened.push(second.runtime)
    expect(second.runtime.listFunctions().map((f) => f.name)).toEqual(['keep-a', 'keep-b'])
    expect(second.runtime.getFunction(`arn:aws:lambda:${REGION}:${ACCOUNT}:function:keep-a`)).toMatchObject({
      environment: {STAGE: 'dev'},
      codeSha256: registry.functions[0].codeSha256,
    })
    expect((await second.runtime.invoke('keep-b', {x: 5}, {sync: true})).payload).toEqual({twice: 10})
    expect(second.runtime.activity('keep-a').invocations).toBe(1)

    // Shared code survives deleting one user; goes with the last one.
    await second.runtime.deleteFunction('keep-a')
    expect(await readdir(join(dataDir, 'code'))).toHaveLength(1)
    await second.runtime.deleteFunction('keep-b')
    expect(await readdir(join(dataDir, 'code'))).toHaveLength(0)
    expect(await readdir(join(dataDir, 'extracted'))).toHaveLength(0)
    expect(second.runtime.listFunctions()).toEqual([])
  })

  it('re-extracts a bundle whose folder was removed, and replaces code on update', async () => {
    const dataDir = await tempDataDir()
    const {runtime} = await startRuntime(dataDir)
    opened.push(runtime)
    await runtime.putFunction(definition('upd', {'index.mjs': 'export const handler = async () => "v1"'}))
    const sha1 = runtime.getFunction('upd')!.codeSha256
    await rm(join(dataDir, 'extracted', sha1), {recursive: true})
    expect((await runtime.invoke('upd', {}, {sync: true})).payload).toBe('v1')

    await runtime.putFunction(definition('upd', {'index.mjs': 'export const handler = async () => "v2"'}))
    expect((await runtime.invoke('upd', {}, {sync: true})).payload).toBe('v2')
    expect(await readdir(join(dataDir, 'code'))).toEqual([`${runtime.getFunction('upd')!.codeSha256}.zip`])
  })

  it('close() kills running invocations, fails queued ones, and returns promptly', async () => {
    const {runtime} = await startRuntime(await tempDataDir(), {maxConcurrent: 1})
    await runtime.putFunction(
      definition('long', {'index.mjs': 'export const handler = async () => { await new Promise(r => setTimeout(r, 20000)); return 1 }'}, {timeoutSeconds: 60}),
    )
    const running = runtime.invoke('long', {}, {sync: true})
    const waiting = runtime.invoke('long', {}, {sync: true})
    await new Promise((r) => setTimeout(r, 300))
    const t0 = Date.now()
    await runtime.close()
    expect(Date.now() - t0).toBeLessThan(3000)
    expect(await running).toMatchObject({status: 'error', errorType: 'Runtime.Aborted'})
    expect(await waiting).toMatchObject({status: 'error', errorType: 'Runtime.Aborted'})
    await expect(runtime.invoke('long', {}, {sync: true})).rejects.toMatchObject({code: 'ServiceException'})
    expect(await runtime.invoke('long', {})).toMatchObject({status: 'error', errorType: 'ServiceException'})
  })
})
