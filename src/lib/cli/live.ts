import {Listr} from 'listr2'
import type {ProgressEvent, Reporter} from '../reporter.js'

/**
 * Run one long step under a listr2 task on a TTY: a spinner with the step's title, the latest events in a bottom bar,
 * a ✔ or ✖ at the end. Off a TTY (CI) the command uses the plain one-line-per-event reporter instead.
 */
export async function withLiveTask<T>(
  title: string,
  fn: (reporter: Reporter) => Promise<T>,
  options: {summarize?: (events: ProgressEvent[]) => string; lines?: number} = {},
): Promise<T> {
  let result: T | undefined
  const events: ProgressEvent[] = []
  const list = new Listr(
    [
      {
        title,
        task: async (_ctx, task) => {
          result = await fn({
            notify(e) {
              events.push(e)
              task.output = e.message
              if (options.summarize) task.title = `${title} — ${options.summarize(events)}`
            },
          })
        },
        rendererOptions: {bottomBar: options.lines ?? 8, persistentOutput: false},
      },
    ],
    {renderer: 'default', exitOnError: true, rendererOptions: {collapseErrors: false}},
  )
  await list.run()
  return result as T
}
