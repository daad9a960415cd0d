// Build: compile TypeScript to dist/, bundle the Lambda functions, write the oclif manifest.
import {execFileSync} from 'node:child_process'
import {rmSync} from 'node:fs'
import {bundleFunctions} from './bundle-functions.mjs'

const run = (cmd, args) => execFileSync(cmd, args, {stdio: 'inherit'})
rmSync('dist', {recursive: true, force: true})
run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'])
await bundleFunctions()
run(process.execPath, ['node_modules/oclif/bin/run.js', 'manifest'])
