import {QueryError} from '../query.js'

/** IAM error codes with AWS's HTTP statuses. */
export const noSuchEntity = (message: string) => new QueryError('NoSuchEntity', message, 404)
export const entityAlreadyExists = (message: string) => new QueryError('EntityAlreadyExists', message, 409)
export const deleteConflict = (message: string) => new QueryError('DeleteConflict', message, 409)
export const limitExceeded = (message: string) => new QueryError('LimitExceeded', message, 409)
export const malformedPolicy = (message: string) => new QueryError('MalformedPolicyDocument', message, 400)
export const invalidInput = (message: string) => new QueryError('InvalidInput', message, 400)
