export { AbtelError, UsageError, isAbtelError } from './errors.js';
export type { AbtelErrorCode } from './errors.js';
