/**
 * Errors of the local CloudFormation service: `QueryError`s (from the shared query-protocol helpers) with
 * CloudFormation's codes, so the router answers them as AWS would.
 */
import {QueryError} from '../query.js'

export {QueryError}

/** A template or parameter problem: AWS answers these as 400 ValidationError. */
export const validationError = (message: string) => new QueryError('ValidationError', message, 400)

/** `Template format error: …` — AWS's prefix for structural template problems. */
export const formatError = (message: string) => validationError(`Template format error: ${message}`)

/** `Template error: …` — AWS's prefix for problems found while evaluating intrinsic functions. */
export const templateError = (message: string) => validationError(`Template error: ${message}`)

export const changeSetNotFound = (name: string) => new QueryError('ChangeSetNotFound', `ChangeSet [${name}] does not exist`, 404)

export const stackNotFound = (name: string) => validationError(`Stack with id ${name} does not exist`)

export const alreadyExists = (message: string) => new QueryError('AlreadyExistsException', message, 400)

export const invalidChangeSetStatus = (message: string) => new QueryError('InvalidChangeSetStatus', message, 400)

export const insufficientCapabilities = (capabilities: string[]) =>
  new QueryError('InsufficientCapabilitiesException', `Requires capabilities : [${capabilities.join(', ')}]`, 400)
