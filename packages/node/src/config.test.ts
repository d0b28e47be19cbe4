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

  it('accepts http and https OTLP endpoints, and treats blank ones as unset', () => {
    expect(() =>
      readRegisterConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector.internal',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: ' http://127.0.0.1:4318/v1/traces ',
        OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'HTTPS://logs.example:443/v1/logs',
      }),
    ).not.toThrow();
    expect(readRegisterConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' })).toMatchObject({ defaultTracesUrl: 'http://127.0.0.1:4318/v1/traces' });
  });

  it('rejects an OTLP endpoint that is not an http(s) URL, naming the variable, the value and the fix', () => {
    const fixes = {
      OTEL_EXPORTER_OTLP_ENDPOINT: "the collector's OTLP/HTTP base URL, e.g. http://127.0.0.1:4318, or unset it for that local collector",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'the full URL for traces, e.g. http://127.0.0.1:4318/v1/traces, or unset it to use OTEL_EXPORTER_OTLP_ENDPOINT',
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'the full URL for logs, e.g. http://127.0.0.1:4318/v1/logs, or unset it to use OTEL_EXPORTER_OTLP_ENDPOINT',
    };
    for (const [name, fix] of Object.entries(fixes)) {
      for (const value of ['not-a-url', 'ftp://x', 'http://[bad', 'localhost:4318', 'grpc://collector:4317']) {
        let thrown: unknown;
        try {
          readRegisterConfig({ [name]: value });
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toMatchObject({ code: 'usage', message: `${name} must be an http:// or https:// URL (got "${value}"); set it to ${fix}` });
      }
    }
  });

  it('rejects bad values naming the variable, the value and the fix', () => {
    expect(() => readRegisterConfig({ ABTEL_CAPTURE_CONTENT: 'maybe' })).toThrow('ABTEL_CAPTURE_CONTENT must be true or false (got "maybe"); message content is off by default');
    expect(() => readRegisterConfig({ ABTEL_FLUSH_TIMEOUT_MS: '-1' })).toThrow('ABTEL_FLUSH_TIMEOUT_MS must be a non-negative integer of milliseconds (got "-1")');
    expect(() => readRegisterConfig({ ABTEL_EVENTS: 'both' })).toThrow(expect.objectContaining({ code: 'usage' }));
  });
});
