import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRegisterExperiments, readRegisterConfig } from './config.js';

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

describe('loadRegisterExperiments', () => {
  const root = mkdtempSync(join(tmpdir(), 'abtel-config-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** The error loadRegisterExperiments(source) rejects with. */
  async function failure(source: string): Promise<{ code: string; message: string }> {
    try {
      await loadRegisterExperiments(source);
    } catch (error) {
      return error as { code: string; message: string };
    }
    throw new Error(`${source} loaded`);
  }

  it('names ABTEL_EXPERIMENTS and its value on one line when the directory cannot be read', async () => {
    const missing = join(root, 'nope');
    expect(await failure(missing)).toMatchObject({
      code: 'io',
      message: `ABTEL_EXPERIMENTS=${missing}: cannot read experiment directory ${missing}: ENOENT; pass an existing directory of *.yaml/*.json definitions`,
    });
  });

  it('lists every problem of invalid definitions on one line, then the fix', async () => {
    const dir = join(root, 'invalid');
    mkdirSync(dir);
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ key: 'x', version: 1, owner: 'me', surface: 'cta', variations: [{ key: 'a', weight: 0 }], control: 'zz' }));
    writeFileSync(join(dir, 'broken.yaml'), 'key: [unclosed\n');
    const error = await failure(dir);
    expect(error.code).toBe('invalid_definition');
    // The flow sequence left open on line 1 is reported where it should have ended: line 2, column 1.
    const start = `ABTEL_EXPERIMENTS=${dir}: 4 problems in experiment definitions: ${dir}/broken.yaml:2:1: is not valid YAML: `;
    expect(error.message.slice(0, start.length)).toBe(start);
    // bad.json is one line: the 0 of the weight is column 87, the variations list column 66, "zz" column 101.
    expect(error.message).toContain(
      `; ${dir}/bad.json:1:87: variations[0].weight must be > 0 (got 0); ${dir}/bad.json:1:66: variations needs at least 2 items (got 1); ${dir}/bad.json:1:101: control must be one of the variation keys "a" (got "zz"); fix the definitions, or point ABTEL_EXPERIMENTS at valid ones`,
    );
    expect(error.message).not.toContain('\n');
    const empty = join(root, 'empty');
    mkdirSync(empty);
    expect(await failure(empty)).toMatchObject({
      code: 'invalid_definition',
      message: `ABTEL_EXPERIMENTS=${empty}: 1 problem in experiment definitions: ${empty}: contains no *.yaml, *.yml or *.json experiment definitions; fix the definitions, or point ABTEL_EXPERIMENTS at valid ones`,
    });
  });

  it('names the URL, the line and the column of problems in served definitions', async () => {
    const served: Record<string, string> = {
      '/bad.yaml': 'key: x\nversion: 1\nowner: me\nsurface: cta\ncontrol: a\nvariations:\n  - { key: a, weight: 1 }\n  - { key: b, weight: -1 }\n',
      '/broken.yaml': 'key: x\nkey: y\n',
    };
    const server = createServer((req, res) => res.writeHead(200).end(served[req.url ?? '']));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      // Line 8 is `  - { key: b, weight: -1 }`: the -1 starts in column 23.
      expect(await failure(`${base}/bad.yaml`)).toMatchObject({
        code: 'invalid_definition',
        message: `ABTEL_EXPERIMENTS=${base}/bad.yaml: 1 problem in experiment definitions: ${base}/bad.yaml:8:23: variations[1].weight must be > 0 (got -1); fix the definitions, or point ABTEL_EXPERIMENTS at valid ones`,
      });
      expect(await failure(`${base}/broken.yaml`)).toMatchObject({
        code: 'invalid_definition',
        message: `ABTEL_EXPERIMENTS=${base}/broken.yaml: 1 problem in experiment definitions: ${base}/broken.yaml:2:1: is not valid YAML: Map keys must be unique; fix the definitions, or point ABTEL_EXPERIMENTS at valid ones`,
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('names the variable and the URL when the definitions cannot be fetched', async () => {
    const server = createServer((req, res) => res.writeHead(404).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/experiments.yaml`;
    try {
      expect(await failure(url)).toMatchObject({
        code: 'io',
        message: `ABTEL_EXPERIMENTS=${url}: cannot fetch experiment definitions from ${url}: HTTP 404 Not Found; check the URL or point it at a directory`,
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await failure(url)).toMatchObject({
      code: 'io',
      message: `ABTEL_EXPERIMENTS=${url}: cannot fetch experiment definitions from ${url}: fetch failed (ECONNREFUSED); check the URL or point it at a directory`,
    });
  });
});
