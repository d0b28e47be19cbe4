import { describe, expect, it } from 'vitest';
import { isAbtelError } from '../errors.js';
import { memoryLimitFlag, numberFlag, parseFlags, requireFlag } from './index.js';

describe('parseFlags', () => {
  it('turns an unknown flag into a one-line usage error naming the command', () => {
    let caught: unknown;
    try {
      parseFlags('power', ['--nope'], { baseline: { type: 'string' } });
    } catch (error) {
      caught = error;
    }
    expect(isAbtelError(caught, 'usage')).toBe(true);
    expect((caught as Error).message).toBe('abtel power: unknown option --nope; see abtel power --help');
  });

  it('accepts a negative number as the value of a flag that takes one, long or short', () => {
    const options = { mde: { type: 'string' }, command: { type: 'string', short: 'c' }, quiet: { type: 'boolean' } } as const;
    expect(parseFlags('power', ['--mde', '-0.05'], options).values.mde).toBe('-0.05');
    expect(parseFlags('power', ['--mde=-0.05'], options).values.mde).toBe('-0.05');
    expect(parseFlags('power', ['-c', '-3', '--quiet'], options).values).toEqual({ command: '-3', quiet: true });
    expect(parseFlags('power', ['--mde', '-1e-3'], options).values.mde).toBe('-1e-3');
    // A negative quantity with a unit is a value too, so that the flag's own check can say what is wrong.
    expect(parseFlags('collector', ['--mde', '-1s'], options).values.mde).toBe('-1s');
    // After "--" everything is positional; a boolean flag takes no value.
    expect(parseFlags('power', ['--', '--mde', '-1'], options).positionals).toEqual(['--mde', '-1']);
    expect(() => parseFlags('power', ['--quiet', '-1'], options)).toThrow('abtel power: unknown option -1; see abtel power --help');
    // Not a number: still parseArgs' own complaint, on one line.
    expect(() => parseFlags('power', ['--mde', '-x'], options)).toThrow(/^abtel power: Option '--mde' argument is ambiguous\.[^\n]*\(see abtel power --help\)$/);
  });

  it('rejects a single-valued flag given twice; repeatable flags and booleans may repeat', () => {
    const options = { unit: { type: 'string' }, attr: { type: 'string', multiple: true }, gzip: { type: 'boolean' } } as const;
    expect(() => parseFlags('assign', ['--unit', 'c', '--unit=d'], options)).toThrow(
      'abtel assign: --unit was given twice ("c", then "d"); give it once (see abtel assign --help)',
    );
    const { values } = parseFlags('assign', ['--unit', 'c', '--attr', 'a=1', '--attr', 'b=2', '--gzip', '--gzip'], options);
    expect(values).toEqual({ unit: 'c', attr: ['a=1', 'b=2'], gzip: true });
  });

  it('parses known flags', () => {
    const { values } = parseFlags('power', ['--baseline', '0.6'], { baseline: { type: 'string' } });
    expect(values.baseline).toBe('0.6');
  });
});

describe('numberFlag', () => {
  it('accepts values in range and rejects the rest with the expectation spelled out', () => {
    expect(numberFlag('power', 'alpha', '0.05', { min: 0, max: 1, exclusive: true })).toBe(0.05);
    expect(numberFlag('power', 'alpha', undefined)).toBeUndefined();
    expect(() => numberFlag('power', 'alpha', '1', { min: 0, max: 1, exclusive: true })).toThrow(
      'abtel power: --alpha must be a number strictly between 0 and 1 (got "1")',
    );
    expect(() => numberFlag('collector', 'port', '80.5', { integer: true, min: 0, max: 65535 })).toThrow(/an integer/);
    expect(() => numberFlag('collector', 'port', '', { integer: true })).toThrow(/got ""/);
  });

  it('requireFlag names the missing flag', () => {
    expect(() => requireFlag('validate', 'experiments', undefined)).toThrow('abtel validate: --experiments is required');
  });
});

describe('memoryLimitFlag', () => {
  it('accepts the sizes DuckDB accepts and rejects the rest as usage errors naming the flag', () => {
    for (const size of ['600MB', '2GB', '1.5GiB', '1 GB', '1gb', '1G', '512MiB', '1TB', '.5GB']) expect(memoryLimitFlag('sql', size)).toBe(size);
    expect(memoryLimitFlag('sql', undefined)).toBeUndefined();
    for (const bad of ['abc', 'zz', '80%', '100', '', '-1GB', '2 parsecs']) {
      let caught: unknown;
      try {
        memoryLimitFlag('compact', bad);
      } catch (error) {
        caught = error;
      }
      expect(isAbtelError(caught, 'usage'), bad).toBe(true);
      expect((caught as Error).message).toBe(`abtel compact: --memory-limit must be a size like 600MB, 2GB or 1.5GiB (got "${bad}")`);
    }
  });
});
