import { describe, expect, it } from 'vitest';
import { malformedOtlp } from './otlp-shape.js';

describe('malformedOtlp', () => {
  it('names the first problem and where it is', () => {
    expect(malformedOtlp({ resourceSpans: 5 })).toBe('resourceSpans is not an array');
    expect(malformedOtlp({ resourceLogs: [{ scopeLogs: [{ logRecords: [{}, 'x'] }] }] })).toBe('resourceLogs[0].scopeLogs[0].logRecords[1] is not an object');
    const span = { traceId: 'zz', spanId: 'b7ad6b7169203331', name: 42 };
    expect(malformedOtlp({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] })).toBe('resourceSpans[0].scopeSpans[0].spans[0].traceId is not 32 hex characters');
    expect(malformedOtlp({ resourceSpans: [{ scopeSpans: [{ spans: [{ ...span, traceId: '0AF7651916CD43DD8448EB211C80319C' }] }] }] })).toBe(
      'resourceSpans[0].scopeSpans[0].spans[0].name is not a string',
    );
  });

  it('accepts absent, null and empty lists and ids, and upper-case hex', () => {
    expect(malformedOtlp({ resourceSpans: null, resourceLogs: [] })).toBeUndefined();
    expect(malformedOtlp({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '', spanId: '', name: null }] }] }] })).toBeUndefined();
    expect(malformedOtlp({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ traceId: '0AF7651916CD43DD8448EB211C80319C', spanId: 'B7AD6B7169203331' }] }] }] })).toBeUndefined();
  });
});
