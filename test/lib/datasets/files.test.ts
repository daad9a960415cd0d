import {readFileSync, readdirSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {repoRoot} from '../../helpers/cli.js'
import {builtInDefinitions} from '../../../src/lib/datasets/built-in.js'
import {datasetSchema, formatProblem, parseDatasetFile, readDatasetDir} from '../../../src/lib/datasets/files.js'
import {transformNames} from '../../../src/lib/ingest/transforms.js'
import {getDataset, loadDatasets} from '../../../src/lib/ingest/datasets.js'

const problems = (text: string, file = 'datasets/visits.yaml') => parseDatasetFile(text, file).problems.map(formatProblem)

describe('dataset files', () => {
  it('the schema is published as schemas/dataset.schema.json, identical to the one cape validates with, listing the registered transforms', () => {
    expect(JSON.parse(readFileSync(path.join(repoRoot, 'schemas/dataset.schema.json'), 'utf8'))).toEqual(datasetSchema)
    expect(datasetSchema.$defs.variant.properties.transforms.items.enum).toEqual(transformNames())
  })

  it('the built-ins are datasets/*.yaml at the package root, valid against the schema, and what loadDatasets serves', () => {
    const {docs, problems} = readDatasetDir(path.join(repoRoot, 'datasets'))
    expect(problems).toEqual([])
    expect(docs.map((d) => d.name)).toEqual(readdirSync(path.join(repoRoot, 'datasets')).map((f) => f.replace(/\.yaml$/, '')))
    expect(builtInDefinitions().map((b) => b.file)).toEqual(docs.map((d) => d.file))
    expect(getDataset(loadDatasets(), 'participants')).toMatchObject({version: '1.0.0', owners: ['admin'], source: 'built-in', file: 'datasets/participants.yaml'})
  })

  it('accepts a full definition, history and key included', () => {
    const r = parseDatasetFile(['version: 2.0.0', 'owners: [admin, alice]', 'history: milestoned', 'key: [visit_id]', 'columns:', '  - {name: visit_id, type: string, required: true}', ''].join('\n'), 'datasets/visits.yaml')
    expect(r.problems).toEqual([])
    expect(r.doc).toMatchObject({name: 'visits', definition: {name: 'visits', history: 'milestoned', key: ['visit_id']}})
    expect(getDataset(loadDatasets({visits: r.doc!.definition}), 'visits')).toMatchObject({history: 'milestoned', key: ['visit_id'], version: '2.0.0'})
  })

  it('names the file, the line of the offending key and a fix, for every problem, in line order', () => {
    expect(problems([
      'name: visit', //                                       1
      'version: 1.0', //                                      2
      'owner: [admin]', //                                    3
      'columns:', //                                          4
      '  - {name: visit_id, type: text}', //                  5
      '  - name: when', //                                    6
      '    type: date', //                                    7
      '    requried: true', //                                8
      'history: milestoned', //                               9
      'variants:', //                                        10
      '  - {name: old, header: [a], transforms: [nope]}', // 11
      '',
    ].join('\n'))).toEqual([
      'datasets/visits.yaml:1: owners: is required (fix: add `owners: [admin]` (IAM user or group names, or a cape role, allowed to change the dataset))',
      'datasets/visits.yaml:1: name: "visit" differs from the file name (fix: rename the file to datasets/visit.yaml, or set name: visits)',
      'datasets/visits.yaml:2: version: must be a string (fix: write MAJOR.MINOR.PATCH, e.g. 1.0.0 (YAML reads 1.0 as a number))',
      'datasets/visits.yaml:3: owner: unknown key "owner" (fix: did you mean "owners"? allowed: $schema, name, version, description, owners, columns, variants, history, key)',
      'datasets/visits.yaml:5: columns[0].type: must be one of "string", "integer", "number", "boolean", "date"',
      'datasets/visits.yaml:8: columns[1].requried: unknown key "requried" (fix: did you mean "required"? allowed: name, type, required, unique, pattern, description)',
      'datasets/visits.yaml:9: history: needs key (fix: add `key: [<column>]`: the columns identifying a record)',
      'datasets/visits.yaml:11: variants[0].transforms[0]: must be one of "dob-rename", "trim-values"',
    ])
  })

  it('YAML syntax errors and a file that is not a mapping', () => {
    expect(problems('version: [1\n')[0]).toMatch(/^datasets\/visits\.yaml:\d+: .*\(fix: fix the YAML syntax\)$/)
    expect(problems('- a\n')).toEqual(['datasets/visits.yaml:1: must be a mapping (name, version, owners, columns, …) (fix: see schemas/dataset.schema.json)'])
  })

  it('semantic problems (a key that is not a column) come from loadDatasets, naming the file', () => {
    const r = parseDatasetFile('version: 1.0.0\nowners: [admin]\nhistory: milestoned\nkey: [id]\ncolumns: [{name: visit_id, type: string}]\n', 'datasets/visits.yaml')
    expect(() => loadDatasets({visits: r.doc!.definition}, {files: {visits: 'datasets/visits.yaml'}}))
      .toThrow('invalid dataset definition datasets/visits.yaml: key: "id" is not a column of the dataset')
  })
})

describe('built-ins in the function bundles', () => {
  it('esbuild embeds datasets/*.yaml, parsed, in place of the file reads (one source of truth)', async () => {
    const {build} = await import('esbuild')
    // @ts-expect-error: a plain .mjs build script, no types
    const {builtInDatasetsPlugin} = await import('../../../scripts/bundle-functions.mjs')
    const out = await build({entryPoints: [path.join(repoRoot, 'src/lib/datasets/built-in.ts')], bundle: true, platform: 'node', format: 'esm', write: false, plugins: [builtInDatasetsPlugin()], logLevel: 'silent'})
    const code = out.outputFiles[0].text
    expect(code).not.toContain('readFileSync')
    const bundled = await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)
    expect(bundled.builtInDefinitions()).toEqual(builtInDefinitions())
  })
})

