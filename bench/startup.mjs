#!/usr/bin/env node
// Start-up time of the built CLI against Debian's aws CLI, run alternately in this process (median of N runs each).
// Usage: npm run build && node bench/startup.mjs [--runs 15]
import {spawnSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 15
const cape = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const aws = '/usr/bin/aws'

function median(cmd, args) {
  const times = []
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint()
    const r = spawnSync(cmd, args, {stdio: 'ignore'})
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`)
    times.push(Number(process.hrtime.bigint() - t) / 1e6)
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]
}

for (const args of [['--version'], ['--help']]) {
  const a = median(aws, args)
  const c = median(process.execPath, [cape, ...args])
  console.log(`cape ${args.join(' ')}: ${c.toFixed(0)} ms; aws ${args.join(' ')}: ${a.toFixed(0)} ms; ratio ${(c / a).toFixed(2)}`)
}
