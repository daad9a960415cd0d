// Fails when README.md's generated command reference is stale (regenerate with `npm run readme`).
import {execFileSync} from 'node:child_process'
import {copyFileSync, mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

const tmp = path.join(mkdtempSync(path.join(tmpdir(), 'cape-readme-')), 'README.md')
copyFileSync('README.md', tmp)
execFileSync(process.execPath, ['node_modules/oclif/bin/run.js', 'readme', '--no-aliases', '--readme-path', tmp], {stdio: 'pipe'})
const want = readFileSync(tmp, 'utf8')
const have = readFileSync('README.md', 'utf8')
if (want !== have) {
  const a = have.split('\n')
  const b = want.split('\n')
  const i = a.findIndex((line, n) => line !== b[n])
  console.error(`README.md is stale from line ${i + 1}:\n  have: ${a[i] ?? '(end)'}\n  want: ${b[i] ?? '(end)'}\nRun \`npm run readme\` and commit README.md.`)
  process.exit(1)
}
console.log('README.md command reference is current.')
