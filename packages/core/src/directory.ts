/**
 * Creating output directories without Node's recursive `mkdir`, which retries forever on file
 * systems that answer ENOENT for a directory they will never create (procfs, some FUSE mounts):
 * `mkdir('/proc/x', { recursive: true })` spins at 100 % CPU and never settles. These helpers try
 * each missing level once, so such a path fails at once with the file system's own error.
 */
import { mkdirSync, statSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

function notADirectory(dir: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${dir} exists and is not a directory`), { code: 'ENOTDIR', path: dir });
}

function codeOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

/**
 * Creates `dir` and its missing parents, trying each level once. An existing directory is fine;
 * an existing file at `dir` fails with code `ENOTDIR`; any other failure is the file system's
 * error for the level that failed (`ENOENT`, `EACCES`, `EROFS`…).
 * @example
 * await makeDirectory('./data/2026-11-22');
 */
export async function makeDirectory(dir: string): Promise<void> {
  const failed = await mkdir(dir).then(() => undefined, (error: unknown) => error);
  if (failed === undefined) return;
  const parent = dirname(dir);
  if (codeOf(failed) === 'ENOENT' && parent !== dir) {
    await makeDirectory(parent);
    // Once: a file system that still answers ENOENT fails here instead of being retried.
    const again = await mkdir(dir).then(() => undefined, (error: unknown) => error);
    if (again !== undefined) await acceptExisting(dir, again);
    return;
  }
  await acceptExisting(dir, failed);
}

/**
 * {@link makeDirectory} for synchronous code.
 * @example
 * makeDirectorySync('./data/.abtel');
 */
export function makeDirectorySync(dir: string): void {
  const failed = attempt(() => mkdirSync(dir));
  if (failed === undefined) return;
  const parent = dirname(dir);
  if (codeOf(failed) === 'ENOENT' && parent !== dir) {
    makeDirectorySync(parent);
    // Once: a file system that still answers ENOENT fails here instead of being retried.
    const again = attempt(() => mkdirSync(dir));
    if (again !== undefined) acceptExistingSync(dir, again);
    return;
  }
  acceptExistingSync(dir, failed);
}

/**
 * After a failed mkdir: an existing directory is fine (EEXIST, also when another process made it
 * meanwhile), an existing file is ENOTDIR, anything else is the file system's own error.
 */
async function acceptExisting(dir: string, error: unknown): Promise<void> {
  if (codeOf(error) !== 'EEXIST') throw error;
  if (!(await stat(dir)).isDirectory()) throw notADirectory(dir);
}

/** {@link acceptExisting} for synchronous code. */
function acceptExistingSync(dir: string, error: unknown): void {
  if (codeOf(error) !== 'EEXIST') throw error;
  if (!statSync(dir).isDirectory()) throw notADirectory(dir);
}

function attempt(fn: () => void): unknown {
  try {
    fn();
    return undefined;
  } catch (error) {
    return error;
  }
}
