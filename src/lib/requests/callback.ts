import {request as httpRequest} from 'node:http'
import {request as httpsRequest} from 'node:https'
import type {LookupFunction} from 'node:net'
import {resolveCallbackTarget, type CallbackPolicy} from './callback-guard.js'
import type {CallbackOutcome} from './status.js'

export interface CallbackOptions {
  /** Per attempt (default 5 s). */
  timeoutMs?: number
  /** Retries after the first attempt (default 3). */
  retries?: number
  /** First retry delay, doubled each time (default 250 ms). */
  backoffMs?: number
  /** Give up when this moment (epoch ms) would be passed (the function's own deadline). */
  deadline?: number
  signal?: AbortSignal
  /** Where callbacks may go (see callback-guard.ts); default: public https only. */
  policy?: CallbackPolicy
  /** Extra TLS options (tests: a CA for a local https server). */
  tls?: {ca?: string | Buffer}
}

/** One POST to the checked address: the host name stays the TLS name and the Host header; no redirect followed. */
function postOnce(url: URL, text: string, pinned: {address: string; family: 4 | 6}, signal: AbortSignal, tls: CallbackOptions['tls']): Promise<number> {
  const lookup: LookupFunction = (_host, opts, cb) => {
    if ((opts as {all?: boolean}).all) (cb as unknown as (e: null, a: Array<{address: string; family: number}>) => void)(null, [pinned])
    else cb(null, pinned.address, pinned.family)
  }
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const req = send(url, {
      method: 'POST',
      headers: {'content-type': 'application/json', 'user-agent': 'cape-extractor', 'content-length': Buffer.byteLength(text)},
      lookup,
      signal,
      ...(tls?.ca ? {ca: tls.ca} : {}),
    }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(text)
  })
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** 408, 429 and 5xx are worth another try; other answers are final. */
const retryable = (status: number) => status === 408 || status === 429 || status >= 500

/**
 * POST the final status as JSON to the request's callbackUrl: a timeout per attempt and retries with backoff on
 * network errors, 408, 429 and 5xx. Never throws: the outcome is recorded in the status.
 */
export async function postCallback(url: string, body: unknown, options: CallbackOptions = {}): Promise<CallbackOutcome> {
  const timeoutMs = options.timeoutMs ?? 5000
  const retries = options.retries ?? 3
  const backoff = options.backoffMs ?? 250
  const text = JSON.stringify(body)
  const target = await resolveCallbackTarget(url, options.policy)
  if (!target.ok) return {url, ok: false, attempts: 0, refused: true, error: `refused: ${target.reason}`, at: new Date().toISOString()}
  let attempts = 0
  let httpStatus: number | undefined
  let error: string | undefined
  for (;;) {
    attempts++
    const remaining = options.deadline === undefined ? timeoutMs : Math.min(timeoutMs, options.deadline - Date.now())
    if (remaining <= 0) {
      error = 'no time left before the function deadline'
      break
    }
    httpStatus = undefined
    error = undefined
    try {
      const signals = [AbortSignal.timeout(remaining), ...(options.signal ? [options.signal] : [])]
      httpStatus = await postOnce(new URL(url), text, target, AbortSignal.any(signals), options.tls)
      if (httpStatus >= 200 && httpStatus < 300) return {url, ok: true, attempts, httpStatus, at: new Date().toISOString()}
      error = `HTTP ${httpStatus}`
      if (!retryable(httpStatus)) break
    } catch (e) {
      const err = e as NodeJS.ErrnoException & {cause?: {name?: string}}
      const timedOut = err.name === 'TimeoutError' || (err.name === 'AbortError' && err.cause?.name === 'TimeoutError')
      error = timedOut ? `no answer within ${remaining} ms` : (err.code ?? err.message)
    }
    if (attempts > retries || options.signal?.aborted) break
    const delay = backoff * 2 ** (attempts - 1)
    if (options.deadline !== undefined && Date.now() + delay >= options.deadline) break
    await sleep(delay)
  }
  return {url, ok: false, attempts, ...(httpStatus === undefined ? {} : {httpStatus}), ...(error ? {error} : {}), at: new Date().toISOString()}
}
