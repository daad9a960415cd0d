import {execFileSync} from 'node:child_process'
import {chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir, userInfo} from 'node:os'
import path from 'node:path'
import pg from 'pg'

/**
 * A real PostgreSQL 15 for tests (Debian's postgresql): initdb + pg_ctl in a temp folder on a free port, unix
 * socket in that folder. initdb refuses root: when the tests run as root, the server runs as the `postgres` user.
 * A database and a password-authenticated role are created for the test.
 */
export const PG_BIN = '/usr/lib/postgresql/15/bin'
export const postgresAvailable = existsSync(path.join(PG_BIN, 'initdb'))

export interface TestPostgres {
  host: string
  port: number
  database: string
  user: string
  password: string
  /** A connected client as the test role (for arranging data). */
  client(): Promise<pg.Client>
  stop(): Promise<void>
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.unref()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const {port} = s.address() as {port: number}
      s.close(() => resolve(port))
    })
  })
}

export async function startPostgres(options: {database?: string; user?: string; password?: string} = {}): Promise<TestPostgres> {
  const root = mkdtempSync(path.join(tmpdir(), 'cape-pg-'))
  chmodSync(root, 0o755)
  const data = path.join(root, 'data')
  const sockets = path.join(root, 'run')
  mkdirSync(sockets)
  const asRoot = userInfo().uid === 0
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim())
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim())
    chownSync(root, uid, gid)
    chownSync(sockets, uid, gid)
  }
  const run = (cmd: string, args: string[]) => execFileSync(asRoot ? 'runuser' : cmd, asRoot ? ['-u', 'postgres', '--', cmd, ...args] : args, {stdio: 'pipe', cwd: root})
  const port = await freePort()
  const database = options.database ?? 'shop'
  const user = options.user ?? 'cape'
  const password = options.password ?? 'test-pw-0123'
  const pwfile = path.join(root, 'pw')
  writeFileSync(pwfile, 'superpw\n', {mode: 0o644})
  if (asRoot) chownSync(pwfile, Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), 0)
  run(path.join(PG_BIN, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--locale=C'])
  run(path.join(PG_BIN, 'pg_ctl'), ['-D', data, '-l', path.join(root, 'log'), '-w', '-t', '60', '-o', `-p ${port} -k ${sockets} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start'])
  const stop = async () => {
    try {
      run(path.join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'])
    } finally {
      rmSync(root, {recursive: true, force: true})
    }
  }
  try {
    const admin = new pg.Client({host: '127.0.0.1', port, user: 'postgres', password: 'superpw', database: 'postgres'})
    await admin.connect()
    await admin.query(`CREATE ROLE ${pg.escapeIdentifier(user)} LOGIN PASSWORD ${pg.escapeLiteral(password)}`)
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(database)} OWNER ${pg.escapeIdentifier(user)}`)
    await admin.end()
  } catch (error) {
    await stop()
    throw error
  }
  return {
    host: '127.0.0.1',
    port,
    database,
    user,
    password,
    async client() {
      const c = new pg.Client({host: '127.0.0.1', port, user, password, database})
      await c.connect()
      return c
    },
    stop,
  }
}