describe('a project: cape.yaml datasets: and datasets/*.yaml beside it', () => {
  it('merges both into the environment; one name in both is an error naming the file', async () => {
    const {mkdirSync, writeFileSync} = await import('node:fs')
    const {tempDir} = await import('../../helpers/cli.js')
    const {resolveEnvironment} = await import('../../../src/lib/config/config.js')
    const dir = tempDir('cape-datasets-')
    mkdirSync(path.join(dir, 'datasets'))
    writeFileSync(path.join(dir, 'cape.yaml'), 'datasets:\n  labs:\n    columns: [{name: lab_id, type: string}]\n')
    writeFileSync(path.join(dir, 'datasets/visits.yaml'), '$schema: ../schemas/dataset.schema.json\nversion: 1.0.0\nowners: [admin]\ncolumns: [{name: visit_id, type: string}]\n')
    const env = resolveEnvironment({}, {cwd: dir, env: {}})
    expect(Object.keys(env.datasets).sort()).toEqual(['labs', 'visits'])
    expect(env.datasetFiles).toEqual({visits: 'datasets/visits.yaml'})
    expect(getDataset(loadDatasets(env.datasets, {files: env.datasetFiles}), 'visits')).toMatchObject({file: 'datasets/visits.yaml', version: '1.0.0', source: 'cape.yaml'})
    writeFileSync(path.join(dir, 'datasets/labs.yaml'), 'version: 1.0.0\nowners: [admin]\ncolumns: [{name: lab_id, type: string}]\n')
    expect(() => resolveEnvironment({}, {cwd: dir, env: {}})).toThrow('datasets/labs.yaml:1: dataset "labs" is also defined in cape.yaml (datasets.labs) (fix: keep one of the two definitions)')
  })
})
