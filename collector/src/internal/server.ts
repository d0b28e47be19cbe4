/**
 * The OTLP/HTTP receiver: routes, limits, auth, decoding, writing and the answers the OTLP
 * specification prescribes for each outcome.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { gunzip, type InputType, type ZlibOptions } from 'node:zlib';
import { BufferPool } from './bufferpool.js';
import { BodyError, decodeJson, decodeProtobuf, type DecodedBody } from './decode.js';
import { exportResponse, GRPC, statusBody, type Encoding } from './responses.js';
import { LogsData, MetricsData, TracesData, type MessageSpec } from './schema.js';
import { newCounters, type CollectorStats, type Counters, type RejectReason } from './stats.js';
import { StorageError, type SignalWriter, type Signal } from './writer.js';

const gunzipAsync = promisify(gunzip) as (buffer: InputType, options: ZlibOptions) => Promise<Buffer>;

const SPECS: Record<Signal, MessageSpec> = { traces: TracesData, logs: LogsData, metrics: MetricsData };
const ROUTES: Record<string, Signal> = { '/v1/traces': 'traces', '/v1/logs': 'logs', '/v1/metrics': 'metrics' };

export interface ReceiverOptions {
  readonly maxBodyBytes: number;
  readonly maxInflightBytes: number;
  readonly token: string | undefined;
  readonly writers: Record<Signal, SignalWriter>;
  readonly log: (message: string) => void;
  readonly backgroundQueued: () => number;
}

/** Bodies up to this size are read straight into one pooled buffer. */
const PREALLOCATE_MAX = 4 << 20;

class TooLarge extends Error {}
class Overloaded extends Error {}
/** The client closed the connection before its body arrived (or it was closed at shutdown). */
class ClientGone extends Error {}

/** The HTTP side of the collector. */
export class Receiver {
  readonly counters: Counters = newCounters();
  readonly server: Server;
  private inflightBytes = 0;
  private inflightRequests = 0;
  private shuttingDown = false;
  private drained: (() => void) | undefined;
  private readonly startedAt = new Date();
  private readonly tokenDigest: Buffer | undefined;
  /** Bodies and lines are read and written through reused buffers (see bufferpool.ts). */
  private readonly pool: BufferPool;
  private readonly allocate = (size: number): Buffer => this.pool.take(size);

  constructor(private readonly options: ReceiverOptions) {
    this.tokenDigest = options.token ? digest(options.token) : undefined;
    // Kept while idle: a quarter of the in-flight limit, at most 16 MiB.
    this.pool = new BufferPool(Math.min(16 << 20, Math.floor(options.maxInflightBytes / 4)));
    this.server = createServer({ keepAliveTimeout: 5000 }, (req, res) => this.handle(req, res));
  }

  async listen(host: string, port: number): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  /**
   * Stops accepting, answers 503 to new requests on open connections, waits up to `timeoutMs` for
   * in-flight ones, then closes the connections still open (a stalled client must not hold the
   * shutdown for Node's 300 s request timeout). Lines already handed to a writer are still written:
   * the writers are closed after this, and closing waits for their queue.
   */
  async shutdown(timeoutMs: number): Promise<void> {
    this.shuttingDown = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    if (this.inflightRequests > 0) {
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([
        new Promise<boolean>((resolve) => (this.drained = () => resolve(true))),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
      ]);
      clearTimeout(timer);
      if (!drained) this.options.log(`${this.inflightRequests} request(s) still in progress after the shutdown timeout of ${timeoutMs} ms; closing their connections`);
    }
    this.server.closeAllConnections();
    await closed;
  }

  /** Ready when listening and every file is writable; a failing writer is re-checked on each call. */
  async ready(): Promise<{ ready: boolean; reason?: string }> {
    if (this.shuttingDown) return { ready: false, reason: 'shutting down' };
    for (const writer of Object.values(this.options.writers)) {
      if (!writer.healthy && !(await writer.probe())) return { ready: false, reason: writer.lastError ?? 'storage failing' };
    }
    return { ready: true };
  }

