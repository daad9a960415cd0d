export {createLambdaRuntime, readLambdaState, DEFAULT_MAX_CONCURRENT, RECENT_INVOCATIONS, RESERVED_ENV_KEYS} from './runtime.js'
export type * from './types.js'
