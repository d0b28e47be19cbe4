import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
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
      tracesDestination: 'http://127.0.0.1:4318/v1/traces',
      logsDestination: 'http://127.0.0.1:4318/v1/logs',
      flushTimeoutMs: 2000,
      tracesProtocol: 'http/json',
      logsProtocol: 'http/json',
    });
  });

  it("reads the OTLP protocol per signal, the signal's own variable first", () => {
    expect(readRegisterConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' })).toMatchObject({ tracesProtocol: 'http/protobuf', logsProtocol: 'http/protobuf' });
    expect(readRegisterConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/json' })).toMatchObject({
      tracesProtocol: 'http/protobuf',
      logsProtocol: 'http/json',
    });
    expect(readRegisterConfig({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: ' http/protobuf ', OTEL_EXPORTER_OTLP_PROTOCOL: '' })).toMatchObject({
      tracesProtocol: 'http/protobuf',
      logsProtocol: 'http/json',
    });
  });

  it('refuses grpc and unknown OTLP protocols rather than sending OTLP/HTTP where they point', () => {
    expect(() => readRegisterConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(
      "OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported by the drop-in, which sends OTLP over HTTP; set it to http/protobuf or http/json and point OTEL_EXPORTER_OTLP_ENDPOINT at the collector's OTLP/HTTP port (usually 4318), or unset it",
    );
    // The signal's own variable is named, also when it is the one that is wrong.
    expect(() => readRegisterConfig({ OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/xml', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })).toThrow(
      expect.objectContaining({ code: 'usage', message: 'OTEL_EXPORTER_OTLP_LOGS_PROTOCOL must be http/protobuf or http/json (got "http/xml"); unset it for http/json' }),
    );
  });

  it('leaves endpoints to the OTLP exporters when any OTEL endpoint variable is set', () => {
    expect(readRegisterConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toMatchObject({ defaultTracesUrl: undefined, defaultLogsUrl: undefined });
    expect(readRegisterConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t/v1/traces' })).toMatchObject({
      defaultTracesUrl: undefined,
      defaultLogsUrl: 'http://127.0.0.1:4318/v1/logs',
    });
  });

  it('resolves where each signal goes as the exporters do: the signal variable, else the base variable + /v1/<signal>', () => {
    expect(readRegisterConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector.internal:4318/' })).toMatchObject({
      tracesDestination: 'https://collector.internal:4318/v1/traces',
      logsDestination: 'https://collector.internal:4318/v1/logs',
    });
    expect(
      readRegisterConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://base:4318', OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: ' http://logs:9999/custom ', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: ' ' }),
    ).toMatchObject({ tracesDestination: 'http://base:4318/v1/traces', logsDestination: 'http://logs:9999/custom' });
    expect(readRegisterConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:1/v1/traces' })).toMatchObject({
      tracesDestination: 'http://t:1/v1/traces',
      logsDestination: 'http://127.0.0.1:4318/v1/logs',
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
    expect(() => readRegisterConfig({ ABTEL_CAPTURE_CONTENT: 'maybe' })).toThrow(
      'ABTEL_CAPTURE_CONTENT must be true or false (or 1/0, yes/no, on/off; got "maybe"); unset it to leave message content off',
    );
    const flushProblem = (got: string) =>
      `ABTEL_FLUSH_TIMEOUT_MS must be a whole number of milliseconds from 0 to 2147483647 (got "${got}"); unset it for 2000 (0 exits without waiting for telemetry still queued)`;
    // Above setTimeout's largest delay, Node would fire the timer after 1 ms: the flush would be cut at once.
    for (const bad of ['-1', '1.5', 'soon', '2147483648', '3000000000', '1e12']) {
      expect(() => readRegisterConfig({ ABTEL_FLUSH_TIMEOUT_MS: bad })).toThrow(flushProblem(bad));
    }
    expect(readRegisterConfig({ ABTEL_FLUSH_TIMEOUT_MS: '2147483647' }).flushTimeoutMs).toBe(2147483647);
    expect(readRegisterConfig({ ABTEL_FLUSH_TIMEOUT_MS: '0' }).flushTimeoutMs).toBe(0);
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

  it('reads a file: URL as the directory it names, and refuses other URL schemes instead of reading them as a directory', async () => {
    const dir = join(root, 'from-url');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'p.json'),
      JSON.stringify({ key: 'p', version: 1, owner: 'me', surface: 'persona', control: 'a', variations: [{ key: 'a', weight: 1 }, { key: 'b', weight: 1 }] }),
    );
    expect((await loadRegisterExperiments(pathToFileURL(dir).href)).all().map((definition) => definition.key)).toEqual(['p']);
    expect(await failure('ftp://config.internal/experiments.yaml')).toEqual(
      expect.objectContaining({
        code: 'usage',
        message:
          'ABTEL_EXPERIMENTS=ftp://config.internal/experiments.yaml: unsupported URL scheme "ftp:" in ftp://config.internal/experiments.yaml; use an http(s) URL of one definition file, or a directory of definitions',
      }),
    );
  });

  it('names the cause when fetch fails without an error code', async () => {
    // Port 1 is one fetch refuses to connect to ("bad port"), with no errno code.
    expect(await failure('http://127.0.0.1:1/x.yaml')).toMatchObject({
      code: 'io',
      message: 'ABTEL_EXPERIMENTS=http://127.0.0.1:1/x.yaml: cannot fetch experiment definitions from http://127.0.0.1:1/x.yaml: fetch failed (bad port); check the URL or point it at a directory',
    });
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