  stats(): CollectorStats {
    const writers = Object.values(this.options.writers);
    const sum = (key: keyof SignalWriter['counters']) => writers.reduce((total, writer) => total + writer.counters[key], 0);
    const { requests, signals, bytesReceived, background } = this.counters;
    return {
      startedAt: this.startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.startedAt.getTime()) / 1000),
      requests: { received: requests.received, accepted: requests.accepted, rejected: { ...requests.rejected } },
      signals: { traces: { ...signals.traces }, logs: { ...signals.logs }, metrics: { ...signals.metrics } },
      bytesReceived,
      bytesWritten: sum('bytesWritten'),
      linesWritten: sum('linesWritten'),
      filesRotated: sum('filesRotated'),
      writeErrors: sum('writeErrors'),
      tornLinesTerminated: sum('tornLinesTerminated'),
      inflightBytes: this.inflightBytes,
      background: { ...background, queued: this.options.backgroundQueued() },
    };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    // Health, readiness and counter reads are not counted as requests (unless refused, see route).
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const probe = (req.method === 'GET' || req.method === 'HEAD') && (path === '/healthz' || path === '/readyz' || path === '/metrics.json');
    if (!probe) this.counters.requests.received += 1;
    this.inflightRequests += 1;
    res.once('close', () => {
      this.inflightRequests -= 1;
      if (this.inflightRequests === 0) this.drained?.();
    });
    this.route(req, res, path).catch((error: unknown) => {
      this.options.log(`internal error answering ${req.method} ${req.url}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      if (probe) this.counters.requests.received += 1;
      this.counters.requests.rejected.internal += 1;
      if (!res.headersSent) send(res, 500, 'json', statusBody('json', 13, 'internal error; see the collector log'));
      else res.destroy();
    });
  }

  /** Answers one request; `path` is its URL without the query (handle() has split it once). */
  private async route(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const signal = ROUTES[path];
    if (signal !== undefined) {
      if (req.method !== 'POST') {
        res.setHeader('Allow', 'POST');
        return this.reject(req, res, 405, 'json', 'not_found', GRPC.UNIMPLEMENTED, `${path} accepts POST only`);
      }
      return this.export(signal, req, res);
    }
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (path === '/healthz') return send(res, 200, 'json', Buffer.from('{"status":"ok"}'));
      if (path === '/readyz') {
        const state = await this.ready();
        return send(res, state.ready ? 200 : 503, 'json', Buffer.from(JSON.stringify(state.ready ? { status: 'ready' } : { status: 'not ready', reason: state.reason })));
      }
      if (path === '/metrics.json') {
        if (!this.authorized(req)) {
          this.counters.requests.received += 1;
          return this.reject(req, res, 401, 'json', 'unauthorized', GRPC.UNAUTHENTICATED, 'a valid bearer token is required');
        }
        return send(res, 200, 'json', Buffer.from(JSON.stringify(this.stats())));
      }
    }
    return this.reject(req, res, 404, 'json', 'not_found', GRPC.NOT_FOUND, `no route for ${req.method} ${path}; OTLP/HTTP endpoints are POST /v1/traces, /v1/logs, /v1/metrics`);
  }

  private authorized(req: IncomingMessage): boolean {
    if (!this.tokenDigest) return true;
    const header = req.headers.authorization ?? '';
    const presented = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim() ?? '';
    // Compare digests of equal length in constant time: neither length nor prefix leaks.
    return timingSafeEqual(digest(presented), this.tokenDigest);
  }

  private async export(signal: Signal, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const counters = this.counters;
    counters.signals[signal].requests += 1;
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const encoding: Encoding | undefined =
      contentType === 'application/json' ? 'json' : contentType === 'application/x-protobuf' || contentType === 'application/protobuf' ? 'protobuf' : undefined;
    if (!this.authorized(req)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="abtel-collector"');
      return this.reject(req, res, 401, encoding ?? 'json', 'unauthorized', GRPC.UNAUTHENTICATED, 'a valid bearer token is required');
    }
    if (encoding === undefined) {
      return this.reject(req, res, 415, 'json', 'unsupported_media_type', GRPC.INVALID_ARGUMENT, `unsupported Content-Type "${contentType || '(none)'}"; use application/x-protobuf or application/json`);
    }
    const contentEncoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    const gzipped = contentEncoding === 'gzip' || contentEncoding === 'x-gzip';
    if (!gzipped && contentEncoding !== 'identity' && contentEncoding !== '') {
      return this.reject(req, res, 415, encoding, 'unsupported_media_type', GRPC.INVALID_ARGUMENT, `unsupported Content-Encoding "${contentEncoding}"; use gzip or none`);
    }
    if (this.shuttingDown) {
      res.setHeader('Retry-After', '5');
      return this.reject(req, res, 503, encoding, 'shutting_down', GRPC.UNAVAILABLE, 'the collector is shutting down; retry against the next instance');
    }
    const { maxBodyBytes, maxInflightBytes } = this.options;
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBodyBytes) {
      return this.reject(req, res, 413, encoding, 'too_large', GRPC.INVALID_ARGUMENT, `body of ${declared} bytes exceeds the limit of ${maxBodyBytes} bytes; send smaller batches`);
    }
    if (this.inflightBytes > 0 && this.inflightBytes + declared > maxInflightBytes) {
      res.setHeader('Retry-After', '1');
      return this.reject(req, res, 429, encoding, 'overloaded', GRPC.RESOURCE_EXHAUSTED, 'the collector is busy writing earlier requests; retry after a second');
    }

    let held = 0;
    const hold = (bytes: number) => {
      held += bytes;
      this.inflightBytes += bytes;
    };
    let body: Buffer | undefined;
    let line: Buffer | undefined;
    try {
      try {
        body = await this.readBody(req, maxBodyBytes, maxInflightBytes, hold, declared);
      } catch (error) {
        if (error instanceof TooLarge) {
          return this.reject(req, res, 413, encoding, 'too_large', GRPC.INVALID_ARGUMENT, `body exceeds the limit of ${maxBodyBytes} bytes; send smaller batches`);
        }
        if (error instanceof ClientGone) {
          // Nobody is left to answer; nothing of the request was written.
          counters.requests.rejected.aborted += 1;
          res.destroy();
          return;
        }
        if (error instanceof Overloaded) {
          res.setHeader('Retry-After', '1');
          return this.reject(req, res, 429, encoding, 'overloaded', GRPC.RESOURCE_EXHAUSTED, 'the collector is busy writing earlier requests; retry after a second');
        }
        throw error;
      }
      counters.bytesReceived += body.length;
      if (gzipped) {
        try {
          const compressed = body;
          body = await gunzipAsync(compressed, { maxOutputLength: maxBodyBytes });
          this.pool.give(compressed);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
            return this.reject(req, res, 413, encoding, 'too_large', GRPC.INVALID_ARGUMENT, `body exceeds the limit of ${maxBodyBytes} bytes after gzip decompression; send smaller batches`);
          }
          return this.reject(req, res, 400, encoding, 'invalid_body', GRPC.INVALID_ARGUMENT, `Content-Encoding is gzip but the body is not valid gzip (${(error as Error).message})`);
        }
        hold(body.length);
      }

      let decoded: DecodedBody;
      try {
        decoded = encoding === 'json' ? decodeJson(SPECS[signal], body, this.allocate) : decodeProtobuf(SPECS[signal], body, this.allocate);
      } catch (error) {
        if (!(error instanceof BodyError)) throw error;
        const what = encoding === 'json' ? 'OTLP JSON' : 'OTLP protobuf';
        return this.reject(req, res, 400, encoding, 'invalid_body', GRPC.INVALID_ARGUMENT, `${path(signal)} body is not a valid ${what} request: ${error.describe()}`);
      }
      const signalCounters = counters.signals[signal];
      signalCounters.itemsReceived += decoded.accepted + decoded.rejected;
      signalCounters.itemsRejected += decoded.rejected;

      // The body is no longer needed (the line is a buffer of its own).
      this.pool.give(body);
      body = undefined;
      line = decoded.line;
      if (decoded.accepted > 0) {
        hold(line.length);
        try {
          await this.options.writers[signal].append(line);
        } catch (error) {
          if (!(error instanceof StorageError)) throw error;
          signalCounters.itemsRejected += decoded.accepted;
          res.setHeader('Retry-After', '5');
          return this.reject(req, res, 503, encoding, 'storage', GRPC.UNAVAILABLE, `the collector cannot write its ${signal} file right now (${error.message}); retry later`);
        }
        signalCounters.itemsAccepted += decoded.accepted;
      }
      // Counted once: a partial success is a rejection (the accepted items are in itemsAccepted).
      if (decoded.rejected > 0) counters.requests.rejected.invalid_item += 1;
      else counters.requests.accepted += 1;
      send(res, 200, encoding, exportResponse(signal, encoding, decoded.rejected, decoded.rejection));
    } finally {
      this.inflightBytes -= held;
      // Written (or refused) by now: the writer keeps no reference after append settles.
      this.pool.give(body);
      this.pool.give(line);
    }
  }

  /**
   * Collects the body. With a Content-Length (the usual case) the chunks are copied into one
   * pooled buffer as they arrive; otherwise they are concatenated at the end.
   */
  private readBody(req: IncomingMessage, limit: number, inflightLimit: number, hold: (bytes: number) => void, declared: number): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      let chunks: Buffer[] = [];
      // Up to 4 MiB (typical export batches) only: a slow client announcing a huge body must not
      // make the collector reserve it before the bytes arrive.
      let target = declared > 0 && declared <= limit && declared <= PREALLOCATE_MAX && Number.isSafeInteger(declared) ? this.pool.take(declared) : undefined;
      let total = 0;
      let failed = false;
      const fail = (error: Error) => {
        if (failed) return;
        failed = true;
        this.pool.give(target);
        target = undefined;
        req.removeListener('data', onData);
        // Stop reading the rest of an oversized upload; the connection is closed after the answer.
        req.pause();
        reject(error);
      };
      const onData = (chunk: Buffer) => {
        total += chunk.length;
        if (total > limit) return fail(new TooLarge());
        hold(chunk.length);
        if (this.inflightBytes > inflightLimit && this.inflightBytes > total) return fail(new Overloaded());
        if (target !== undefined) {
          if (total <= target.length) {
            chunk.copy(target, total - chunk.length);
            return;
          }
          // More than announced (the HTTP parser does not allow it; kept correct anyway).
          chunks = [target.subarray(0, total - chunk.length)];
          target = undefined;
        }
        chunks.push(chunk);
      };
      req.on('data', onData);
      req.once('end', () => {
        if (failed) return;
        if (target !== undefined) resolve(total === target.length ? target : target.subarray(0, total));
        else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total));
      });
      req.once('error', (error) => fail(new ClientGone('client connection failed', { cause: error })));
      req.once('aborted', () => fail(new ClientGone('client aborted the request')));
    });
  }

  private reject(req: IncomingMessage, res: ServerResponse, status: number, encoding: Encoding, reason: RejectReason, code: number, message: string): void {
    this.counters.requests.rejected[reason] += 1;
    if (status >= 500 || status === 429) res.setHeader('Retry-After', res.getHeader('Retry-After') ?? '1');
    if (!req.complete) {
      if (status === 413) {
        // Do not read an oversized upload to its end: answer, then close the connection.
        res.setHeader('Connection', 'close');
        res.once('finish', () => req.destroy());
      } else {
        // Other early answers (401, 415, 429, 503) discard the rest of the body as it arrives,
        // without buffering it, so the client reads the answer instead of a reset connection.
        req.removeAllListeners('data');
        req.resume();
      }
    }
    send(res, status, encoding, statusBody(encoding, code, message));
  }
}

function path(signal: Signal): string {
  return `/v1/${signal}`;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function send(res: ServerResponse, status: number, encoding: Encoding, body: Buffer): void {
  res.writeHead(status, {
    'Content-Type': encoding === 'json' ? 'application/json' : 'application/x-protobuf',
    'Content-Length': body.length,
  });
  res.end(body);
}
