import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAppDir, ensureBuilt, startApp } from './helpers/child.js';
import { OtlpReceiver } from './helpers/otlp-receiver.js';

// How the drop-in ends a process: on a signal, with or without the app's own handler, and when
// the app's work is done while the collector is down or failing. Real child processes started with
// `node --import @abtel/node/register`, exporting to a local receiver (or to a closed port).

// An HTTP server that shuts down gracefully on the signal in SIGNAL, with `process.once` as apps do.
const GRACEFUL_SERVER = `
import http from 'node:http';
import { trace } from '@opentelemetry/api';

const signal = process.env.SIGNAL;
const server = http.createServer((req, res) => res.end('ok'));
server.listen(0, '127.0.0.1', () => {
  trace.getTracer('app').startSpan('graceful-before-signal').end();
  console.log(JSON.stringify({ port: server.address().port }));
});
process.once(signal, () => {
  server.close();
  setTimeout(() => {
    console.log('graceful done');
    process.exit(0);
  }, 500);
});
`;

// No signal handler: the default action (termination by the signal) is what the app expects.
const NO_HANDLER = `
import { trace } from '@opentelemetry/api';

const tracer = trace.getTracer('app');
for (let i = 0; i < 3; i++) tracer.startSpan('plain-before-signal-' + i).end();
// Stays up until a signal arrives (the test harness kills it after its timeout otherwise).
setInterval(() => {}, 1000);
console.log(JSON.stringify({ ready: true }));
`;

// About one second of work: SPANS spans and one abtel.outcome event (a log record) every 20 ms,
// then 'done'. With short batch delays an export of each kind is under way when the work ends.
const LOAD = `
import { trace } from '@opentelemetry/api';
import { recordOutcome } from '@abtel/node';

const tracer = trace.getTracer('load');
const total = Number(process.env.SPANS);
// PAD: an attribute of that many characters on every span (large export bodies).
const options = process.env.PAD ? { attributes: { pad: 'x'.repeat(Number(process.env.PAD)) } } : undefined;
const perTick = Math.ceil(total / 50);
let spans = 0;
let outcomes = 0;
await new Promise((resolve) => {
  const tick = () => {
    for (let i = 0; i < perTick && spans < total; i++, spans++) tracer.startSpan('load-' + spans, options).end();
    recordOutcome({ conversationId: 'load-' + outcomes, name: 'tick', value: outcomes });
    outcomes += 1;
    if (spans < total) setTimeout(tick, 20);
    else resolve();
  };
  tick();
});
console.log(JSON.stringify({ done: { spans, outcomes } }));
`;

const receiver = new OtlpReceiver();
let app: ReturnType<typeof createAppDir>;

beforeAll(async () => {
  ensureBuilt();
  await receiver.start();
  app = createAppDir({ 'graceful.mjs': GRACEFUL_SERVER, 'no-handler.mjs': NO_HANDLER, 'load.mjs': LOAD });
}, 120_000);

afterAll(async () => {
  await receiver.stop();
  app?.remove();
});

beforeEach(() => receiver.clear());

// A long batch delay: the spans made before the signal reach the receiver only through the flush.
const env = (extra: Record<string, string>): Record<string, string> => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
  OTEL_BSP_SCHEDULE_DELAY: '60000',
  ...extra,
});

describe('node --import @abtel/node/register on SIGTERM and SIGINT', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`leaves ${signal} to an app that handles it with process.once: the app finishes its graceful shutdown and exits 0`, async () => {
      const child = startApp(app.dir, 'graceful.mjs', env({ SIGNAL: signal, OTEL_SERVICE_NAME: 'graceful' }));
      await child.firstJsonLine();
      const result = await child.stop(signal);
      expect(result.stderr).toBe('');
      expect({ code: result.code, signal: result.signal }).toEqual({ code: 0, signal: null });
      expect(result.stdout).toContain('graceful done\n');
      // The flush still ran, alongside the app's own shutdown.
      expect(receiver.spans.map((span) => span.name)).toEqual(['graceful-before-signal']);
    });

    it(`flushes, then ends an app without a handler by ${signal}`, async () => {
      const child = startApp(app.dir, 'no-handler.mjs', env({ OTEL_SERVICE_NAME: 'no-handler' }));
      await child.firstJsonLine();
      expect(receiver.spans).toHaveLength(0);
      const result = await child.stop(signal);
      expect(result.stderr).toBe('');
      expect({ code: result.code, signal: result.signal }).toEqual({ code: null, signal });
      // The flush ran before the re-raised signal ended the process.
      expect(receiver.spans.map((span) => span.name).sort()).toEqual(['plain-before-signal-0', 'plain-before-signal-1', 'plain-before-signal-2']);
    });
  }
});

