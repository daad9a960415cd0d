#!/usr/bin/env node
const argv = process.argv.slice(2)
if (argv.length === 1 && argv[0] === '--version') {
  // Fast path: what oclif prints for --version (its user agent), without loading oclif or the SDK (~0.3 s).
  const {readFileSync} = await import('node:fs')
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  process.stdout.write(`${pkg.oclif?.bin ?? pkg.name}/${pkg.version} ${process.platform}-${process.arch} node-${process.version}\n`)
} else {
  const {main} = await import('../dist/lib/cli/run.js')
  await main(argv, import.meta.url)
}
