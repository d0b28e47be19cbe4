import { describe, expect, it } from 'vitest';
import { readRegisterConfig } from './config.js';

describe('readRegisterConfig', () => {
  it('defaults to logs, content off (left to instrumentation-openai), and the local collector on 127.0.0.1:4318', () => {
    expect(readRegisterConfig({})).toEqual({
      experiments: undefined,
      events: 'logs',
      captureContent: undefined,
      defaultTracesUrl: 'http://127.0.0.1:4318/v1/traces',
      defaultLogsUrl: 'http://127.0.0.1:4318/v1/logs',
      flushTimeoutMs: 2000,
    });
  });

  it('leaves endpoints to the OTLP exporters when any OTEL endpoint variable is set', () => {
    expect(readRegisterConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toMatchObject({ defaultTracesUrl: undefined, defaultLogsUrl: undefined });
    expect(readRegisterConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t/v1/traces' })).toMatchObject({
      defaultTracesUrl: undefined,
      defaultLogsUrl: 'http://127.0.0.1:4318/v1/logs',
    });
  });

  it('reads the ABTEL_ variables', () => {
    expect(readRegisterConfig({ ABTEL_EVENTS: 'spans', ABTEL_CAPTURE_CONTENT: 'TRUE', ABTEL_EXPERIMENTS: ' ./exp ', ABTEL_FLUSH_TIMEOUT_MS: '500' })).toMatchObject({
      events: 'spans',
      captureContent: true,
      experiments: './exp',
      flushTimeoutMs: 500,
    });
    expect(readRegisterConfig({ ABTEL_CAPTURE_CONTENT: 'off' }).captureContent).toBe(false);
  });

  it('rejects bad values naming the variable, the value and the fix', () => {
    expect(() => readRegisterConfig({ ABTEL_CAPTURE_CONTENT: 'maybe' })).toThrow('ABTEL_CAPTURE_CONTENT must be true or false (got "maybe"); message content is off by default');
    expect(() => readRegisterConfig({ ABTEL_FLUSH_TIMEOUT_MS: '-1' })).toThrow('ABTEL_FLUSH_TIMEOUT_MS must be a non-negative integer of milliseconds (got "-1")');
    expect(() => readRegisterConfig({ ABTEL_EVENTS: 'both' })).toThrow(expect.objectContaining({ code: 'usage' }));
  });
});