// A self-signed certificate for 127.0.0.1: the HTTPS collector's, trusted by the app only through
// OTEL_EXPORTER_OTLP_CERTIFICATE (the exporters' own agents, built from the environment).
const TLS_CERT = fileURLToPath(new URL('./fixtures/tls/cert.pem', import.meta.url));
const TLS = { key: readFileSync(fileURLToPath(new URL('./fixtures/tls/key.pem', import.meta.url))), cert: readFileSync(TLS_CERT) };

/** A 127.0.0.1 port where nothing listens: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Runs the load app; `exitDelayMs` is the time from its 'done' line to its exit. */
async function runLoad(extra: Record<string, string>): Promise<{ code: number | null; stderr: string; done: { spans: number; outcomes: number }; exitDelayMs: number }> {
  const child = startApp(app.dir, 'load.mjs', { OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_BLRP_SCHEDULE_DELAY: '100', OTEL_SERVICE_NAME: 'load', ...extra }, 60_000);
  const line = (await child.firstJsonLine()) as { done: { spans: number; outcomes: number } };
  const doneAt = Date.now();
  const result = await child.done;
  return { code: result.code, stderr: result.stderr, done: line.done, exitDelayMs: Date.now() - doneAt };
}

/**
 * Asserts that stderr holds exactly the one warning of a flush that timed out, naming where the
 * telemetry was going (Node prints a process warning with a hint line after the first one).
 */
function expectFlushTimeoutWarning(stderr: string, endpoint: string, flushTimeoutMs: number): void {
  const lines = stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(/^\(node:\d+\) \[ABTEL_FLUSH_TIMEOUT\] AbtelWarning: @abtel\/node: telemetry flush did not finish within /);
  expect(lines[0]).toContain(`within ${flushTimeoutMs} ms (traces to ${endpoint}/v1/traces, logs to ${endpoint}/v1/logs); exiting without it. Is the collector running there?`);
  expect(lines[1]).toContain('--trace-warnings');
}

describe('node --import @abtel/node/register while the app runs', () => {
  it('delivers exports to a slow collector while the app is alive: its own handles hold the process, not the export\'s', async () => {
    receiver.delayResponses(300);
    const child = startApp(app.dir, 'no-handler.mjs', { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_SERVICE_NAME: 'running' });
    await child.firstJsonLine();
    // No flush has run: the batch was exported on its schedule and its answer awaited.
    await receiver.waitFor('the spans of a running app', () => receiver.spans.length === 3);
    const result = await child.stop('SIGTERM');
    expect(result.stderr).toBe('');
    expect(receiver.spans.map((span) => span.name).sort()).toEqual(['plain-before-signal-0', 'plain-before-signal-1', 'plain-before-signal-2']);
  });
});

