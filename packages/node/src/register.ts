/**
 * The drop-in: `node --import @abtel/node/register app.js`. Starts the OpenTelemetry Node SDK with
 * abtel's processors from the environment (see README), patches ESM and CommonJS imports of
 * instrumented modules, and flushes telemetry when the process ends. Bad configuration stops the
 * process at start-up with a one-line message; nothing at run time throws into the app.
 */
import { register } from 'node:module';
import { isAbtelError } from '@abtel/core';
import { startFromEnvironment } from './internal/start.js';

// ESM apps: `import OpenAI from 'openai'` is patched only if the import goes through
// import-in-the-middle, which must be registered before the app's modules load.
register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);

let started: Awaited<ReturnType<typeof startFromEnvironment>>;
try {
  started = await startFromEnvironment(process.env);
} catch (error) {
  const message = isAbtelError(error) ? error.message : `could not start telemetry: ${(error as Error)?.message ?? String(error)}`;
  process.stderr.write(`@abtel/node/register: ${message}\n`);
  process.exit(1);
}

const { shutdown } = started;

// The app's event loop is empty: flush what is buffered (bounded). If the flush timed out, end
// the process: an export's sockets do not hold it (export-handles.ts), but a request body that
// the collector does not read can, until the exporter's own request timeout.
process.once('beforeExit', () => {
  void shutdown().then((flushed) => {
    if (!flushed) process.exit();
  });
});

// A signal's default action would kill the process before the flush: flush, then re-raise the
// signal so that the exit status is the one the process would have had, unless the app handles
// the signal itself. Whether it does is decided when the signal arrives, before anything is
// awaited: an app's own `process.once(signal, …)` listener is removed as soon as it has run, so a
// count taken after the flush would miss it and kill the app in the middle of its graceful
// shutdown. This listener is registered before the app's code runs; every other one is the app's.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  const flushOnSignal = (): void => {
    const appHandlesSignal = process.listeners(signal).some((listener) => listener !== flushOnSignal);
    void shutdown().then(() => {
      if (!appHandlesSignal) process.kill(process.pid, signal);
    });
  };
  process.once(signal, flushOnSignal);
}
