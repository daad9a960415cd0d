/**
 * Which property changes replace a resource (create new, then delete old) instead of updating it in place.
 * From the "Update requires: Replacement" notes of the AWS resource reference, for the types the local platform
 * provisions. Types not listed: any change is `Conditional` (the engine then updates in place).
 */
export const REPLACEMENT_PROPERTIES: Record<string, readonly string[]> = {
  'AWS::S3::Bucket': ['BucketName', 'ObjectLockEnabled'],
  'AWS::S3::BucketPolicy': ['Bucket'],
  'AWS::IAM::User': ['UserName'],
  'AWS::IAM::Group': ['GroupName'],
  'AWS::IAM::Role': ['RoleName', 'Path'],
  'AWS::IAM::ManagedPolicy': ['ManagedPolicyName', 'Path', 'Description'],
  'AWS::IAM::Policy': [],
  'AWS::IAM::AccessKey': ['UserName', 'Serial'],
  'AWS::IAM::UserToGroupAddition': [],
  'AWS::Lambda::Function': ['FunctionName', 'PackageType'],
  'AWS::Lambda::Permission': ['Action', 'EventSourceToken', 'FunctionName', 'FunctionUrlAuthType', 'Principal', 'PrincipalOrgID',
    'SourceAccount', 'SourceArn'],
  'AWS::EC2::VPC': ['CidrBlock', 'Ipv4IpamPoolId', 'Ipv4NetmaskLength', 'InstanceTenancy'],
  'AWS::EC2::Subnet': ['AvailabilityZone', 'AvailabilityZoneId', 'CidrBlock', 'VpcId', 'Ipv4IpamPoolId', 'Ipv4NetmaskLength'],
  'AWS::EC2::RouteTable': ['VpcId'],
  'AWS::EC2::SubnetRouteTableAssociation': ['SubnetId'],
  'AWS::EC2::VPCEndpoint': ['ServiceName', 'VpcEndpointType', 'VpcId'],
  'AWS::EC2::SecurityGroup': ['GroupDescription', 'GroupName', 'VpcId'],
  'AWS::EC2::InternetGateway': [],
  'AWS::EC2::VPCGatewayAttachment': ['VpcId'],
  'AWS::EC2::Route': ['RouteTableId', 'DestinationCidrBlock', 'DestinationIpv6CidrBlock'],
}

export type RequiresRecreation = 'Always' | 'Never' | 'Conditionally'

/** Whether changing `property` of a resource of `type` recreates it. */
export function requiresRecreation(type: string, property: string): RequiresRecreation {
  const list = REPLACEMENT_PROPERTIES[type]
  if (list === undefined) return 'Conditionally'
  return list.includes(property) ? 'Always' : 'Never'
}
