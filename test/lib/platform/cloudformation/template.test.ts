import {describe, expect, it} from 'vitest'
import {buildGraph, topologicalLevels} from '../../../../src/lib/platform/cloudformation/graph.js'
import {evaluate, evaluateConditions, referencedResources, Unresolved, type EvalContext, type Value} from '../../../../src/lib/platform/cloudformation/intrinsics.js'
import {displayParameters, parameterValues, resolveParameterStrings} from '../../../../src/lib/platform/cloudformation/parameters.js'
import {parseTemplate, parseTemplateBody, requiredCapabilities} from '../../../../src/lib/platform/cloudformation/template.js'

const pseudo = {accountId: '123456789012', region: 'eu-west-1', stackName: 'demo', stackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/demo/x'}

function ctxFor(body: string, params: Record<string, string> = {}, physical: Record<string, string> = {}, attrs: Record<string, Record<string, Value>> = {}): {ctx: EvalContext; template: ReturnType<typeof parseTemplate>} {
  const template = parseTemplate(body)
  const strings = resolveParameterStrings(template, Object.entries(params).map(([key, value]) => ({key, value})))
  const parameters = parameterValues(template, strings)
  const graph = buildGraph(template, parameters, pseudo)
  return {
    template,
    ctx: {
      parameters, pseudo, conditions: graph.conditions, mappings: template.Mappings, resources: new Set(graph.active),
      ref: (id) => physical[id] ?? new Unresolved(id),
      getAtt: (id, a) => attrs[id]?.[a] ?? new Unresolved(`${id}.${a}`),
      importValue: (n) => (n === 'shared-vpc' ? 'vpc-123' : (() => {
        throw new Error(`No export named ${n} found.`)
      })()),
    },
  }
}

describe('parseTemplateBody: YAML short forms become long forms', () => {
  it('turns every short-form tag (scalar, sequence and mapping) into JSON', () => {
    const parsed = parseTemplateBody(`
A: !Ref X
B: !GetAtt Res.Attr.Deep
C: !GetAtt [Res, Arn]
D: !Sub 'x-\${AWS::Region}'
E: !Sub ['\${a}', {a: !Ref X}]
F: !Join [',', [!Ref X, b]]
G: !Select [1, !Split [',', 'a,b']]
H: !If [Cond, !Ref AWS::NoValue, 1]
I: !Equals [!Ref X, y]
J: !Not [!Condition Cond]
K: !And [!Condition A, !Or [!Condition B, !Condition C]]
L: !FindInMap [M, k1, k2]
M: !Base64 {Fn::Sub: 'x'}
N: !GetAZs ''
O: !ImportValue shared
Version: 2012-10-17
`)
    expect(parsed).toEqual({
      A: {Ref: 'X'},
      B: {'Fn::GetAtt': ['Res', 'Attr.Deep']},
      C: {'Fn::GetAtt': ['Res', 'Arn']},
      D: {'Fn::Sub': 'x-${AWS::Region}'},
      E: {'Fn::Sub': ['${a}', {a: {Ref: 'X'}}]},
      F: {'Fn::Join': [',', [{Ref: 'X'}, 'b']]},
      G: {'Fn::Select': [1, {'Fn::Split': [',', 'a,b']}]},
      H: {'Fn::If': ['Cond', {Ref: 'AWS::NoValue'}, 1]},
      I: {'Fn::Equals': [{Ref: 'X'}, 'y']},
      J: {'Fn::Not': [{Condition: 'Cond'}]},
      K: {'Fn::And': [{Condition: 'A'}, {'Fn::Or': [{Condition: 'B'}, {Condition: 'C'}]}]},
      L: {'Fn::FindInMap': ['M', 'k1', 'k2']},
      M: {'Fn::Base64': {'Fn::Sub': 'x'}},
      N: {'Fn::GetAZs': ''},
      O: {'Fn::ImportValue': 'shared'},
      Version: '2012-10-17', // YAML 1.2 core schema: not a date
    })
  })

  it('parses JSON templates and reports malformed bodies as ValidationError', () => {
    expect(parseTemplateBody('{"Resources": {"A": {"Type": "X"}}}')).toEqual({Resources: {A: {Type: 'X'}}})
    expect(() => parseTemplateBody('{"Resources": ')).toThrow(/Template format error: JSON not well-formed/)
    expect(() => parseTemplateBody('a: [1, 2\nb: c')).toThrow(/Template format error: YAML not well-formed/)
    expect(() => parseTemplateBody('a: 1\na: 2')).toThrow(/YAML not well-formed/)
  })
})

describe('parseTemplate: structure', () => {
  it('requires Resources, Types, known sections and known attributes', () => {
    expect(() => parseTemplate('Description: x')).toThrow('Template format error: At least one Resources member must be defined.')
    expect(() => parseTemplate('Resources: {A: {Properties: {}}}')).toThrow(/Every Resources object must contain a Type member/)
    expect(() => parseTemplate('Resourcez: {}\nResources: {A: {Type: X}}')).toThrow(/Invalid template property or properties \[Resourcez\]/)
    expect(() => parseTemplate('Resources: {A: {Type: X, Foo: 1}}')).toThrow(/Invalid resource attribute Foo/)
    expect(() => parseTemplate('Resources: {A: {Type: X, DependsOn: B}}')).toThrow(/Unresolved resource dependencies \[B\]/)
    expect(() => parseTemplate('Resources: {A: {Type: X, DeletionPolicy: Keep}}')).toThrow(/Unrecognized DeletionPolicy/)
    expect(() => parseTemplate('Resources: {A: {Type: X, Condition: Nope}}')).toThrow(/Nope/)
    expect(() => parseTemplate('Resources: {a-b: {Type: X}}')).toThrow(/non alphanumeric/)
    expect(() => parseTemplate('Outputs: {O: {Description: x}}\nResources: {A: {Type: X}}')).toThrow(/must contain a Value/)
  })

  it('rejects what the local platform does not run, with a clear message', () => {
    expect(() => parseTemplate('Transform: AWS::Serverless-2016-10-31\nResources: {A: {Type: X}}')).toThrow(/Transform .* is not supported on the local platform/)
    expect(() => parseTemplate('Parameters: {P: {Type: "AWS::SSM::Parameter::Value<String>"}}\nResources: {A: {Type: X}}'))
      .toThrow(/SSM parameter types are not supported on the local platform/)
    expect(() => parseTemplate('Parameters: {P: {Type: Strang}}\nResources: {A: {Type: X}}')).toThrow(/Unrecognized parameter type: Strang/)
  })

  it('computes the capabilities IAM resources require', () => {
    expect(requiredCapabilities(parseTemplate('Resources: {B: {Type: AWS::S3::Bucket}}'))).toEqual({capabilities: []})
    expect(requiredCapabilities(parseTemplate('Resources: {U: {Type: AWS::IAM::User}, K: {Type: AWS::IAM::AccessKey}}')))
      .toEqual({capabilities: ['CAPABILITY_IAM'], reason: 'The following resource(s) require capabilities: [AWS::IAM::AccessKey, AWS::IAM::User]'})
    expect(requiredCapabilities(parseTemplate('Resources: {U: {Type: AWS::IAM::User, Properties: {UserName: bob}}, K: {Type: AWS::IAM::AccessKey}}')).capabilities)
      .toEqual(['CAPABILITY_NAMED_IAM'])
  })
})

describe('parameters', () => {
  const t = parseTemplate(`
Parameters:
  Env: {Type: String, AllowedValues: [dev, prod], Default: dev}
  Name: {Type: String, AllowedPattern: '[a-z]+', ConstraintDescription: lower-case letters only}
  Count: {Type: Number, MinValue: 1, MaxValue: 5, Default: 2}
  Zones: {Type: CommaDelimitedList, Default: 'a, b'}
  Secret: {Type: String, NoEcho: true, Default: hunter2}
Resources: {A: {Type: X}}
`)
  it('takes given values, then previous values, then defaults', () => {
    const s = resolveParameterStrings(t, [{key: 'Name', value: 'abc'}, {key: 'Env', usePreviousValue: true}], {Env: 'prod'})
    expect(s).toEqual({Env: 'prod', Name: 'abc', Count: '2', Zones: 'a, b', Secret: 'hunter2'})
    expect(parameterValues(t, s).Zones).toEqual(['a', 'b'])
    expect(displayParameters(t, s).find((p) => p.ParameterKey === 'Secret')?.ParameterValue).toBe('****')
  })
  it('enforces constraints with AWS messages', () => {
    expect(() => resolveParameterStrings(t, [])).toThrow('Parameters: [Name] must have values')
    expect(() => resolveParameterStrings(t, [{key: 'Name', value: 'a'}, {key: 'Env', value: 'qa'}])).toThrow("Parameter 'Env' must be one of AllowedValues")
    expect(() => resolveParameterStrings(t, [{key: 'Name', value: 'A1'}])).toThrow("Parameter 'Name' failed to satisfy constraint: lower-case letters only")
    expect(() => resolveParameterStrings(t, [{key: 'Name', value: 'a'}, {key: 'Count', value: 'x'}])).toThrow("Parameter 'Count' must be a number.")
    expect(() => resolveParameterStrings(t, [{key: 'Name', value: 'a'}, {key: 'Count', value: '9'}])).toThrow(/not greater than 5/)
    expect(() => resolveParameterStrings(t, [{key: 'Name', value: 'a'}, {key: 'Nope', value: '1'}])).toThrow('Parameters: [Nope] do not exist in the template')
  })
})

describe('intrinsic functions and conditions', () => {
  const body = `
Parameters:
  Env: {Type: String, Default: dev}
  Zones: {Type: CommaDelimitedList, Default: 'z1,z2,z3'}
Mappings:
  Sizes: {dev: {Mem: 128}, prod: {Mem: 1024}}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Not [!Condition IsProd]
  Both: !And [!Condition IsDev, !Or [!Equals [a, a], !Condition IsProd]]
Resources:
  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}
  Only: {Type: AWS::EC2::VPC, Condition: IsProd, Properties: {CidrBlock: 10.1.0.0/16}}
  Thing:
    Type: X
    Properties:
      Sub: !Sub '\${AWS::StackName}-\${Env}-\${AWS::Region}-\${AWS::AccountId}-\${!Literal}'
      SubVars: !Sub ['\${Name}-\${Vpc}', {Name: !FindInMap [Sizes, !Ref Env, Mem]}]
      SubAtt: !Sub '\${Vpc.CidrBlock}'
      Join: !Join ['/', [!Ref AWS::Partition, !Ref AWS::URLSuffix, !Select [2, !Ref Zones]]]
      Split: !Select [1, !Split ['-', 'a-b-c']]
      If: !If [IsProd, big, small]
      Gone: !If [IsProd, x, !Ref AWS::NoValue]
      List: [a, !If [IsProd, b, !Ref AWS::NoValue], c]
      B64: !Base64 hello
      AZ: !Select [0, !GetAZs '']
      Imp: !ImportValue shared-vpc
      Cond: !If [Both, yes, no]
`
  it('evaluates the functions with parameters, mappings, pseudo parameters and known resources', () => {
    const {ctx, template} = ctxFor(body, {}, {Vpc: 'vpc-1'}, {Vpc: {CidrBlock: '10.0.0.0/16'}})
    const v = evaluate(template.Resources.Thing.Properties as Value, ctx) as Record<string, Value>
    expect('Gone' in v).toBe(false)
    expect(v).toStrictEqual({
      Sub: 'demo-dev-eu-west-1-123456789012-${Literal}',
      SubVars: '128-vpc-1',
      SubAtt: '10.0.0.0/16',
      Join: 'aws/amazonaws.com/z3',
      Split: 'b',
      If: 'small',
      List: ['a', 'c'],
      B64: 'aGVsbG8=',
      AZ: 'eu-west-1a',
      Imp: 'vpc-123',
      Cond: 'yes',
    })
  })

  it('propagates Unresolved for resources not known yet', () => {
    const {ctx, template} = ctxFor(body)
    const v = evaluate(template.Resources.Thing.Properties as Value, ctx) as Record<string, Value>
    expect(v.SubVars).toBeInstanceOf(Unresolved)
    expect(v.SubAtt).toBeInstanceOf(Unresolved)
    expect(v.If).toBe('small')
  })

  it('evaluates conditions, and resource Conditions remove resources', () => {
    const {ctx} = ctxFor(body, {Env: 'prod'})
    expect(ctx.conditions).toEqual({IsProd: true, IsDev: false, Both: false})
    expect(ctx.resources.has('Only')).toBe(true)
    expect(ctxFor(body).ctx.resources.has('Only')).toBe(false)
  })

  it('reports template errors clearly', () => {
    const {ctx} = ctxFor(body)
    expect(() => evaluate({Ref: 'Nope'}, ctx)).toThrow('Template error: Unresolved resource dependencies [Nope] in the Resources block of the template')
    expect(() => evaluate({'Fn::Select': [5, ['a']]}, ctx)).toThrow(/Fn::Select cannot select nonexistent value at index 5/)
    expect(() => evaluate({'Fn::FindInMap': ['Sizes', 'qa', 'Mem']}, ctx)).toThrow(/Unable to get mapping for Sizes::qa::Mem/)
    expect(() => evaluate({'Fn::If': ['Nope', 1, 2]}, ctx)).toThrow(/Unresolved condition dependency Nope/)
    expect(() => evaluate({'Fn::Cidr': ['10.0.0.0/16', 2, 8]}, ctx)).toThrow('Template error: Fn::Cidr is not supported on the local platform')
    expect(() => evaluate({'Fn::ImportValue': 'other'}, ctx)).toThrow('No export named other found.')
  })

  it('detects circular conditions', () => {
    const t = parseTemplate('Conditions: {A: !Condition B, B: !Condition A}\nResources: {R: {Type: X}}')
    expect(() => evaluateConditions(t, {parameters: {}, pseudo, mappings: {}, resources: new Set(), ref: () => null, getAtt: () => null}))
      .toThrow(/Circular condition dependency/)
  })
})

describe('dependencies and order', () => {
  it('collects implicit dependencies from Ref, GetAtt and Sub, following only the chosen If branch', () => {
    const ids = new Set(['A', 'B', 'C', 'D'])
    const refs = referencedResources({
      x: {Ref: 'A'}, y: {'Fn::GetAtt': ['B', 'Arn']}, z: {'Fn::Sub': '${C.Arn}-${Env}-${AWS::Region}'},
      w: {'Fn::If': ['Off', {Ref: 'D'}, 'none']}, v: {'Fn::Sub': ['${D}', {D: 'literal'}]},
    }, ids, {Off: false})
    expect([...refs].sort()).toEqual(['A', 'B', 'C'])
  })

  it('orders resources in parallel levels and detects cycles', () => {
    const t = parseTemplate(`
Resources:
  Vpc: {Type: AWS::EC2::VPC}
  Subnet: {Type: AWS::EC2::Subnet, Properties: {VpcId: !Ref Vpc}}
  Rt: {Type: AWS::EC2::RouteTable, Properties: {VpcId: !Ref Vpc}}
  Assoc: {Type: AWS::EC2::SubnetRouteTableAssociation, Properties: {SubnetId: !Ref Subnet, RouteTableId: !Ref Rt}}
  Other: {Type: AWS::EC2::VPC, DependsOn: Assoc}
`)
    expect(buildGraph(t, {}, pseudo).levels).toEqual([['Vpc'], ['Subnet', 'Rt'], ['Assoc'], ['Other']])
    const cyclic = parseTemplate(`
Resources:
  A: {Type: X, Properties: {P: !GetAtt B.Arn}}
  B: {Type: X, Properties: {P: !Sub '\${C}'}}
  C: {Type: X, DependsOn: A}
  D: {Type: X}
`)
    expect(() => buildGraph(cyclic, {}, pseudo)).toThrow('Template format error: Circular dependency between resources: [A, B, C]')
    expect(topologicalLevels(['a', 'b'], new Map([['a', new Set(['b'])]]))).toEqual([['b'], ['a']])
  })

  it('rejects references to resources whose Condition is false', () => {
    const t = parseTemplate(`
Conditions: {Never: !Equals [a, b]}
Resources:
  A: {Type: X, Condition: Never}
  B: {Type: X, Properties: {P: !Ref A}}
`)
    expect(() => buildGraph(t, {}, pseudo)).toThrow(/Unresolved resource dependencies \[A\]/)
  })
})
