import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeDirectory, makeDirectorySync } from './directory.js';

const onLinux = process.platform === 'linux' && existsSync('/proc/self');

describe.each([
  ['makeDirectory', (dir: string) => makeDirectory(dir)],
  ['makeDirectorySync', async (dir: string) => makeDirectorySync(dir)],
])('%s', (_name, make) => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'abtel-mkdir-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('creates the missing levels and accepts an existing directory', async () => {
    const dir = join(root, 'a', 'b', 'c');
    await make(dir);
    expect(statSync(dir).isDirectory()).toBe(true);
    await expect(make(dir)).resolves.toBeUndefined();
  });

  it('refuses an existing file with ENOTDIR, at the path and under it', async () => {
    const file = join(root, 'README.md');
    writeFileSync(file, '# not a directory\n');
    await expect(make(file)).rejects.toMatchObject({ code: 'ENOTDIR', message: `${file} exists and is not a directory` });
    await expect(make(join(file, 'sub'))).rejects.toMatchObject({ code: 'ENOTDIR' });
  });

  // Node's recursive mkdir spins forever on these (procfs answers ENOENT, never creates).
  it.runIf(onLinux)('fails at once where the file system will never create the directory', async () => {
    const started = performance.now();
    await expect(make('/proc/abtel-no-such/deeper')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(make('/proc/self/abtel-out')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(performance.now() - started).toBeLessThan(1000);
  }, 5000);
});
