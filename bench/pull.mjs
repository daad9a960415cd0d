#!/usr/bin/env node
// cape pull vs `aws s3 sync` (Debian's awscli, /usr/bin/aws) against one local platform, same prefixes:
//   1. 2,000 × 10 KB objects: files/s ratio (target ≥ 2.0)
//   2. 5 × 100 MB objects: MB/s ratio (target ≥ 1.0)
//   3. re-pull of 10,000 unchanged objects: seconds (target ≤ 2 s) and GetObject requests (target 0)
// Run after a build: `npm run build && node bench/pull.mjs [--small N] [--big N] [--big-mb N] [--many N]`.
// Not a test: starts its own platform in a temp folder, deploys phase1, seeds with the admin SDK client, runs the
// built CLI as a subprocess (as users do), prints the figures and ratios, cleans up.
import {createHash, randomBytes} from 'node:crypto'
import {readFileSync, rmSync} from 'node:fs'
import path from 'node:path'
import {performance} from 'node:perf_hooks'
import {PutObjectCommand} from '@aws-sdk/client-s3'
import {Upload} from '@aws-sdk/lib-storage'
import pLimit from 'p-limit'
import {benchCommands, benchWorkspace, numArg} from './common.mjs'

const {createClients} = await import('../dist/lib/aws/clients.js').catch(() => {
  throw new Error('build first: npm run build')
})

