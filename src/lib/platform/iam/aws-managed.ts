/**
 * The few AWS-managed policies cape's templates and operators may attach. Read-only, not persisted; their ARNs use
 * the `aws` account like on AWS. Documents are simplified but keep the effective S3/logs permissions.
 */
export interface AwsManagedPolicy {
  name: string
  path: string
  arn: string
  policyId: string
  description: string
  document: string
}

const doc = (statements: unknown[]) => JSON.stringify({Version: '2012-10-17', Statement: statements})

const def = (name: string, path: string, policyId: string, description: string, statements: unknown[]): AwsManagedPolicy => ({
  name,
  path,
  arn: `arn:aws:iam::aws:policy${path}${name}`,
  policyId,
  description,
  document: doc(statements),
})

export const AWS_MANAGED_POLICIES: readonly AwsManagedPolicy[] = [
  def('AdministratorAccess', '/', 'ANPAIWMBCKSKIEE64ZLYK', 'Provides full access to AWS services and resources.', [
    {Effect: 'Allow', Action: '*', Resource: '*'},
  ]),
  def('ReadOnlyAccess', '/', 'ANPAILL3HVNFSB6DCOWYQ', 'Provides read-only access to AWS services and resources.', [
    {Effect: 'Allow', Action: ['s3:Get*', 's3:List*', 'iam:Get*', 'iam:List*', 'cloudformation:Describe*', 'cloudformation:Get*', 'cloudformation:List*', 'lambda:Get*', 'lambda:List*', 'logs:Get*', 'logs:Describe*'], Resource: '*'},
  ]),
  def('AmazonS3FullAccess', '/', 'ANPAIFIR6V6BVTRAHWINE', 'Provides full access to all buckets via the AWS Management Console.', [
    {Effect: 'Allow', Action: ['s3:*', 's3-object-lambda:*'], Resource: '*'},
  ]),
  def('AmazonS3ReadOnlyAccess', '/', 'ANPAIZTJ4DXE7G6AGAE6M', 'Provides read only access to all buckets via the AWS Management Console.', [
    {Effect: 'Allow', Action: ['s3:Get*', 's3:List*', 's3:Describe*', 's3-object-lambda:Get*', 's3-object-lambda:List*'], Resource: '*'},
  ]),
  def('AWSLambdaBasicExecutionRole', '/service-role/', 'ANPAJNCQGXC42545SKXIK', 'Provides write permissions to CloudWatch Logs.', [
    {Effect: 'Allow', Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], Resource: '*'},
  ]),
  def('AWSLambdaVPCAccessExecutionRole', '/service-role/', 'ANPAJVTME3YLVNL72YR2K', 'Provides minimum permissions for a Lambda function to execute while accessing a resource within a VPC.', [
    {Effect: 'Allow', Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'], Resource: '*'},
  ]),
]

export const awsManagedPolicy = (arn: string) => AWS_MANAGED_POLICIES.find((p) => p.arn === arn)