describe('node --import @abtel/node/register when the app\'s work is done', () => {
  it('exits within ABTEL_FLUSH_TIMEOUT_MS of the end of the work when the collector refuses connections', async () => {
    const port = await closedPort();
    const flushTimeoutMs = 1000;
    const run = await runLoad({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, ABTEL_FLUSH_TIMEOUT_MS: String(flushTimeoutMs), SPANS: '1000' });
    expectFlushTimeoutWarning(run.stderr, `http://127.0.0.1:${port}`, flushTimeoutMs);
    expect(run.code).toBe(0);
    expect(run.done).toEqual({ spans: 1000, outcomes: 50 });
    // The exporters would retry each export for up to 10 s (OTEL_EXPORTER_OTLP_TIMEOUT).
    expect(run.exitDelayMs).toBeLessThan(flushTimeoutMs + 1000);
  });

  // The exports under way when the work ends wait for an answer that never comes: before the
  // export sockets were unref'd, each open request held the process until the exporter's request
  // timeout (OTEL_EXPORTER_OTLP_TIMEOUT, 10 s), one batch after another: the process exited 29 s
  // after the end of the work here.
  for (const [what, answered, tls] of [
    ['accepts connections and never answers', 0, false],
    ['answers at first, then hangs on its kept-alive connections', 2, false],
    ['is an HTTPS one (OTEL_EXPORTER_OTLP_CERTIFICATE) that answers at first, then hangs', 2, true],
  ] as const) {
    it(`exits within ABTEL_FLUSH_TIMEOUT_MS of the end of the work when the collector ${what}`, async () => {
      const hung = await new OtlpReceiver(tls ? { tls: TLS } : {}).start();
      try {
        hung.hangAfter(answered);
        const flushTimeoutMs = 1000;
        const run = await runLoad({
          OTEL_EXPORTER_OTLP_ENDPOINT: hung.endpoint,
          ...(tls ? { OTEL_EXPORTER_OTLP_CERTIFICATE: TLS_CERT } : {}),
          ABTEL_FLUSH_TIMEOUT_MS: String(flushTimeoutMs),
          SPANS: '1000',
        });
        expectFlushTimeoutWarning(run.stderr, hung.endpoint, flushTimeoutMs);
        expect(run.code).toBe(0);
        expect(run.done).toEqual({ spans: 1000, outcomes: 50 });
        // The requests reached the collector and stayed open: a hung collector, not a refused one.
        expect(hung.hung).toBeGreaterThan(0);
        // Kept-alive connections carried later, hung requests (the agent refs a socket it reuses).
        if (answered > 0) expect(hung.connections).toBeLessThan(answered + hung.hung);
        // The margin is for a loaded machine: measured 1.0-1.1 s on an idle one.
        expect(run.exitDelayMs).toBeLessThan(flushTimeoutMs + 1500);
      } finally {
        await hung.stop();
      }
      // Long enough for a regression to fail on the exit time rather than time out.
    }, 60_000);
  }

  it('exits within ABTEL_FLUSH_TIMEOUT_MS of the end of the work when the collector accepts connections and never reads them, with bodies larger than the socket buffers', async () => {
    // 5,000 spans of 4 KB: about 20 MB of export bodies, so the writes themselves stall (the
    // kernel's buffers for a connection hold a few MB at most), not only the answers.
    const sockets: Socket[] = [];
    const silent = createTcpServer((socket) => {
      socket.pause();
      sockets.push(socket);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const flushTimeoutMs = 1000;
      const run = await runLoad({
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
        ABTEL_FLUSH_TIMEOUT_MS: String(flushTimeoutMs),
        SPANS: '5000',
        PAD: '4000',
      });
      expectFlushTimeoutWarning(run.stderr, `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, flushTimeoutMs);
      expect(run.code).toBe(0);
      expect(run.done).toEqual({ spans: 5000, outcomes: 50 });
      expect(sockets.length).toBeGreaterThan(0);
      // Measured 1.02-1.04 s on an idle machine (JSON, protobuf and gzip alike).
      expect(run.exitDelayMs).toBeLessThan(flushTimeoutMs + 1500);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  }, 60_000);

  it('delivers every span and event to a slow collector: the exports under way when the work ends finish in the exit flush', async () => {
    // Each answer takes 300 ms: exports are under way when the work ends, and nothing but the exit
    // flush holds the process while they finish (the exporters' shutdown waits for them). With a
    // flush timeout shorter than an answer (100 ms), about half of the spans are lost here.
    receiver.delayResponses(300);
    const run = await runLoad({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, ABTEL_FLUSH_TIMEOUT_MS: '5000', SPANS: '1000' });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(new Set(receiver.spans.map((span) => span.name)).size).toBe(1000);
    expect(receiver.spans).toHaveLength(1000);
    expect(receiver.logs.filter((log) => log.eventName === 'abtel.outcome')).toHaveLength(50);
  });

  it('delivers every span and event to a reachable collector', async () => {
    const run = await runLoad({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, SPANS: '1000' });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(new Set(receiver.spans.map((span) => span.name)).size).toBe(1000);
    expect(receiver.spans).toHaveLength(1000);
    expect(receiver.logs.filter((log) => log.eventName === 'abtel.outcome')).toHaveLength(50);
  });

  it('delivers every span and event to an HTTPS collector trusted through OTEL_EXPORTER_OTLP_CERTIFICATE', async () => {
    const https = await new OtlpReceiver({ tls: TLS }).start();
    try {
      const run = await runLoad({ OTEL_EXPORTER_OTLP_ENDPOINT: https.endpoint, OTEL_EXPORTER_OTLP_CERTIFICATE: TLS_CERT, SPANS: '1000' });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(new Set(https.spans.map((span) => span.name)).size).toBe(1000);
      expect(https.spans).toHaveLength(1000);
      expect(https.logs.filter((log) => log.eventName === 'abtel.outcome')).toHaveLength(50);
    } finally {
      await https.stop();
    }
  });

  it('gives the exit flush up to ABTEL_FLUSH_TIMEOUT_MS: a retry after a 503 still delivers', async () => {
    // Nothing is exported before the exit flush (long batch delays); its first requests are
    // answered 503, and the exporters retry about a second later.
    receiver.failNext(2);
    const run = await runLoad({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '60000',
      OTEL_BLRP_SCHEDULE_DELAY: '60000',
      ABTEL_FLUSH_TIMEOUT_MS: '5000',
      SPANS: '100',
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(receiver.unavailable).toBe(2);
    expect(receiver.spans).toHaveLength(100);
    expect(receiver.logs.filter((log) => log.eventName === 'abtel.outcome')).toHaveLength(50);
  });
});