/** GET /_cape/stats on the platform, signed as the account root: S3 request counters per operation. */
async function platformStats({endpoint, region, credentials}) {
  const {SignatureV4} = await import('@smithy/signature-v4')
  const {createHash, createHmac} = await import('node:crypto')
  const Sha256 = class {
    constructor(secret) {
      this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', secret)
    }
    update(data) {
      this.h.update(data)
    }
    async digest() {
      return new Uint8Array(this.h.digest())
    }
  }
  const url = new URL('/_cape/stats', endpoint)
  const signer = new SignatureV4({credentials, region, service: 's3', sha256: Sha256})
  const signed = await signer.sign({method: 'GET', protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: url.pathname, query: {}, headers: {host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD'}})
  const res = await fetch(url, {headers: signed.headers})
  if (!res.ok) throw new Error(`GET /_cape/stats: HTTP ${res.status}`)
  return (await res.json()).s3
}

const SMALL = numArg('small', 2000)
const BIG = numArg('big', 5)
const BIG_MB = numArg('big-mb', 100)
const MANY = numArg('many', 10_000)
const AWS = '/usr/bin/aws'

const {work, env} = benchWorkspace('pull')

const {run, cape, must, stopPlatform} = benchCommands({work, env})

let clients
try {
  const started = JSON.parse(must(await cape('local', 'start', '--detach', '--port', '0', '--json'), 'cape local start').stdout)
  must(await cape('deploy', 'phase1', '--yes', '--json'), 'cape deploy phase1')
  const awsEnv = JSON.parse(must(await cape('local', 'env', '--json'), 'cape local env').stdout)
  const outputs = JSON.parse(readFileSync(path.join(env.CAPE_HOME, 'outputs', 'local', 'phase1.json'), 'utf8')).outputs
  const bucket = outputs.CuratedBucketName
  clients = createClients({
    region: awsEnv.AWS_REGION,
    endpoint: started.endpoint,
    credentials: {accessKeyId: awsEnv.AWS_ACCESS_KEY_ID, secretAccessKey: awsEnv.AWS_SECRET_ACCESS_KEY},
  })
  const s3 = clients.s3
  const stats = () => platformStats({endpoint: started.endpoint, region: awsEnv.AWS_REGION, credentials: {accessKeyId: awsEnv.AWS_ACCESS_KEY_ID, secretAccessKey: awsEnv.AWS_SECRET_ACCESS_KEY}})

  const seed = async (prefix, count, size) => {
    const t0 = performance.now()
    const limit = pLimit(32)
    await Promise.all(
      Array.from({length: count}, (_, i) =>
        limit(() => {
          const body = randomBytes(size)
          const key = `${prefix}${String(Math.floor(i / 100)).padStart(3, '0')}/obj-${String(i).padStart(6, '0')}.bin`
          return s3.send(new PutObjectCommand({Bucket: bucket, Key: key, Body: body, Metadata: {'cape-sha256': createHash('sha256').update(body).digest('hex')}}))
        }),
      ),
    )
    return (performance.now() - t0) / 1000
  }
  const seedBig = async (prefix, count, mb) => {
    for (let i = 0; i < count; i++) {
      const body = randomBytes(mb * 1024 * 1024)
      await new Upload({client: s3, params: {Bucket: bucket, Key: `${prefix}big-${i}.bin`, Body: body}, queueSize: 4, partSize: 16 * 1024 * 1024}).done()
    }
  }
  // awscli 2.9 predates AWS_ENDPOINT_URL: the endpoint goes on the command line
  const aws = (src, dest) => run(AWS, ['s3', 'sync', `s3://${bucket}/${src}`, dest, '--endpoint-url', started.endpoint, '--only-show-errors', '--no-progress'], awsEnv)
  const capePull = (src, dest) => cape('pull', `curated/${src}`, dest, '--json')
  const fresh = (name) => path.join(work, name)

  const figures = {}
  // 1. small files
  process.stderr.write(`seeding ${SMALL} × 10 KB…\n`)
  await seed('bench/small/', SMALL, 10 * 1024)
  const awsSmall = await aws('bench/small/', fresh('aws-small'))
  must(awsSmall, 'aws s3 sync (small)')
  const capeSmall = must(await capePull('bench/small/', fresh('cape-small')), 'cape pull (small)')
  const pulled = JSON.parse(capeSmall.stdout)
  if (pulled.downloaded !== SMALL) throw new Error(`cape pull downloaded ${pulled.downloaded} of ${SMALL}`)
  figures.small = {
    objects: SMALL,
    capeSeconds: capeSmall.seconds,
    awsSeconds: awsSmall.seconds,
    capeFilesPerSecond: SMALL / capeSmall.seconds,
    awsFilesPerSecond: SMALL / awsSmall.seconds,
  }
  figures.small.ratio = figures.small.capeFilesPerSecond / figures.small.awsFilesPerSecond

  // 2. big files
  if (BIG > 0) {
    process.stderr.write(`seeding ${BIG} × ${BIG_MB} MB…\n`)
    await seedBig('bench/big/', BIG, BIG_MB)
    const awsBig = must(await aws('bench/big/', fresh('aws-big')), 'aws s3 sync (big)')
    rmSync(fresh('aws-big'), {recursive: true, force: true})
    const capeBig = must(await capePull('bench/big/', fresh('cape-big')), 'cape pull (big)')
    rmSync(fresh('cape-big'), {recursive: true, force: true})
    const mb = BIG * BIG_MB
    figures.big = {objects: BIG, mb, capeSeconds: capeBig.seconds, awsSeconds: awsBig.seconds, capeMBps: mb / capeBig.seconds, awsMBps: mb / awsBig.seconds}
    figures.big.ratio = figures.big.capeMBps / figures.big.awsMBps
  }

  // 3. unchanged re-pull
  process.stderr.write(`seeding ${MANY} × 100 B…\n`)
  await seed('bench/many/', MANY, 100)
  must(await capePull('bench/many/', fresh('cape-many')), 'cape pull (many, first)')
  const before = await stats()
  const again = must(await capePull('bench/many/', fresh('cape-many')), 'cape pull (many, again)')
  const after = await stats()
  const re = JSON.parse(again.stdout)
  figures.repull = {
    objects: MANY,
    seconds: again.seconds,
    skipped: re.skipped,
    downloaded: re.downloaded,
    getObject: (after.GetObject ?? 0) - (before.GetObject ?? 0),
    headObject: (after.HeadObject ?? 0) - (before.HeadObject ?? 0),
  }

  const f = (n, d = 2) => (typeof n === 'number' ? n.toFixed(d) : String(n))
  console.log(`small  ${SMALL} × 10 KB: cape ${f(figures.small.capeSeconds)} s (${f(figures.small.capeFilesPerSecond, 0)} files/s), aws s3 sync ${f(figures.small.awsSeconds)} s (${f(figures.small.awsFilesPerSecond, 0)} files/s) → ratio ${f(figures.small.ratio)} (target ≥ 2.0)`)
  if (figures.big) console.log(`big    ${BIG} × ${BIG_MB} MB: cape ${f(figures.big.capeSeconds)} s (${f(figures.big.capeMBps, 0)} MB/s), aws s3 sync ${f(figures.big.awsSeconds)} s (${f(figures.big.awsMBps, 0)} MB/s) → ratio ${f(figures.big.ratio)} (target ≥ 1.0)`)
  console.log(`repull ${MANY} unchanged: ${f(figures.repull.seconds)} s (target ≤ 2 s), skipped ${figures.repull.skipped}, downloaded ${figures.repull.downloaded}, GetObject ${figures.repull.getObject}, HeadObject ${figures.repull.headObject} (target 0)`)
  console.log(JSON.stringify(figures))
} finally {
  clients?.destroy()
  stopPlatform()
  rmSync(work, {recursive: true, force: true})
}
