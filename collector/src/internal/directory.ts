import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Creates `dir` and its missing parents, trying each level once. Node's
 * `mkdir(…, { recursive: true })` retries forever on file systems that answer ENOENT for a
 * directory they will never create (procfs, some FUSE mounts): the collector then hung at
 * start-up, or in its writers, at 100 % CPU.
 * @example
 * await makeDirectory('./data/2026-11-22');
 */
export async function makeDirectory(dir: string): Promise<void> {
  try {
    await mkdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if (!(await stat(dir)).isDirectory()) throw Object.assign(new Error(`${dir} exists and is not a directory`), { code: 'ENOTDIR' });
      return;
    }
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw error;
    await makeDirectory(parent);
    await mkdir(dir);
  }
}
