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
      const res = await fetch(url, {
        method: 'POST',
        headers: {'content-type': 'application/json', 'user-agent': 'cape-extractor'},
        body: text,
        redirect: 'manual',
        signal: AbortSignal.any(signals),
      })
      httpStatus = res.status
      await res.arrayBuffer().catch(() => undefined)
      if (res.ok) return {url, ok: true, attempts, httpStatus, at: new Date().toISOString()}
      error = `HTTP ${res.status}`
      if (!retryable(res.status)) break
    } catch (e) {
      const err = e as Error & {cause?: {code?: string; message?: string}}
      error = err.name === 'TimeoutError' ? `no answer within ${remaining} ms` : (err.cause?.code ?? err.cause?.message ?? err.message)
    }
    if (attempts > retries || options.signal?.aborted) break
    const delay = backoff * 2 ** (attempts - 1)
    if (options.deadline !== undefined && Date.now() + delay >= options.deadline) break
    await sleep(delay)
  }
  return {url, ok: false, attempts, ...(httpStatus === undefined ? {} : {httpStatus}), ...(error ? {error} : {}), at: new Date().toISOString()}
}
