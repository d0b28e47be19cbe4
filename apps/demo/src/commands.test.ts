import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAbtelError } from '@abtel/core/cli';
import { demoCommand } from './commands.js';

function io() {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      text += chunk.toString();
      callback();
    },
  });
  return { stdout: stream, stderr: stream, env: {}, cwd: process.cwd(), text: () => text };
}

describe('abtel demo flags', () => {
  it('prints help with an example', async () => {
    const out = io();
    expect(await demoCommand.run(['--help'], out)).toBe(0);
    expect(out.text()).toContain('Example:');
    expect(out.text()).toContain('--conversations');
  });

  it.each([
    [['--conversations', '0'], /--conversations must be an integer between 1 and 100000 \(got "0"\)/],
    [['--conversations', 'many'], /--conversations must be an integer/],
    [['--seed', 'a b'], /--seed must be 1–40 letters/],
    [['--bogus'], /^abtel demo: unknown option --bogus; see abtel demo --help$/],
    [['extra'], /unexpected argument "extra"/],
  ])('rejects %j with a usage error that says what to do', async (argv, message) => {
    const error = await demoCommand.run(argv, io()).catch((caught: unknown) => caught);
    expect(isAbtelError(error, 'usage')).toBe(true);
    expect((error as Error).message).toMatch(message);
  });
});

describe('abtel demo --out', () => {
  it('refuses a non-empty directory it did not write, and touches nothing in it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'abtel-demo-out-'));
    try {
      await writeFile(join(dir, 'thesis.tex'), 'precious');
      const error = await demoCommand.run(['--out', dir, '--conversations', '1'], io()).catch((caught: unknown) => caught);
      expect(isAbtelError(error, 'usage')).toBe(true);
      expect((error as Error).message).toContain('is not empty and was not written by abtel demo');
      expect(await readdir(dir)).toEqual(['thesis.tex']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('abtel demo --out that cannot be a directory', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'abtel-demo-out-'));
  });
  afterEach(async () => {
    await chmod(dir, 0o700);
    await rm(dir, { recursive: true, force: true });
  });
  const run = (argv: string[]) => demoCommand.run([...argv, '--conversations', '1'], { ...io(), cwd: dir }).catch((caught: unknown) => caught);

  it('refuses an existing file with a usage error naming the path and the fix, and leaves the file alone', async () => {
    await writeFile(join(dir, 'README.md'), '# readme\n');
    const error = await run(['--out', 'README.md']);
    expect(isAbtelError(error, 'usage')).toBe(true);
    expect((error as Error).message).toBe(
      `abtel demo: --out README.md: ${join(dir, 'README.md')} exists and is not a directory; pass a new or empty directory, e.g. --out ./abtel-demo`,
    );
    expect(await readFile(join(dir, 'README.md'), 'utf8')).toBe('# readme\n');
  });

  it('refuses a path under a file the same way', async () => {
    await writeFile(join(dir, 'README.md'), '# readme\n');
    const error = await run(['--out', 'README.md/demo']);
    expect(isAbtelError(error, 'usage')).toBe(true);
    expect((error as Error).message).toContain(`--out README.md/demo: ${join(dir, 'README.md')} is a file, so ${join(dir, 'README.md', 'demo')} cannot be a directory;`);
  });

  // Node's recursive mkdir retried such a path forever at ~90 % CPU.
  it.runIf(process.platform === 'linux' && existsSync('/proc/self'))(
    'fails within a couple of seconds where the file system will never create the directory',
    async () => {
      const started = performance.now();
      const error = await run(['--out', '/proc/abtel-demo-out/run']);
      expect(performance.now() - started).toBeLessThan(2000);
      expect(isAbtelError(error, 'io')).toBe(true);
      expect((error as Error).message).toBe(
        '--out /proc/abtel-demo-out/run: cannot create /proc/abtel-demo-out/run, the file system refuses it (ENOENT): /proc, /sys or a similar mount?; ' +
          'pass a new or empty directory, e.g. --out ./abtel-demo on a writable file system',
      );
    },
    10_000,
  );

  it.runIf(typeof process.getuid === 'function' && process.getuid() !== 0)('says which directory is not writable', async () => {
    await mkdir(join(dir, 'locked'));
    await chmod(join(dir, 'locked'), 0o500);
    const error = await run(['--out', 'locked/demo']);
    expect(isAbtelError(error, 'io')).toBe(true);
    expect((error as Error).message).toContain(`--out locked/demo: ${join(dir, 'locked', 'demo')} is not writable (EACCES); fix its permissions`);
    expect(await readdir(join(dir, 'locked'))).toEqual([]);
  });
});
