import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
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
    [['--bogus'], /^unknown option --bogus for abtel demo; see abtel demo --help$/],
    [['extra'], /unexpected argument "extra"/],
  ])('rejects %j with a usage error that says what to do', async (argv, message) => {
    const error = await demoCommand.run(argv, io()).catch((caught: unknown) => caught);
    expect(isAbtelError(error, 'usage')).toBe(true);
    expect((error as Error).message).toMatch(message);
  });
});

describe('abtel demo --out', () => {
  it('refuses a non-empty directory it did not write, and touches nothing in it', async () => {
    const { mkdtemp, readdir, rm, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
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
