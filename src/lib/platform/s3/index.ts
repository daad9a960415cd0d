/** The local platform's S3 service (s3rver-based). See service.ts for what is served where. */
export {createS3Service} from './service.js'
export type {
  Authorize,
  AuthorizeCheck,
  BucketSettingKind,
  LambdaNotificationInput,
  PolicyDocument,
  S3Event,
  S3EventRecord,
  S3Notification,
  S3Service,
  S3ServiceOptions,
} from './types.js'
