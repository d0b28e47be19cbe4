import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { isAbtelError } from '@abtel/core';
import { describe, expect, it } from 'vitest';
import { collectorCommand } from '../src/commands.js';
import { parseConfig, resolveConfig } from '../src/index.js';
import { postJson, tempDir } from './helpers.js';

describe('configuration', () => {
  it('has safe defaults: loopback, 4318, no fsync, 64 MiB rotation', () => {
    const config = parseConfig({}, 'test');
    expect(config).toMatchObject({ host: '127.0.0.1', port: 4318, dir: './data', fsync: 'none', layout: 'flat', compaction: false });
    expect(config.rotation).toEqual({ maxBytes: 64 * 1024 * 1024, maxAge: 3_600_000, gzip: false });
    expect(config.shutdownTimeout).toBe(10_000);
  });

  it('names the setting and the source in errors, and rejects unknown keys', () => {
    expect(() => parseConfig({ port: 70_000 }, 'collector.yaml')).toThrow(/invalid collector configuration in collector.yaml: port: .*65535/);
    expect(() => parseConfig({ rotation: { maxBytes: 'lots' } }, 'x')).toThrow(/rotation.maxBytes: .*size like 512KiB/);
    expect(() => parseConfig({ prot: 1 }, 'x')).toThrow(/prot/);
    try {
      parseConfig({ fsync: 'sometimes' }, 'x');
    } catch (error) {
      expect(isAbtelError(error, 'invalid_input')).toBe(true);
    }
  });

  it('layers YAML < ABTEL_COLLECTOR_* < flags, with sizes and durations in units', async () => {
    const cwd = await tempDir();
    await writeFile(join(cwd, 'collector.yaml'), 'port: 1111\nhost: 127.0.0.1\nrotation:\n  maxBytes: 1MiB\n  maxAge: 10m\n  gzip: true\nlayout: date\n');
    const config = await resolveConfig({
      flags: { port: 3333 },
      env: { ABTEL_COLLECTOR_PORT: '2222', ABTEL_COLLECTOR_ROTATE_MAX_BYTES: '2MiB', ABTEL_COLLECTOR_DIR: 'spans', ABTEL_COLLECTOR_TOKEN: 't', ABTEL_COLLECTOR_SHUTDOWN_TIMEOUT: '30s' },
      cwd,
      configPath: 'collector.yaml',
    });
    expect(config.port).toBe(3333);
    expect(config.rotation).toEqual({ maxBytes: 2 * 1024 * 1024, maxAge: 600_000, gzip: true });
    expect(config.layout).toBe('date');
    expect(config.dir).toBe(join(cwd, 'spans'));
    expect(config.token).toBe('t');
    expect(config.shutdownTimeout).toBe(30_000);
  });

  it('explains a broken YAML file and a missing one', async () => {
    const cwd = await tempDir();
    await writeFile(join(cwd, 'bad.yaml'), 'port: [1\n');
    await expect(resolveConfig({ flags: {}, env: {}, cwd, configPath: 'bad.yaml' })).rejects.toThrow(/bad.yaml is not valid YAML/);
    await expect(resolveConfig({ flags: {}, env: {}, cwd, configPath: 'nope.yaml' })).rejects.toThrow(/cannot read collector config .*nope.yaml/);
    await expect(resolveConfig({ flags: {}, env: { ABTEL_COLLECTOR_COMPACTION: 'maybe' }, cwd })).rejects.toThrow(/ABTEL_COLLECTOR_COMPACTION must be true or false/);
  });
});

