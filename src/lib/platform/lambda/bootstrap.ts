import {createHash} from 'node:crypto'
import {access, mkdir} from 'node:fs/promises'
import {join} from 'node:path'

import {writeFileAtomic} from './fs-util.js'

/**
 * The child-process side of an invocation, written to `<data>/lambda/runtime/bootstrap-<hash>.mjs` and run with
 * `process.execPath`. It is kept as source text (not a module of this package) so that it works the same from
 * `src/` under vitest/tsx and from the esbuild bundle in `dist/`.
 *
 * Protocol over the IPC channel: child → {type:'ready'}; parent → {type:'invoke', requestId, event, deadline,
 * handler, taskRoot, functionName, functionArn, memoryMb, logGroupName, logStreamName}; child →
 * {type:'result', ok:true, payload: <JSON text>} | {type:'result', ok:false, error:{errorType, errorMessage, trace}},
 * each with maxRssKb; then the child exits. Behaviour follows the AWS nodejs20.x runtime:
 * - handler `dir/file.a.b` → module dir/file(.js|.mjs|.cjs) from the task root, export path a.b (also looked up on
 *   the CommonJS `default`);
 * - a handler returning a promise answers when it settles; otherwise the callback (or context.done/succeed/fail)
 *   answers, after the event loop empties unless context.callbackWaitsForEmptyEventLoop is set to false; a
 *   non-promise handler that never calls back answers null once the event loop is empty;
 * - console.* lines are prefixed `<ISO time>\t<requestId>\t<LEVEL>\t`;
 * - error types Runtime.MalformedHandlerName, Runtime.ImportModuleError, Runtime.UserCodeSyntaxError,
 *   Runtime.HandlerNotFound, Runtime.UnhandledPromiseRejection, else the error's name.
 */
