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
  try {
    await mkdir(dir);
  } catch (error) {
    const code = codeOf(error);
    if (code === 'EEXIST') {
      if (!(await stat(dir)).isDirectory()) throw notADirectory(dir);
      return;
    }
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw error;
    await makeDirectory(parent);
    // Once: another process may have made it since (EEXIST is then fine), and a file system that
    // still answers ENOENT fails here instead of being retried.
    await mkdir(dir).catch(async (again: unknown) => {
      if (codeOf(again) !== 'EEXIST') throw again;
      if (!(await stat(dir)).isDirectory()) throw notADirectory(dir);
    });
  }
}

/**
 * {@link makeDirectory} for synchronous code.
 * @example
 * makeDirectorySync('./data/.abtel');
 */
export function makeDirectorySync(dir: string): void {
  try {
    mkdirSync(dir);
  } catch (error) {
    const code = codeOf(error);
    if (code === 'EEXIST') {
      if (!statSync(dir).isDirectory()) throw notADirectory(dir);
      return;
    }
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw error;
    makeDirectorySync(parent);
    try {
      mkdirSync(dir);
    } catch (again) {
      if (codeOf(again) !== 'EEXIST') throw again;
      if (!statSync(dir).isDirectory()) throw notADirectory(dir);
    }
  }
}
