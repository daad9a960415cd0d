// Bundle each src/functions/<name>/index.ts with esbuild into dist/functions/<name>.zip (nodejs20.x handler
// `index.handler`). The same zip deploys to AWS and runs on the local platform.
import {build} from 'esbuild'
import {existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {zipSync} from 'fflate'
import {parse} from 'yaml'

/** src/lib/datasets/built-in.ts reads datasets/*.yaml at run time; a function gets the same files embedded instead. */
export function builtInDatasetsPlugin(dir = new URL('../datasets/', import.meta.url)) {
  return {
    name: 'cape-built-in-datasets',
    setup(b) {
      b.onLoad({filter: /[\\/]lib[\\/]datasets[\\/]built-in\.ts$/}, () => {
        const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()
        const defs = files.map((f) => ({file: `datasets/${f}`, definition: parse(readFileSync(new URL(f, dir), 'utf8'))}))
        return {
          contents: `export const BUILT_IN_DIR = '(bundled)'\nexport function builtInDefinitions() { return ${JSON.stringify(defs)} }\n`,
          loader: 'ts',
          watchFiles: files.map((f) => new URL(f, dir).pathname),
        }
      })
    },
  }
}

export async function bundleFunctions({srcDir = 'src/functions', outDir = 'dist/functions'} = {}) {
  if (!existsSync(srcDir)) return []
  mkdirSync(outDir, {recursive: true})
  const names = readdirSync(srcDir, {withFileTypes: true})
    .filter((d) => d.isDirectory() && existsSync(path.join(srcDir, d.name, 'index.ts')))
    .map((d) => d.name)
  const out = []
  for (const name of names) {
    const result = await build({
      entryPoints: [path.join(srcDir, name, 'index.ts')],
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      minify: false,
      sourcemap: false,
      write: false,
      legalComments: 'none',
      banner: {js: "import {createRequire as __cr} from 'node:module'; const require = __cr(import.meta.url);"},
      logLevel: 'warning',
      plugins: [builtInDatasetsPlugin()],
    })
    const code = result.outputFiles[0].contents
    // A fixed mtime keeps the zip (and so its sha256, the deploy's asset key) the same for the same code.
    const zip = zipSync({'index.mjs': [code, {mtime: new Date('2020-01-01T00:00:00Z')}]}, {level: 9})
    const file = path.join(outDir, `${name}.zip`)
    writeFileSync(file, zip)
    out.push({name, file, bytes: zip.length})
  }
  return out
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const f of await bundleFunctions()) console.log(`${f.file} ${f.bytes} bytes`)
}
