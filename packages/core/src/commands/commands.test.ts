import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { CommandIo } from '../cli/index.js';
import { bucketOf, isAbtelError } from '../index.js';
import { assignCommand, validateCommand } from './index.js';

const packageDir = fileURLToPath(new URL('../..', import.meta.url));

function capture(cwd = packageDir): CommandIo & { out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return { stdout, stderr, env: {}, cwd, out: () => out, err: () => err };
}

async function usageError(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isAbtelError(error, 'usage')) return (error as Error).message;
    throw error;
  }
  throw new Error('expected a usage error');
}

let badDir = '';
afterAll(async () => {
  if (badDir) await rm(badDir, { recursive: true, force: true });
});

describe('abtel validate', () => {
  it('accepts the examples (relative to the working directory) and exits 0', async () => {
    const io = capture();
    expect(await validateCommand.run(['--experiments', 'examples/experiments'], io)).toBe(0);
    expect(io.out()).toBe('examples/experiments: 2 valid experiment definitions (retrieval-profile, support-persona), 5 shared metrics\n');
  });

  it('prints every problem and exits 1; --json gives them structured', async () => {
    badDir = await mkdtemp(join(tmpdir(), 'abtel-validate-'));
    await writeFile(
      join(badDir, 'support.yaml'),
      'key: support\nversion: 1\nowner: me\nsurface: persona\ncontrol: a\nvariations:\n  - { key: a, weight: 1 }\n  - { key: b, weight: 0 }\nstate: live\n',
    );
    const io = capture(badDir);
    expect(await validateCommand.run(['--experiments', '.'], io)).toBe(1);
    expect(io.out()).toBe(
      // Counted by hand: line 8 is `  - { key: b, weight: 0 }` (the 0 in column 23), line 9 `state: live`.
      'support.yaml:8:23: variations[1].weight must be > 0 (got 0)\nsupport.yaml:9:8: state must be one of "draft", "running", "paused", "rolled_back", "shipped", "inconclusive", "archived" (got "live")\n',
    );
    expect(io.err()).toBe('abtel validate: 2 problems in .\n');
    const json = capture(badDir);
    expect(await validateCommand.run(['--experiments', '.', '--json'], json)).toBe(1);
    expect(JSON.parse(json.out())).toEqual({
      valid: false,
      experiments: [],
      problems: [
        { file: 'support.yaml', path: 'variations[1].weight', message: 'must be > 0 (got 0)', line: 8, column: 23 },
        { file: 'support.yaml', path: 'state', message: expect.stringContaining('must be one of'), line: 9, column: 8 },
      ],
    });
  });

  it('usage errors: missing or unknown flags, stray arguments', async () => {
    expect(await usageError(validateCommand.run([], capture()))).toBe('abtel validate: --experiments is required (see abtel validate --help)');
    expect(await usageError(validateCommand.run(['--experiments', 'x', '--nope'], capture()))).toBe('abtel validate: unknown option --nope; see abtel validate --help');
    expect(await usageError(validateCommand.run(['--experiments', 'x', 'extra'], capture()))).toBe('abtel validate: unexpected argument "extra" (see abtel validate --help)');
    expect(validateCommand.help).toMatch(/Example:\n  abtel validate --experiments/);
  });
});

describe('abtel assign', () => {
  const base = ['--experiments', 'examples/experiments'];
  it('prints the routing of a unit as JSON, with the documented fields', async () => {
    const io = capture();
    expect(await assignCommand.run([...base, '--experiment', 'support-persona', '--unit', 'conv-1', '--attr', 'locale=en'], io)).toBe(0);
    // bucketOf('support-persona', 'conv-1') = 0.9126… (README test vector) ≥ 0.5 → the second arm.
    expect(JSON.parse(io.out())).toEqual({ experiment: 'support-persona', variation: 'warm', inExperiment: true, bucket: 0.9126919650007039, reason: 'assigned' });
    expect(Object.keys(JSON.parse(io.out()))).toEqual(['experiment', 'variation', 'inExperiment', 'bucket', 'reason']);
  });

  it('explains a unit outside targeting', async () => {
    const io = capture();
    await assignCommand.run([...base, '--experiment', 'support-persona', '--unit', 'conv-1', '--attr', 'locale=fr'], io);
    expect(JSON.parse(io.out())).toEqual({ experiment: 'support-persona', variation: 'neutral', inExperiment: false, bucket: bucketOf('support-persona', 'conv-1'), reason: 'not_targeted' });
  });

  it('uses the salt and applies layer, coverage and numeric targeting from string attributes', async () => {
    const outcomes = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const io = capture();
      await assignCommand.run([...base, '--experiment', 'retrieval-profile', '--unit', `conv-${i}`, '--attr', 'plan=pro', '--attr', 'seats=12'], io);
      const result = JSON.parse(io.out()) as { bucket: number; reason: string };
      expect(result.bucket).toBe(bucketOf('retrieval-profile-2026-11', `conv-${i}`));
      outcomes.add(result.reason);
    }
    expect(outcomes).toEqual(new Set(['assigned', 'outside_layer', 'outside_coverage']));
  });

  it('usage and lookup errors', async () => {
    expect(await usageError(assignCommand.run([...base, '--experiment', 'x'], capture()))).toBe('abtel assign: --unit is required (see abtel assign --help)');
    expect(await usageError(assignCommand.run([...base, '--experiment', 'x', '--unit', 'u', '--attr', 'novalue'], capture()))).toBe('abtel assign: --attr must be name=value (got "novalue")');
    expect(await usageError(assignCommand.run([...base, '--experiment', 'support-persona', '--unit', ''], capture()))).toBe(
      'abtel assign: --unit must not be empty (give the unit id, e.g. --unit conv-1)',
    );
    expect(await usageError(assignCommand.run([...base, '--experiment', 'support-persona', '--unit', 'c', '--unit', 'd'], capture()))).toBe(
      'abtel assign: --unit was given twice ("c", then "d"); give it once (see abtel assign --help)',
    );
    await expect(assignCommand.run([...base, '--experiment', 'nope', '--unit', 'u'], capture())).rejects.toThrow('experiment "nope" is not defined (known: retrieval-profile, support-persona)');
  });
});
