import { Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { isAbtelError, type CommandIo } from '@abtel/core/cli';
import { boundariesCommand } from './boundaries.js';

function io(): CommandIo & { out: () => string } {
  let text = '';
  const stdout = new Writable({ write(chunk, _enc, done) { text += String(chunk); done(); } });
  const stderr = new Writable({ write(_chunk, _enc, done) { done(); } });
  return { stdout, stderr, env: {}, cwd: process.cwd(), out: () => text };
}

describe('abtel boundaries', () => {
  test('JSON: the published four-look O’Brien–Fleming boundaries and nominal p-values', async () => {
    const target = io();
    expect(await boundariesCommand.run(['--looks', '0.25,0.5,0.75,1', '--alpha', '0.05', '--format', 'json'], target)).toBe(0);
    const result = JSON.parse(target.out());
    expect(result.looks.map((look: { z: number }) => Number(look.z.toFixed(3)))).toEqual([4.333, 2.963, 2.359, 2.014]);
    expect(result.looks[3].nominalPValue).toBeCloseTo(0.044, 3);
    expect(result.looks[3].cumulativeAlpha).toBeCloseTo(0.05, 12);
  });

  test('a count means equally spaced looks; text output is a table', async () => {
    const target = io();
    await boundariesCommand.run(['--looks', '4'], target);
    expect(target.out()).toMatch(/\b1 +0\.2500 +4\.3326/);
    expect(target.out()).toMatch(/\b4 +1\.0000 +2\.0141/);
  });

  test('bad looks and α are one-line usage errors', async () => {
    for (const [argv, pattern] of [
      [['--looks', '0.5,0.4,1'], /must increase strictly/],
      [['--looks', '0.5,abc'], /look 2 is "abc"/],
      [['--looks', '0.5,1', '--alpha', '2'], /--alpha must be a number strictly between 0 and 1/],
      [[], /--looks is required/],
    ] as const) {
      await expect(boundariesCommand.run(argv, io())).rejects.toSatisfy((error: unknown) => isAbtelError(error, 'usage') && pattern.test((error as Error).message));
    }
  });
});
