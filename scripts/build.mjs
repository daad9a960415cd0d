// Build: compile TypeScript to dist/, bundle the Lambda functions, write the oclif manifest.
import {execFileSync} from 'node:child_process'

import {bundleFunctions} from './bundle-functions.mjs'

const run = (cmd, args) => execFileSync(cmd, args, {stdio: 'inherit'})
// dist/ is not wiped first: other processes (tests, a running platform) may be using it. CI builds from a fresh clone.
run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'])
await bundleFunctions()
run(process.execPath, ['node_modules/oclif/bin/run.js', 'manifest'])
