// Shared by the bench scripts: command-line options and a private workspace for the CLI runs.
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

/** `--name value` from the command line (a string), or `def`. */
export function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? def : process.argv[i + 1]
}

/** A numeric `--name value`, or `def`. */
export const numArg = (name, def) => Number(arg(name, def))

/**
 * A temp folder for one bench and the environment its CLI runs get: the host's AWS_* and CAPE_* settings removed,
 * the local platform's data and AWS config files inside the folder.
 */
export function benchWorkspace(name) {
  const work = mkdtempSync(path.join(tmpdir(), `cape-bench-${name}-`))
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(AWS_|CAPE_)/.test(k))),
    CAPE_HOME: path.join(work, '.cape'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(work, 'aws-credentials'),
    AWS_CONFIG_FILE: path.join(work, 'aws-config'),
    NO_COLOR: '1',
  }
  return {work, env}
}
