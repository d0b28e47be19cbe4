/**
 * Every error abtel raises on purpose carries a literal `code`. Guards check the code, not
 * `instanceof`, because two copies of a package (or a bundled copy) break `instanceof`.
 */
export type AbtelErrorCode =
  | 'usage'
  | 'invalid_definition'
  | 'invalid_transition'
  | 'not_found'
  | 'invalid_input'
  | 'fail_on'
  | 'io';

/**
 * Base class of abtel's own errors.
 * @example
 * throw new AbtelError('not_found', 'experiment "support-persona" is not defined in ./experiments');
 */
export class AbtelError extends Error {
  readonly code: AbtelErrorCode;
  constructor(code: AbtelErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AbtelError';
    this.code = code;
  }
}

/**
 * A wrong flag, a missing argument or a bad value on the command line: exit code 2.
 * @example
 * throw new UsageError('--port must be an integer between 0 and 65535 (got "http")');
 */
export class UsageError extends AbtelError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('usage', message, options);
    this.name = 'UsageError';
  }
}

/**
 * True when `error` is an abtel error with the given code (works across package copies).
 * @example
 * if (isAbtelError(err, 'usage')) process.exitCode = 2;
 */
export function isAbtelError(error: unknown, code?: AbtelErrorCode): error is AbtelError {
  if (typeof error !== 'object' || error === null) return false;
  const candidate = error as { code?: unknown; name?: unknown };
  if (typeof candidate.code !== 'string') return false;
  if (code !== undefined) return candidate.code === code;
  return typeof candidate.name === 'string' && /Error$/.test(candidate.name);
}

/**
 * A place in a text file, 1-based as editors count: `column` counts UTF-16 code units.
 * @example
 * const at: SourcePosition = { line: 12, column: 17 };
 */
export interface SourcePosition {
  line: number;
  column: number;
}

/** One problem in a definition file: where it is and what to do about it. */
export interface DefinitionProblem {
  /** The file, as given to the loader (relative to the working directory when possible). */
  file: string;
  /** The path inside the file, e.g. `variations[1].weight` (empty for the whole file). */
  path: string;
  /** What is wrong and how to fix it, e.g. `must be > 0 (got 0)`. */
  message: string;
  /**
   * Where in the file (1-based), when the document came from text: the value at `path`, or its
   * nearest existing ancestor when the path is missing; for a syntax error, the parser's position.
   */
  line?: number;
  /** The column (1-based) that goes with `line`. */
  column?: number;
}

/**
 * Formats a problem as one line: `file:line:column: path message`, the shape editors and CI
 * problem matchers read, or `file: path message` when the problem has no position.
 * @example
 * formatProblem({ file: 'experiments/support.yaml', line: 12, column: 17, path: 'variations[1].weight', message: 'must be > 0 (got 0)' });
 * // 'experiments/support.yaml:12:17: variations[1].weight must be > 0 (got 0)'
 */
export function formatProblem(problem: DefinitionProblem): string {
  const where = problem.line === undefined ? problem.file : `${problem.file}:${problem.line}:${problem.column ?? 1}`;
  return `${where}: ${problem.path === '' ? '' : `${problem.path} `}${problem.message}`;
}

/**
 * Invalid experiment or metric definitions. `problems` has one entry per problem; the message
 * lists them all, one per line.
 * @example
 * if (isAbtelError(err, 'invalid_definition')) for (const p of (err as DefinitionError).problems) console.error(formatProblem(p));
 */
export class DefinitionError extends AbtelError {
  readonly problems: readonly DefinitionProblem[];
  constructor(problems: readonly DefinitionProblem[], options?: { cause?: unknown }) {
    const count = problems.length;
    super(
      'invalid_definition',
      `${count} problem${count === 1 ? '' : 's'} in experiment definitions: ${problems.map(formatProblem).join('; ')}`,
      options,
    );
    this.name = 'DefinitionError';
    this.problems = problems;
  }
}
