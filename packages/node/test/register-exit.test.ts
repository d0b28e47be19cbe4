import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAppDir, ensureBuilt, startApp } from './helpers/child.js';
import { OtlpReceiver } from './helpers/otlp-receiver.js';

// How the drop-in ends a process: on a signal, with or without the app's own handler. Real child
// processes started with `node --import @abtel/node/register`, exporting to a local receiver.

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

const receiver = new OtlpReceiver();
let app: ReturnType<typeof createAppDir>;

beforeAll(async () => {
  ensureBuilt();
  await receiver.start();
  app = createAppDir({ 'graceful.mjs': GRACEFUL_SERVER, 'no-handler.mjs': NO_HANDLER });
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
