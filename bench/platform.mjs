#!/usr/bin/env node
// Transfer rates of the cape local platform's S3 service, through the AWS SDK v3 (what cape uses; lib-storage for the
// big upload) next to Debian's awscli (/usr/bin/aws, the transfer anchor) against the same platform.
// Run after a build: `node bench/platform.mjs [--small N] [--small-kb K] [--big-mb M] [--concurrency C]`.
// The platform runs in its own process (like `cape local start`), so the client's CPU does not slow the server.
// Not a test: prints files/s and MB/s per mode and the SDK/awscli ratio, then stops and removes its temp dir.
import {fork, execFile} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {pipeline} from 'node:stream/promises'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

const here = fileURLToPath(import.meta.url)
const dist = (p) => new URL(`../dist/${p}`, import.meta.url).href

// ---- child: the platform server -----------------------------------------------------------------------------------
if (process.argv[2] === '--serve') {
  const {bootPlatform} = await import(dist('lib/local/boot.js'))
  const platform = await bootPlatform({dataDir: process.argv[3], port: 0})
  const stop = async () => {
    await platform.close()
    process.exit(0)
  }
  process.on('disconnect', stop)
  process.on('SIGTERM', stop)
  process.send({endpoint: platform.endpoint, region: platform.region, credentials: platform.adminCredentials})
} else {
  await main()
}

