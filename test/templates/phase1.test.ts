import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'
import {lintTemplate} from './lint.js'

const phase1 = readFileSync(path.join(__dirname, '../../templates/phase1.yaml'), 'utf8')

describe('templates/phase1.yaml lint', () => {
  it('passes the structural lint (types, properties, attributes against the CloudFormation spec) and the security rules', async () => {
    expect(await lintTemplate(phase1)).toEqual([])
  })

  it('the lint catches a wrong property, an unknown type, a public bucket, a missing TLS policy and an output with a key', async () => {
    const bad = [
      'Resources:',
      '  B:',
      '    Type: AWS::S3::Bucket',
      '    Properties: {BucketNmae: x}',
      '  T:',
      '    Type: AWS::Nope::Thing',
      '  K:',
      '    Type: AWS::IAM::AccessKey',
      '    Properties: {UserName: u}',
      'Outputs:',
      '  Secret: {Value: !GetAtt K.SecretAccessKey}',
      '',
    ].join('\n')
    const rules = (await lintTemplate(bad)).map((p) => `${p.rule} ${p.where}`)
    expect(rules).toEqual(
      expect.arrayContaining([
        'spec-property Resources.B.Properties.BucketNmae',
        'spec-type-unknown Resources.T',
        'sec-public-access Resources.B',
        'sec-encryption Resources.B',
        'sec-tls-only Resources.B',
        'sec-no-secrets Outputs.Secret',
        'sec-no-keys Resources',
      ]),
    )
  })
})