describe('abtel collector command', () => {
  const io = (signal?: AbortSignal) => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    return { io: { stdout, stderr, env: {}, cwd: process.cwd(), ...(signal ? { signal } : {}) }, out: () => out, err: () => err };
  };

  it('has help with an example', () => {
    expect(collectorCommand.help).toMatch(/Example:\n\s+abtel collector --port 4318/);
  });

  it('rejects unknown flags, bad ports and positional arguments as usage errors', async () => {
    for (const argv of [['--bogus'], ['--port', 'http'], ['--port', '70000'], ['./data']]) {
      await expect(collectorCommand.run(argv, io().io)).rejects.toSatisfy((error: unknown) => isAbtelError(error, 'usage'));
    }
  });

  it('bad flag and ABTEL_COLLECTOR_* values are usage errors naming the flag or variable, the value and the accepted form', async () => {
    const dir = await tempDir();
    const cases: [string[], Record<string, string>, string][] = [
      [['--layout', 'weird'], {}, 'abtel collector: --layout must be one of flat, date (got "weird")'],
      [['--fsync', 'sometimes'], {}, 'abtel collector: --fsync must be one of none, always, interval (got "sometimes")'],
      [['--max-body-bytes', 'lots'], {}, 'abtel collector: --max-body-bytes must be bytes or a size like 512KiB, 64MiB or 1GiB (got "lots")'],
      [['--rotate-max-bytes', '1parsec'], {}, 'abtel collector: --rotate-max-bytes must be bytes or a size like 512KiB, 64MiB or 1GiB (got "1parsec")'],
      [['--rotate-max-age', '5parsecs'], {}, 'abtel collector: --rotate-max-age must be milliseconds or a duration like 500ms, 30s, 10m, 1h or 1d (got "5parsecs")'],
      [[], { ABTEL_COLLECTOR_PORT: 'abc' }, 'abtel collector: ABTEL_COLLECTOR_PORT must be an integer (got "abc")'],
      [[], { ABTEL_COLLECTOR_PORT: '70000' }, 'abtel collector: ABTEL_COLLECTOR_PORT must be at most 65535 (got "70000")'],
      [[], { ABTEL_COLLECTOR_LAYOUT: 'x' }, 'abtel collector: ABTEL_COLLECTOR_LAYOUT must be one of flat, date (got "x")'],
      [[], { ABTEL_COLLECTOR_ROTATE_GZIP: 'maybe' }, 'abtel collector: ABTEL_COLLECTOR_ROTATE_GZIP must be true or false (got "maybe")'],
      // Limits and intervals of 0 would refuse every request or spin.
      [['--max-body-bytes', '0'], {}, 'abtel collector: --max-body-bytes must be more than 0 (a limit of 0 refuses every request) (got "0")'],
      [[], { ABTEL_COLLECTOR_MAX_INFLIGHT_BYTES: '0' }, 'abtel collector: ABTEL_COLLECTOR_MAX_INFLIGHT_BYTES must be more than 0 (a limit of 0 refuses every request) (got "0")'],
      [['--fsync', 'interval'], { ABTEL_COLLECTOR_FSYNC_INTERVAL: '0' }, 'abtel collector: ABTEL_COLLECTOR_FSYNC_INTERVAL must be more than 0 (an interval of 0 runs without pause) (got "0")'],
      // A negative duration is read as a value (not as an unknown flag) and refused by its own check.
      [['--shutdown-timeout', '-1s'], {}, 'abtel collector: --shutdown-timeout must be milliseconds or a duration like 500ms, 30s, 10m, 1h or 1d (got "-1s")'],
    ];
    for (const [argv, env, message] of cases) {
      const { io: streams, out } = io();
      const running = collectorCommand.run(['--port', '0', '--dir', dir, '--quiet', ...argv], { ...streams, env });
      await expect(running, message).rejects.toSatisfy((error: unknown) => isAbtelError(error, 'usage') && (error as Error).message === message);
      expect(out()).toBe('');
    }
  });

  it('prints the machine-readable listening line, serves, and stops on abort', async () => {
    const dir = await tempDir();
    const controller = new AbortController();
    const { io: streams, out, err } = io(controller.signal);
    const running = collectorCommand.run(['--port', '0', '--dir', dir, '--quiet'], streams);
    await expect.poll(out, { timeout: 5000 }).toMatch(/^abtel collector listening on http:\/\/127\.0\.0\.1:\d+\n$/);
    const url = /listening on (\S+)/.exec(out())![1]!;
    expect((await postJson(`${url}/v1/traces`, { resourceSpans: [] })).status).toBe(200);
    controller.abort();
    expect(await running).toBe(0);
    expect(err()).toMatch(/shutting down/);
  });
});

describe('progress line', () => {
  it('prints ingest rates periodically when enabled (terminals get it by default)', async () => {
    const { startCollector } = await import('../src/index.js');
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const collector = await startCollector({ port: 0, dir: await tempDir(), progress: true, progressStream: stream, progressIntervalMs: 100, log: () => {} });
    try {
      const spans = Array.from({ length: 50 }, (_, index) => ({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: (index + 1).toString(16).padStart(16, '0'), name: 'p' }));
      expect((await postJson(`${collector.url}/v1/traces`, { resourceSpans: [{ scopeSpans: [{ spans }] }] })).status).toBe(200);
      await expect.poll(() => text, { timeout: 3000 }).toMatch(/abtel collector: [\d.]+k? spans\/s, 0 logs\/s, 0 points\/s · [\d.]+ MB written · 0 rotated · 0 refused requests\n/);
      expect(text).toMatch(/[1-9][\d.]*k? spans\/s/);
      // A partial success (one span with an id that is not hex, the other written, answered 200) is counted apart from refusals.
      const partial = {
        resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: '00000000000000ff', name: 'ok' }, { traceId: 'zz', spanId: '00000000000000fe', name: 'bad id' }] }] }],
      };
      expect((await postJson(`${collector.url}/v1/traces`, partial)).status).toBe(200);
      await expect.poll(() => text, { timeout: 3000 }).toMatch(/ · 0 refused requests · 1 with invalid items dropped\n/);
    } finally {
      await collector.close();
    }
  });
});
