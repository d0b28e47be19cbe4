import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { reportError } from './safe.js';
import { warnUser } from './warn.js';

const messages: string[] = [];
const logger: DiagLogger = {
  error: (message) => messages.push(`error ${message}`),
  warn: (message) => messages.push(`warn ${message}`),
  info: () => undefined,
  debug: () => undefined,
  verbose: () => undefined,
};

/** The process warnings emitted while `fn` runs (Node emits them on the next tick). */
async function processWarnings(fn: () => void): Promise<Error[]> {
  const seen: Error[] = [];
  const listener = (warning: Error): void => void seen.push(warning);
  process.on('warning', listener);
  try {
    fn();
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', listener);
  }
  return seen.filter((warning) => warning.name === 'AbtelWarning');
}

afterEach(() => {
  diag.disable();
  messages.length = 0;
});

describe('warnUser', () => {
  it('reports every occurrence through diag and the first of each kind as a process warning', async () => {
    diag.setLogger(logger, DiagLogLevel.WARN);
    const warnings = await processWarnings(() => {
      warnUser('TEST_DROPPED', 'dropped the first', 'error');
      warnUser('TEST_DROPPED', 'dropped the second', 'error');
      warnUser('TEST_OTHER', 'another kind');
    });
    expect(messages).toEqual(['error @abtel/node: dropped the first', 'error @abtel/node: dropped the second', 'warn @abtel/node: another kind']);
    expect(warnings.map((warning) => [(warning as Error & { code?: string }).code, warning.message])).toEqual([
      ['ABTEL_TEST_DROPPED', '@abtel/node: dropped the first (shown once; every occurrence goes to the OpenTelemetry diag logger, e.g. OTEL_LOG_LEVEL=warn)'],
      ['ABTEL_TEST_OTHER', '@abtel/node: another kind (shown once; every occurrence goes to the OpenTelemetry diag logger, e.g. OTEL_LOG_LEVEL=warn)'],
    ]);
    // Once per process: later occurrences go to diag only.
    expect(await processWarnings(() => warnUser('TEST_DROPPED', 'dropped the third', 'error'))).toEqual([]);
    expect(messages.at(-1)).toBe('error @abtel/node: dropped the third');
  });

  it('shows the warning without any diag logger set, which is when it matters', async () => {
    const warnings = await processWarnings(() => warnUser('TEST_NO_LOGGER', 'nobody listens to diag'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toContain('nobody listens to diag');
  });

  it('never throws, even when the diag logger does', async () => {
    diag.setLogger({ ...logger, warn: () => { throw new Error('logger broke'); } }, DiagLogLevel.WARN);
    let warnings: Error[] = [];
    await expect((async () => (warnings = await processWarnings(() => warnUser('TEST_BROKEN_LOGGER', 'still shown'))))()).resolves.toBeDefined();
    expect(warnings).toHaveLength(1);
  });
});

describe('reportError', () => {
  it('shows the first failure of each kind of work as a process warning', async () => {
    diag.setLogger(logger, DiagLogLevel.WARN);
    const warnings = await processWarnings(() => {
      reportError('test work A', new Error('first'));
      reportError('test work A', new Error('second'));
      reportError('test work B', 'plain string');
    });
    expect(messages).toEqual(['error @abtel/node: test work A failed: first', 'error @abtel/node: test work A failed: second', 'error @abtel/node: test work B failed: plain string']);
    expect(warnings.map((warning) => warning.message)).toEqual([
      '@abtel/node: test work A failed: first (shown once; every occurrence goes to the OpenTelemetry diag logger, e.g. OTEL_LOG_LEVEL=warn)',
      '@abtel/node: test work B failed: plain string (shown once; every occurrence goes to the OpenTelemetry diag logger, e.g. OTEL_LOG_LEVEL=warn)',
    ]);
  });
});
