// Lint every template in templates/ (structure against the CloudFormation spec + cape's security rules).
import {readdirSync, readFileSync} from 'node:fs'
import {lintTemplate} from '../test/templates/lint.js'

let failed = 0
for (const f of readdirSync('templates').filter((n) => /\.(ya?ml|json)$/.test(n))) {
  const problems = await lintTemplate(readFileSync(`templates/${f}`, 'utf8'))
  for (const p of problems) console.error(`templates/${f}: ${p.where}: ${p.message} (${p.rule})`)
  failed += problems.length
  if (problems.length === 0) console.log(`templates/${f}: ok`)
}
process.exit(failed > 0 ? 1 : 0)
