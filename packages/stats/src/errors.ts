/** Error codes of @abtel/stats. */
export type StatsErrorCode = 'invalid_input';

/**
 * Thrown when an input cannot describe data (negative counts, successes > n, α outside (0, 1)…).
 * The message says which argument, what was expected and what was given.
 * @example
 * try { compareBinary({ n: 10, successes: 11 }, { n: 10, successes: 3 }); }
 * catch (error) { if (isStatsError(error)) console.error(error.message); }
 */
export class StatsError extends Error {
  override readonly name = 'StatsError';
  readonly code: StatsErrorCode;
  constructor(message: string, options?: { cause?: unknown; code?: StatsErrorCode }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = options?.code ?? 'invalid_input';
  }
}

/**
 * True when `error` is a StatsError (checked by code, not instanceof, so copies of the package agree).
 * @example
 * if (isStatsError(error)) process.exitCode = 2;
 */
export function isStatsError(error: unknown): error is StatsError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { name?: unknown }).name === 'StatsError' &&
    (error as { code?: unknown }).code === 'invalid_input'
  );
}