async function main() {
  const {values: opts} = parseArgs({options: {
    small: {type: 'string', default: '1000'},
    'small-kb': {type: 'string', default: '10'},
    'big-mb': {type: 'string', default: '100'},
    concurrency: {type: 'string', default: '10'},
  }})
  const SMALL = Number(opts.small)
  const SMALL_BYTES = Number(opts['small-kb']) * 1024
  const BIG_BYTES = Number(opts['big-mb']) * 1024 * 1024
  const CONCURRENCY = Number(opts.concurrency) // awscli's default max_concurrent_requests is 10
  const AWS = '/usr/bin/aws'

  if (!existsSync(new URL('../dist/lib/local/boot.js', import.meta.url))) {
    console.error('build first: npm run build')
    process.exit(2)
  }
  const {createClients} = await import(dist('lib/aws/clients.js'))
  const {GetObjectCommand, PutObjectCommand, CreateBucketCommand} = await import('@aws-sdk/client-s3')
  const {Upload} = await import('@aws-sdk/lib-storage')
  const {default: pLimit} = await import('p-limit')

  const root = mkdtempSync(join(tmpdir(), 'cape-bench-platform-'))
  let server
  let clients
  let watchdog
  const cleanup = async () => {
    clearTimeout(watchdog)
    clients?.destroy()
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server.once('exit', r))
      server.kill('SIGTERM')
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))])
      if (server.exitCode === null) server.kill('SIGKILL')
    }
    rmSync(root, {recursive: true, force: true})
  }
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => void cleanup().then(() => process.exit(130)))
  watchdog = setTimeout(() => {
    console.error('bench: gave up after 15 minutes')
    void cleanup().then(() => process.exit(1))
  }, 15 * 60_000)

  try {
    server = fork(here, ['--serve', join(root, 'data')], {stdio: ['ignore', 'inherit', 'inherit', 'ipc']})
    const info = await new Promise((resolve, reject) => {
      server.once('message', resolve)
      server.once('exit', (code) => reject(new Error(`platform exited (${code})`)))
    })
    clients = createClients({region: info.region, endpoint: info.endpoint, credentials: {...info.credentials}, maxAttempts: 3})
    const s3 = clients.s3
    await s3.send(new CreateBucketCommand({Bucket: 'bench'}))

    // inputs
    const smallDir = join(root, 'small')
    mkdirSync(smallDir)
    const smallBodies = Array.from({length: SMALL}, () => randomBytes(SMALL_BYTES))
    smallBodies.forEach((b, i) => writeFileSync(join(smallDir, `f${String(i).padStart(5, '0')}.bin`), b))
    const bigFile = join(root, 'big.bin')
    {
      const out = createWriteStream(bigFile)
      for (let left = BIG_BYTES; left > 0; left -= 8 * 1024 * 1024) {
        if (!out.write(randomBytes(Math.min(left, 8 * 1024 * 1024)))) await new Promise((r) => out.once('drain', r))
      }
      await new Promise((r, j) => out.end((e) => (e ? j(e) : r())))
    }
    const bigMd5 = await md5Of(bigFile)

    const time = async (fn) => {
      const t0 = performance.now()
      await fn()
      return (performance.now() - t0) / 1000
    }
    const limit = pLimit(CONCURRENCY)
    const results = {}

    // ---- SDK v3
    results.sdkSmallPut = await time(() => Promise.all(smallBodies.map((body, i) =>
      limit(() => s3.send(new PutObjectCommand({Bucket: 'bench', Key: `sdk-small/f${String(i).padStart(5, '0')}.bin`, Body: body})))),
    ))
    results.sdkSmallGet = await time(() => Promise.all(smallBodies.map((body, i) => limit(async () => {
      const res = await s3.send(new GetObjectCommand({Bucket: 'bench', Key: `sdk-small/f${String(i).padStart(5, '0')}.bin`}))
      const got = await res.Body.transformToByteArray()
      if (got.length !== body.length) throw new Error(`sdk GET f${i}: ${got.length} bytes, expected ${body.length}`)
    }))))
    results.sdkBigUp = await time(() => new Upload({
      client: s3,
      params: {Bucket: 'bench', Key: 'sdk-big.bin', Body: createReadStream(bigFile)},
      partSize: 8 * 1024 * 1024, // awscli's multipart_chunksize
      queueSize: 4,
    }).done())
    const sdkDown = join(root, 'sdk-big.out')
    results.sdkBigDown = await time(async () => {
      const res = await s3.send(new GetObjectCommand({Bucket: 'bench', Key: 'sdk-big.bin'}))
      await pipeline(res.Body, createWriteStream(sdkDown))
    })
    if ((await md5Of(sdkDown)) !== bigMd5) throw new Error('SDK round trip of the big object is not byte-identical')
    rmSync(sdkDown)

    // ---- awscli
    const haveCli = existsSync(AWS)
    if (haveCli) {
      const home = join(root, 'home')
      mkdirSync(home)
      const env = {
        PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, AWS_CONFIG_FILE: join(home, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
        AWS_ACCESS_KEY_ID: info.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: info.credentials.secretAccessKey,
        AWS_DEFAULT_REGION: info.region, AWS_ENDPOINT_URL: info.endpoint, AWS_PAGER: '',
        AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED', AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
      }
      const aws = (...args) => new Promise((resolve, reject) => {
        execFile(AWS, ['--endpoint-url', info.endpoint, ...args, ...(args[1] === 'cp' ? ['--no-progress'] : [])], {env, cwd: root, maxBuffer: 64 * 1024 * 1024}, (error, _out, stderr) =>
          error ? reject(new Error(`aws ${args.join(' ')}: ${stderr || error.message}`)) : resolve())
      })
      results.cliStartup = await time(() => aws('s3', 'ls', 's3://bench/sdk-big.bin'))
      results.cliSmallPut = await time(() => aws('s3', 'cp', '--recursive', smallDir, 's3://bench/cli-small/'))
      const cliSmallDown = join(root, 'cli-small')
      results.cliSmallGet = await time(() => aws('s3', 'cp', '--recursive', 's3://bench/cli-small/', cliSmallDown))
      smallBodies.forEach((b, i) => {
        if (statSync(join(cliSmallDown, `f${String(i).padStart(5, '0')}.bin`)).size !== b.length) throw new Error(`awscli GET f${i}: wrong size`)
      })
      results.cliBigUp = await time(() => aws('s3', 'cp', bigFile, 's3://bench/cli-big.bin'))
      const cliDown = join(root, 'cli-big.out')
      results.cliBigDown = await time(() => aws('s3', 'cp', 's3://bench/cli-big.bin', cliDown))
      if ((await md5Of(cliDown)) !== bigMd5) throw new Error('awscli round trip of the big object is not byte-identical')
    }

    // ---- report
    const mb = BIG_BYTES / 1024 / 1024
    const rows = [
      [`PUT ${SMALL} × ${SMALL_BYTES / 1024} KB`, 'files/s', SMALL / results.sdkSmallPut, haveCli ? SMALL / results.cliSmallPut : undefined],
      [`GET ${SMALL} × ${SMALL_BYTES / 1024} KB`, 'files/s', SMALL / results.sdkSmallGet, haveCli ? SMALL / results.cliSmallGet : undefined],
      [`upload ${mb} MB`, 'MB/s', mb / results.sdkBigUp, haveCli ? mb / results.cliBigUp : undefined],
      [`download ${mb} MB`, 'MB/s', mb / results.sdkBigDown, haveCli ? mb / results.cliBigDown : undefined],
    ]
    const fmt = (n) => (n === undefined ? '—' : n >= 100 ? n.toFixed(0) : n.toFixed(1))
    console.log(`cape local platform S3 (separate process, 127.0.0.1), node ${process.version}, concurrency ${CONCURRENCY}`)
    console.log(`${'operation'.padEnd(22)} ${'unit'.padEnd(8)} ${'SDK v3'.padStart(8)} ${'awscli'.padStart(8)} ${'SDK/cli'.padStart(8)}`)
    for (const [name, unit, sdk, cli] of rows) {
      console.log(`${name.padEnd(22)} ${unit.padEnd(8)} ${fmt(sdk).padStart(8)} ${fmt(cli).padStart(8)} ${(cli ? (sdk / cli).toFixed(2) : '—').padStart(8)}`)
    }
    if (haveCli) console.log(`awscli figures include its start-up (one \`aws s3 ls\` took ${results.cliStartup.toFixed(2)} s)`)
    else console.log(`${AWS} not found: awscli columns skipped`)
  } finally {
    await cleanup()
  }
}

async function md5Of(path) {
  const hash = createHash('md5')
  for await (const chunk of createReadStream(path)) hash.update(chunk)
  return hash.digest('hex')
}