export const BOOTSTRAP_SOURCE = String.raw`// cape local Lambda bootstrap (generated; do not edit)
import {existsSync} from 'node:fs'
import path from 'node:path'
import {pathToFileURL} from 'node:url'
import {format, types} from 'node:util'

let current = null
let finished = false
let promiseHandler = false
let pendingCallback = null
let keepAlive = null

function typedError(type, message) {
  const e = new Error(message)
  e.name = type
  return e
}

function errorObject(err, forcedType) {
  if (types.isNativeError(err) || (err && typeof err === 'object' && typeof err.message === 'string')) {
    return {
      errorType: forcedType || (typeof err.name === 'string' && err.name) || 'Error',
      errorMessage: String(err.message),
      trace: typeof err.stack === 'string' ? err.stack.split('\n') : [],
    }
  }
  return {errorType: forcedType || typeof err, errorMessage: String(err), trace: []}
}

function send(message) {
  return new Promise((resolve) => {
    try {
      process.send(message, () => resolve())
    } catch {
      resolve()
    }
  })
}

async function finish(message) {
  if (finished) return
  finished = true
  if (keepAlive) clearInterval(keepAlive)
  message.maxRssKb = process.resourceUsage().maxRSS
  await send(message)
  process.exit(0)
}

function succeed(value) {
  let payload
  try {
    payload = JSON.stringify(value === undefined ? null : value)
    if (payload === undefined) payload = 'null'
  } catch (e) {
    return finish({type: 'result', ok: false, error: errorObject(e, 'Runtime.SerializationError')})
  }
  return finish({type: 'result', ok: true, payload})
}

function fail(err, forcedType) {
  return finish({type: 'result', ok: false, error: errorObject(err, forcedType)})
}

function patchConsole(requestId) {
  const line = (level) => (...args) => {
    process.stdout.write(new Date().toISOString() + '\t' + requestId + '\t' + level + '\t' + format(...args) + '\n')
  }
  console.log = line('INFO')
  console.info = line('INFO')
  console.warn = line('WARN')
  console.error = line('ERROR')
  console.debug = line('DEBUG')
  console.trace = line('TRACE')
}

async function loadHandler(taskRoot, handlerString) {
  const slash = handlerString.lastIndexOf('/')
  const rest = handlerString.slice(slash + 1)
  const dot = rest.indexOf('.')
  if (dot <= 0 || dot === rest.length - 1) {
    throw typedError('Runtime.MalformedHandlerName', "Bad handler '" + handlerString + "': expected file.export")
  }
  const modulePath = handlerString.slice(0, slash + 1) + rest.slice(0, dot)
  const exportPath = rest.slice(dot + 1).split('.')
  let file
  for (const ext of ['.js', '.mjs', '.cjs']) {
    const candidate = path.resolve(taskRoot, modulePath + ext)
    if (existsSync(candidate)) {
      file = candidate
      break
    }
  }
  if (!file) throw typedError('Runtime.ImportModuleError', "Error: Cannot find module '" + modulePath + "'")
  let ns
  try {
    ns = await import(pathToFileURL(file).href)
  } catch (e) {
    if (e instanceof SyntaxError) throw typedError('Runtime.UserCodeSyntaxError', String(e))
    if (e && (e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND')) {
      throw typedError('Runtime.ImportModuleError', String(e))
    }
    throw e
  }
  const walk = (root) => exportPath.reduce((o, k) => (o === null || o === undefined ? undefined : o[k]), root)
  let fn = walk(ns)
  if (typeof fn !== 'function' && ns.default) fn = walk(ns.default)
  if (typeof fn !== 'function') {
    throw typedError('Runtime.HandlerNotFound', handlerString + ' is undefined or not exported')
  }
  return fn
}

async function run(msg) {
  patchConsole(msg.requestId)
  const handler = await loadHandler(msg.taskRoot, msg.handler)
  const callback = (err, value) => {
    if (finished || pendingCallback) return
    const outcome = err === undefined || err === null ? {ok: true, value} : {ok: false, err}
    if (!promiseHandler && context.callbackWaitsForEmptyEventLoop) {
      pendingCallback = outcome // answered on 'beforeExit', like the AWS runtime
      return
    }
    if (outcome.ok) succeed(outcome.value)
    else fail(outcome.err)
  }
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: msg.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: msg.functionArn,
    memoryLimitInMB: String(msg.memoryMb),
    awsRequestId: msg.requestId,
    logGroupName: msg.logGroupName,
    logStreamName: msg.logStreamName,
    getRemainingTimeInMillis: () => Math.max(0, msg.deadline - Date.now()),
    done: (err, value) => callback(err, value),
    succeed: (value) => callback(null, value),
    fail: (err) => callback(err === undefined || err === null ? new Error('handled') : err),
  }
  const result = handler(msg.event, context, callback)
  if (result && typeof result.then === 'function') {
    promiseHandler = true
    // A pending promise keeps the invocation open until it settles or the function times out (as on AWS).
    keepAlive = setInterval(() => {}, 1 << 30)
    result.then(
      (value) => succeed(value),
      (err) => fail(err === undefined || err === null ? new Error('Promise rejected with ' + String(err)) : err),
    )
  }
}

process.on('beforeExit', () => {
  if (!current || finished) return
  if (pendingCallback) {
    if (pendingCallback.ok) succeed(pendingCallback.value)
    else fail(pendingCallback.err)
  } else {
    succeed(null)
  }
})

process.on('uncaughtException', (err) => {
  fail(err)
})

process.on('unhandledRejection', (reason) => {
  const e = typedError('Runtime.UnhandledPromiseRejection', reason instanceof Error ? reason.name + ': ' + reason.message : String(reason))
  if (reason instanceof Error && reason.stack) e.stack = reason.stack
  fail(e)
})

process.on('message', (msg) => {
  if (!msg || msg.type !== 'invoke' || current) return
  current = msg
  if (process.channel) process.channel.unref()
  run(msg).catch((err) => fail(err))
})

process.send({type: 'ready'})
`

/** Write the bootstrap once per content version; returns its path. */
export async function ensureBootstrap(runtimeDir: string): Promise<string> {
  const hash = createHash('sha256').update(BOOTSTRAP_SOURCE).digest('hex').slice(0, 12)
  const file = join(runtimeDir, `bootstrap-${hash}.mjs`)
  try {
    await access(file)
  } catch {
    await mkdir(runtimeDir, {recursive: true})
    await writeFileAtomic(file, BOOTSTRAP_SOURCE)
  }
  return file
}
