import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { AbtelError, UsageError } from '@abtel/core/cli';

/** The existing non-directory at `dir` or above it (what made creating `dir` fail with ENOTDIR). */
function fileInTheWay(dir: string): string | undefined {
  for (let path = dir; dirname(path) !== path; path = dirname(path)) {
    try {
      return statSync(path).isDirectory() ? undefined : path;
    } catch {
      // Missing, or under the file: look one level up.
    }
  }
  return undefined;
}

/**
 * The error to show when `abtel demo --out DIR` cannot be created or written: what is wrong with
 * which path, and what to pass instead. A path that is (or runs through) a file is a wrong
 * argument (usage, exit 2); a directory the file system refuses is an I/O error (exit 1).
 * @example
 * throw outDirectoryError('README.md', '/repo/README.md', error); // …README.md exists and is not a directory…
 */
export function outDirectoryError(given: string, out: string, error: unknown): AbtelError {
  const { code, path } = (error ?? {}) as NodeJS.ErrnoException;
  const instead = 'pass a new or empty directory, e.g. --out ./abtel-demo';
  if (code === 'ENOTDIR' || code === 'EEXIST') {
    // Node's own ENOTDIR names the directory it tried to create, not the file in the way.
    const file = fileInTheWay(out) ?? out;
    const what = file === out ? `${out} exists and is not a directory` : `${file} is a file, so ${out} cannot be a directory`;
    // Usage errors are printed as they are; the CLI prefixes other errors with `abtel demo: `.
    return new UsageError(`abtel demo: --out ${given}: ${what}; ${instead}`, { cause: error });
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new AbtelError('io', `--out ${given}: ${path ?? out} is not writable (${code}); fix its permissions or ${instead}`, { cause: error });
  }
  const reason = code === 'ENOENT' ? 'the file system refuses it (ENOENT): /proc, /sys or a similar mount?' : error instanceof Error ? error.message : String(error);
  return new AbtelError('io', `--out ${given}: cannot create ${out}, ${reason}; ${instead} on a writable file system`, { cause: error });
}
