import { subscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import { context, createContextKey, diag } from '@opentelemetry/api';

/*
 * The drop-in's telemetry must not keep a process alive after the app's own work is done: the
 * flush at exit ('beforeExit', bounded by ABTEL_FLUSH_TIMEOUT_MS) only starts once nothing else
 * holds the event loop. While an export is under way, timers and a socket hold it:
 *
 * - the OTLP exporters' retry back-offs (@opentelemetry/otlp-exporter-base's RetryingTransport:
 *   up to OTEL_EXPORTER_OTLP_TIMEOUT, 10 s, per export while the collector refuses connections);
 * - the batch processors' export timeouts (BatchSpanProcessor's and BatchLogRecordProcessor's,
 *   30 s), which run for as long as the export, retries included, is under way;
 * - the socket of the export's HTTP request, for as long as the request is open: against a
 *   collector that accepts connections and does not answer, until the exporter's request timeout
 *   (OTEL_EXPORTER_OTLP_TIMEOUT, 10 s), then again for each batch still queued (an app making
 *   1,000 spans and 50 events in a second, 1 s flush timeout: 29 s from the end of its work to
 *   its exit).
 *
 * Making only the retry timers unref'd changes nothing: the processors' export timeouts keep the
 * loop alive, so the unref'd retry timers fire anyway and the process is held just as long (an app
 * making 1,000 spans and 50 events in a second, collector refusing connections, 1 s flush timeout:
 * 21–23 s from the end of its work to its exit, with or without that change). Those timeouts are
 * local variables of the processors, created just before the exporter is called, some after an
 * `await`; no object reachable from outside holds them.
 *
 * So every timer created while one of the drop-in's processors exports is unref'd: the export runs
 * in an OpenTelemetry context that carries a private flag, and setTimeout unrefs the timers it
 * creates while the active context has that flag. The SDK's context manager carries the context
 * through the export's awaits and callbacks and nowhere else (a second AsyncLocalStorage would do
 * the same but add work to every promise of the app on Node 20 and 22).
 *
 * The socket of every node:http/https request that starts in that context is unref'd too, found
 * through the `http.client.request.start` diagnostics channel (published for every client request,
 * in the request's context). The exporters' agents are left alone: an agent of our own
 * (`httpAgentOptions` as a factory) would replace the one the exporters build from the
 * environment, and with it OTEL_EXPORTER_OTLP_CERTIFICATE, _CLIENT_KEY and _CLIENT_CERTIFICATE.
 * A kept-alive socket that a later export reuses is unref'd again: the agent refs it on reuse.
 *
 * Exports still happen, and are retried, exactly as the SDK does them while the app runs, whose
 * own handles keep the process alive; once the app is done, the flush at exit holds the process
 * instead, for at most ABTEL_FLUSH_TIMEOUT_MS (start.ts), and the exporters' shutdown waits there
 * for the exports already under way. An unref'd socket still being connected does not hold the
 * process either (the channel publishes while it connects); a pending write does, whatever the
 * socket: a collector that does not read a batch larger than the sockets' buffers still holds the
 * process until the request timeout.
 */

const UNREF_EXPORT = createContextKey('@abtel/node: timers and sockets of an export');

const WRAPPED = Symbol.for('@abtel/node.unrefExportTimers');

type SetTimeout = typeof globalThis.setTimeout;
type WrappedSetTimeout = SetTimeout & { [WRAPPED]?: symbol };

/**
 * Replaces `globalThis.setTimeout` (once) with one that unrefs the timers created inside
 * {@link withUnrefHandles}; every other timer is left exactly as the original creates it.
 */
function installSetTimeout(): void {
  const original = globalThis.setTimeout as WrappedSetTimeout;
  if (original[WRAPPED] === UNREF_EXPORT) return;
  const setTimeout = function (this: unknown, ...args: Parameters<SetTimeout>) {
    const timer = Reflect.apply(original, this, args) as ReturnType<SetTimeout>;
    if (context.active().getValue(UNREF_EXPORT) === true && typeof timer?.unref === 'function') timer.unref();
    return timer;
  } as WrappedSetTimeout;
  // util.promisify(setTimeout) reads util.promisify.custom.
  for (const key of Object.getOwnPropertySymbols(original)) {
    Object.defineProperty(setTimeout, key, Object.getOwnPropertyDescriptor(original, key)!);
  }
  Object.defineProperty(setTimeout, WRAPPED, { value: UNREF_EXPORT });
  globalThis.setTimeout = setTimeout;
}

/** The socket of an export's request; the agent may hand it over later than the request starts. */
function unrefRequestSocket(message: unknown): void {
  try {
    if (context.active().getValue(UNREF_EXPORT) !== true) return;
    const request = (message as { request?: ClientRequest } | null)?.request;
    if (request === undefined) return;
    if (request.socket !== null && request.socket !== undefined) unrefSocket(request.socket);
    else request.once('socket', unrefSocket);
  } catch (error) {
    // A subscriber that throws becomes an uncaught exception of the app.
    diag.debug('@abtel/node: could not unref the socket of an export', error);
  }
}

function unrefSocket(socket: Socket): void {
  if (typeof socket?.unref === 'function') socket.unref();
}

let subscribed = false;

/** Subscribes (once) to the start of node:http/https client requests; see the comment at the top. */
function installRequestHook(): void {
  if (subscribed) return;
  subscribed = true;
  subscribe('http.client.request.start', unrefRequestSocket);
}

/**
 * Runs `fn`; the timers it creates and the sockets of the node:http/https requests it makes,
 * synchronously or in its asynchronous continuations (as far as the global context manager
 * carries the context), do not keep the process alive.
 * @example
 * await withUnrefHandles(() => new Promise((resolve) => setTimeout(resolve, 1000))); // does not hold the process
 */
export function withUnrefHandles<T>(fn: () => T): T {
  installSetTimeout();
  installRequestHook();
  return context.with(context.active().setValue(UNREF_EXPORT, true), fn);
}

/**
 * The methods through which the SDK's batch processors start every export (@opentelemetry/sdk-trace
 * 2.x, @opentelemetry/sdk-logs 0.2xx). They are private, so each instance is checked.
 */
const EXPORT_METHODS = {
  span: ['_flushOneBatch'],
  log: ['_exportOneBatch', '_flushAll'],
} as const;

let reportedShape = false;

/**
 * Makes the exports of a BatchSpanProcessor (`kind: 'span'`) or BatchLogRecordProcessor (`'log'`)
 * run under {@link withUnrefHandles}. A processor without the expected methods (another SDK
 * version) is left as it is, said once through diag.debug; its exports then hold the process as
 * the SDK's own do. Returns whether the processor was changed.
 * @example
 * unrefExportHandles(new BatchSpanProcessor(exporter), 'span');
 */
export function unrefExportHandles(processor: object, kind: keyof typeof EXPORT_METHODS): boolean {
  const target = processor as Record<string, unknown>;
  const names = EXPORT_METHODS[kind];
  if (!names.every((name) => typeof target[name] === 'function')) {
    if (!reportedShape) {
      reportedShape = true;
      diag.debug(
        `@abtel/node: the batch ${kind} processor has no ${names.join('/')} method; an export under way keeps the process alive after the app's work is done until it gives up`,
      );
    }
    return false;
  }
  installSetTimeout();
  installRequestHook();
  for (const name of names) {
    const original = target[name] as (...args: unknown[]) => unknown;
    target[name] = function (this: unknown, ...args: unknown[]) {
      return withUnrefHandles(() => Reflect.apply(original, this, args));
    };
  }
  return true;
}
