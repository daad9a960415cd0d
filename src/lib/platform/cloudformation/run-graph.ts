/**
 * Run one task per node of a dependency graph: a node starts when everything it depends on (within the set) has
 * finished; independent nodes run concurrently (bounded).
 */
export interface RunGraphOptions {
  concurrency?: number
  /** false: stop starting new nodes after the first failure. true: keep going, skipping nodes whose deps failed. */
  continueOnError?: boolean
}

export interface RunGraphResult {
  completed: string[]
  failed: Array<{id: string; error: unknown}>
  /** Never started (a dependency failed, or stopped after a failure). */
  skipped: string[]
}

export async function runGraph(
  ids: readonly string[],
  depsOf: (id: string) => Iterable<string>,
  work: (id: string) => Promise<void>,
  options: RunGraphOptions = {},
): Promise<RunGraphResult> {
  const concurrency = options.concurrency ?? 8
  const inSet = new Set(ids)
  const pending = new Set(ids)
  const completed: string[] = []
  const failed: RunGraphResult['failed'] = []
  const skipped: string[] = []
  const finished = new Set<string>()
  const bad = new Set<string>()
  const running = new Map<string, Promise<void>>()
  let stop = false
  const deps = (id: string) => [...depsOf(id)].filter((d) => inSet.has(d) && d !== id)

  for (;;) {
    if (!stop) {
      for (const id of [...pending]) {
        const ds = deps(id)
        if (ds.some((d) => bad.has(d))) {
          pending.delete(id)
          skipped.push(id)
          bad.add(id)
          continue
        }
        if (running.size >= concurrency || !ds.every((d) => finished.has(d))) continue
        pending.delete(id)
        running.set(id, work(id).then(
          () => {
            completed.push(id)
            finished.add(id)
          },
          (error: unknown) => {
            failed.push({id, error})
            bad.add(id)
            if (!options.continueOnError) stop = true
          },
        ).finally(() => running.delete(id)))
      }
    }
    if (running.size === 0) break
    await Promise.race(running.values())
  }
  skipped.push(...pending)
  return {completed, failed, skipped}
}
