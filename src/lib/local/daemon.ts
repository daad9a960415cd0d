/* eslint-disable no-console -- the platform process logs to its own log file */
/**
 * The local platform process: `node daemon.js --data-dir D [--port N]`. Listens on 127.0.0.1, writes
 * <data>/run.json (pid, port, endpoint) once it answers, removes it on SIGINT/SIGTERM after a clean shutdown.
 */
import {parseArgs} from 'node:util'
import {runPlatform} from './serve.js'

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

const {values} = parseArgs({options: {'data-dir': {type: 'string'}, port: {type: 'string'}, 'strict-port': {type: 'boolean'}}})
if (!values['data-dir']) {
  console.error('usage: daemon.js --data-dir DIR [--port N] [--strict-port]')
  process.exit(2)
}
await runPlatform({
  dataDir: values['data-dir'],
  port: values.port === undefined ? undefined : Number(values.port),
  strictPort: values['strict-port'],
  log: (line) => console.log(`${new Date().toISOString()} ${line}`),
})
