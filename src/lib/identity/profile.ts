import {chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {usageError} from '../cli/errors.js'
import type {NewKey} from './users.js'

/**
 * Write (or replace) one profile in an AWS shared-credentials file, keeping every other profile as it was.
 * The file is written atomically with mode 0600.
 */
export function saveProfile(file: string, profile: string, key: NewKey): void {
  if (!/^[\w.+@-]+$/.test(profile)) throw usageError(`"${profile}" is not a usable profile name.`, ['Use letters, digits and ._-+@'])
  const text = existsSync(file) ? readFileSync(file, 'utf8') : ''
  const lines = text.split(/\r?\n/)
  const out: string[] = []
  let skipping = false
  for (const line of lines) {
    const header = /^\s*\[\s*([^\]]+?)\s*\]\s*$/.exec(line)
    if (header) skipping = header[1] === profile
    if (!skipping) out.push(line)
  }
  while (out.length > 0 && out.at(-1) === '') out.pop()
  if (out.length > 0) out.push('')
  out.push(`[${profile}]`, `aws_access_key_id = ${key.accessKeyId}`, `aws_secret_access_key = ${key.secretAccessKey}`, '')
  mkdirSync(path.dirname(file), {recursive: true, mode: 0o700})
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, out.join('\n'), {mode: 0o600})
  chmodSync(tmp, 0o600)
  renameSync(tmp, file)
}
