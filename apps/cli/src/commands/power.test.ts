import { Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { isAbtelError, type CommandIo } from '@abtel/core/cli';
import { formatNumber, powerCommand } from './power.js';

function io(): CommandIo & { out: () => string } {
  let text = '';
  const stdout = new Writable({ write(chunk, _enc, done) { text += String(chunk); done(); } });
  const stderr = new Writable({ write(_chunk, _enc, done) { done(); } });
  return { stdout, stderr, env: {}, cwd: process.cwd(), out: () => text };
}

async function json(argv: string[]): Promise<any> {
  const target = io();
  expect(await powerCommand.run(argv, target)).toBe(0);
  return JSON.parse(target.out());
}

async function usageError(argv: string[]): Promise<string> {
  try {
    await powerCommand.run(argv, io());
  } catch (error) {
    expect(isAbtelError(error, 'usage')).toBe(true);
    const message = (error as Error).message;
    expect(message.includes('\n')).toBe(false);
    return message;
  }
  throw new Error(`expected a usage error for ${argv.join(' ')}`);
}

describe('abtel power', () => {
  test('published sample sizes: 0.60 +0.05 → 2,942 and +0.02 → 18,672 in total', async () => {
    expect(await json(['--baseline', '0.6', '--mde', '0.05', '--format', 'json'])).toMatchObject({ kind: 'sample_size', perArm: [1471, 1471], total: 2942 });
    expect(await json(['--baseline', '0.6', '--mde', '0.02', '--alpha', '0.05', '--power', '0.8', '--arms', '2', '--allocation', '50/50', '--format', 'json'])).toMatchObject({ total: 18672 });
  });

  test('text output lists arms, total and days', async () => {
    const target = io();
    await powerCommand.run(['--baseline', '0.6', '--mde', '0.05', '--daily-units', '500'], target);
    expect(target.out()).toMatch(/control\s+1,471/);
    expect(target.out()).toMatch(/treatment\s+1,471/);
    expect(target.out()).toMatch(/total\s+2,942/);
    expect(target.out()).toMatch(/days\s+6 +at 500 units\/day/);
  });

  test('unequal allocation and three arms', async () => {
    const result = await json(['--baseline', '0.6', '--mde', '0.05', '--allocation', '20/40/40', '--format', 'json']);
    expect(result.perArm).toHaveLength(3);
    expect(result.allocation).toEqual([0.2, 0.4, 0.4]);
    expect(result.perArm[1]).toBe(result.perArm[0] * 2);
  });

  test('--n gives the minimum detectable effect', async () => {
    const result = await json(['--n', '5000', '--baseline', '0.6', '--format', 'json']);
    expect(result.kind).toBe('mde');
    expect(result.absolute).toBeGreaterThan(0.035);
    expect(result.absolute).toBeLessThan(0.04);
    const target = io();
    await powerCommand.run(['--n', '5000', '--baseline', '0.6'], target);
    expect(target.out()).toMatch(/Minimum detectable effect with 5,000 units/);
  });

  test('computed inputs print as typed, not with floating-point noise', async () => {
    const up = io();
    await powerCommand.run(['--baseline', '0.55', '--mde', '0.15', '--power', '0.9'], up);
    expect(up.out().split('\n')[0]).toBe('Sample size for a proportion 0.55 → 0.7 (+0.15), two-sided α 0.05, power 0.9:');
    const down = io();
    await powerCommand.run(['--baseline', '0.6', '--mde', '-0.05'], down);
    // 0.6 - 0.05 is 0.5499999999999999 in binary floating point.
    expect(down.out().split('\n')[0]).toBe('Sample size for a proportion 0.6 → 0.55 (-0.05), two-sided α 0.05, power 0.8:');
    expect(formatNumber(0.1 + 0.2)).toBe('0.3');
    expect(formatNumber(1 / 3)).toBe('0.333333333333');
    expect(formatNumber(1234.5)).toBe('1234.5');
  });

  test('means with --sd', async () => {
    expect((await json(['--sd', '10', '--mde', '1', '--format', 'json'])).perArm).toEqual([1570, 1570]);
  });

  test('bad values are one-line usage errors', async () => {
    expect(await usageError(['--baseline', '1.5', '--mde', '0.05'])).toMatch(/--baseline must be a number strictly between 0 and 1/);
    expect(await usageError(['--baseline', '0.6'])).toMatch(/exactly one of --mde .* or --n/);
    expect(await usageError(['--baseline', '0.6', '--mde', '0.5'])).toMatch(/baseline \+ mde strictly between 0 and 1/);
    expect(await usageError(['--baseline', '0.6', '--mde', '0.05', '--allocation', '50/x'])).toMatch(/--allocation must be positive weights/);
    expect(await usageError(['--baseline', '0.6', '--mde', '0.05', '--arms', '3', '--allocation', '50/50'])).toMatch(/lists 2 arms but --arms is 3/);
    expect(await usageError(['--baseline', '0.6', '--mde', '0.05', '--format', 'xml'])).toMatch(/--format must be text or json/);
    expect(await usageError(['--baseline', '0.6', '--mde', '0.05', '--bogus'])).toBe('abtel power: unknown option --bogus; see abtel power --help');
    expect(await usageError(['--n', '10', '--baseline', '0.6'])).toMatch(/too small/);
  });

  test('help has an example', () => {
    expect(powerCommand.help).toMatch(/Examples:\n {2}abtel power --baseline 0.6 --mde 0.05/);
  });
});
