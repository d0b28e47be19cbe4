import { chmod, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAbtelError } from '@abtel/core';
import { analyzeCommand, FAIL_ON_CONDITIONS } from './command.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'abtel-analyze-command-'));
});
afterAll(async () => {
  await chmod(join(root, 'read-only'), 0o755).catch(() => undefined);
  await rm(root, { recursive: true, force: true });
});

function run(args: string[]): Promise<number> {
  const io = { stdout: new PassThrough(), stderr: new PassThrough(), env: {}, cwd: root };
  // Inputs that do not exist: any check that passes reaches the analysis, which fails on them.
  return analyzeCommand.run(['--data', 'no-data', '--experiments', 'no-experiments', '--experiment', 'x', ...args], io);
}

async function failure(args: string[], start = run): Promise<{ code: unknown; message: string }> {
  try {
    await start(args);
  } catch (error) {
    return { code: (error as { code?: unknown }).code, message: (error as Error).message };
  }
  throw new Error('expected the command to fail');
}

describe('abtel analyze --out', () => {
  it('a missing directory fails before the analysis, naming --out, the path and the fix', async () => {
    const out = join(root, 'nope', 'x.json');
    const error = await failure(['--out', out]);
    expect(error.code).toBe('not_found');
    expect(error.message).toBe(`--out ${out}: directory ${join(root, 'nope')} does not exist; create it (mkdir -p ${join(root, 'nope')}) or write the report elsewhere`);
    expect(error.message).not.toContain('\n');
  });

  it('a relative path is resolved against the working directory', async () => {
    const error = await failure(['--out', 'nope/x.json']);
    expect(error.message).toMatch(/^--out nope\/x\.json: directory .*nope does not exist/);
  });

  it('a directory, or an unwritable directory, is refused before the analysis', async () => {
    await mkdir(join(root, 'dir'));
    expect(await failure(['--out', 'dir'])).toEqual({ code: 'io', message: `--out dir: ${join(root, 'dir')} is a directory; give a file path such as ${join(root, 'dir', 'report.json')}` });
    await mkdir(join(root, 'read-only'));
    await chmod(join(root, 'read-only'), 0o555);
    // root ignores permissions; the check is only observable for other users.
    if (process.getuid?.() !== 0) {
      expect(await failure(['--out', 'read-only/x.json'])).toMatchObject({ code: 'io', message: expect.stringMatching(/^--out read-only\/x\.json: directory .* is not writable/) });
    }
  });

  it('an existing directory passes the check (the analysis then fails on its own inputs)', async () => {
    const error = await failure(['--out', 'report.json']);
    expect(error.message).toMatch(/no-experiments/);
  });
});

describe('abtel analyze --fail-on', () => {
  const accepted = Object.keys(FAIL_ON_CONDITIONS).join(', ');

  it.each([[''], [' '], ['srm,,guardrail'], ['srm,'], [',srm']])('an empty item in %j is a usage error listing the conditions', async (value) => {
    const error = await failure(['--fail-on', value]);
    expect(isAbtelError(error, 'usage')).toBe(true);
    expect(error.message).toBe(`abtel analyze: --fail-on "${value}" has an empty condition; give a comma-separated list of ${accepted}`);
  });

  it('an unknown condition is a usage error; known ones pass the check', async () => {
    expect(await failure(['--fail-on', 'srm,nope'])).toEqual({ code: 'usage', message: `abtel analyze: --fail-on "nope" is not a condition; use ${accepted}` });
    expect((await failure(['--fail-on', 'srm, guardrail'])).code).toBe('io');
  });
});

describe('abtel analyze --experiments', () => {
  it('invalid definitions fail with each problem at its file, line and column', async () => {
    const dir = join(root, 'invalid-experiments');
    await mkdir(dir);
    await writeFile(join(dir, 'x.yaml'), 'key: x\nversion: 1\nowner: me\nsurface: cta\ncontrol: a\nvariations:\n  - { key: a, weight: 1 }\n  - { key: b, weight: 0 }\n');
    const io = { stdout: new PassThrough(), stderr: new PassThrough(), env: {}, cwd: root };
    const error = await failure(['--data', 'no-data', '--experiments', dir, '--experiment', 'x'], (args) => analyzeCommand.run(args, io));
    // Line 8 is `  - { key: b, weight: 0 }`: the 0 is in column 23.
    expect(error).toEqual({ code: 'invalid_definition', message: `1 problem in experiment definitions: ${join(dir, 'x.yaml')}:8:23: variations[1].weight must be > 0 (got 0)` });
  });
});
