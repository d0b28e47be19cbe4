import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/** An attribute value decoded from OTLP JSON. */
export type Value = string | number | boolean | Value[] | { [key: string]: Value } | null;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  serviceName: string | undefined;
  attributes: Record<string, Value>;
  events: { name: string; attributes: Record<string, Value> }[];
}

export interface ReceivedLog {
  traceId: string;
  spanId: string;
  eventName: string | undefined;
  serviceName: string | undefined;
  scope: string | undefined;
  attributes: Record<string, Value>;
  body: Value;
}

type AnyValue = {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
};
type KeyValue = { key: string; value?: AnyValue };

function decode(value: AnyValue | undefined): Value {
  if (value === undefined) return null;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(decode);
  if (value.kvlistValue !== undefined) return attributesOf(value.kvlistValue.values);
  return null;
}

function attributesOf(list: KeyValue[] | undefined): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const kv of list ?? []) out[kv.key] = decode(kv.value);
  return out;
}

/**
 * A minimal OTLP/HTTP JSON receiver for tests: POST /v1/traces and /v1/logs, answers 200 `{}`,
 * keeps decoded spans and log records. OTLP protobuf bodies are counted by path (not decoded);
 * other bodies that are not JSON are counted and answered 415.
 * {@link failNext} makes it answer 503 (retryable, no Retry-After) to the next requests instead;
 * {@link delayResponses} makes it a slow collector; {@link hangAfter} a hung one.
 */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly logs: ReceivedLog[] = [];
  rejected = 0;
  /** Paths of the OTLP protobuf requests (answered 200, not decoded: the JSON ones are). */
  readonly protobufRequests: string[] = [];
  /** Requests answered 503 by {@link failNext}. */
  unavailable = 0;
  /** Requests read and never answered, by {@link hangAfter}. */
  hung = 0;
  /** TCP connections accepted (a client that keeps connections alive makes fewer than requests). */
  connections = 0;
  #failures = 0;
  #delayMs = 0;
  #answersLeft = Infinity;
  #server: Server | undefined;
  readonly #tls: { key: Buffer | string; cert: Buffer | string } | undefined;

  /** With `tls`, an HTTPS collector (`https://` endpoint) presenting that key and certificate. */
  constructor(options: { tls?: { key: Buffer | string; cert: Buffer | string } } = {}) {
    this.#tls = options.tls;
  }

  get endpoint(): string {
    const address = this.#server?.address() as AddressInfo;
    return `${this.#tls === undefined ? 'http' : 'https'}://127.0.0.1:${address.port}`;
  }

  async start(): Promise<this> {
    const handle = (req: IncomingMessage, res: ServerResponse): void => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        if (req.headers['content-type'] === 'application/x-protobuf' && this.#answersLeft > 0 && this.#failures === 0 && this.#delayMs === 0) {
          // An empty body is a valid (empty) protobuf response.
          this.protobufRequests.push(req.url ?? '');
          res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
          return;
        }
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          this.rejected += 1;
          res.writeHead(415).end();
          return;
        }
        if (this.#answersLeft <= 0) {
          // A hung collector: the request was read, the connection stays open, no answer comes.
          this.hung += 1;
          return;
        }
        this.#answersLeft -= 1;
        if (this.#failures > 0) {
          this.#failures -= 1;
          this.unavailable += 1;
          res.writeHead(503).end();
          return;
        }
        const answer = (): void => {
          if (req.url === '/v1/traces') this.#traces(body);
          else if (req.url === '/v1/logs') this.#logs(body);
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        };
        if (this.#delayMs > 0) setTimeout(answer, this.#delayMs);
        else answer();
      });
    };
    this.#server = this.#tls === undefined ? createServer(handle) : createTlsServer(this.#tls, handle);
    this.#server.on('connection', () => {
      this.connections += 1;
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  clear(): void {
    this.spans.length = 0;
    this.logs.length = 0;
    this.protobufRequests.length = 0;
    this.unavailable = 0;
    this.hung = 0;
    this.connections = 0;
    this.#failures = 0;
    this.#delayMs = 0;
    this.#answersLeft = Infinity;
  }

  /** Answers the next `count` requests with 503 Service Unavailable and keeps nothing of them. */
  failNext(count: number): void {
    this.#failures = count;
  }

  /** Answers every request `ms` later (a slow collector); what it keeps is kept when it answers. */
  delayResponses(ms: number): void {
    this.#delayMs = ms;
  }

  /**
   * Answers the next `count` requests, then reads every later one and never answers it, keeping
   * its connection open (a hung collector, or a proxy that black-holes requests). {@link stop}
   * closes those connections.
   */
  hangAfter(count: number): void {
    this.#answersLeft = count;
  }

  /** Resolves once `predicate` holds (polling), or rejects after `timeoutMs` naming `what`. */
  async waitFor(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (spans: ${this.spans.length}, logs: ${this.logs.length})`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  #traces(body: unknown): void {
    const data = body as { resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { spans?: Record<string, unknown>[] }[] }[] };
    for (const resourceSpans of data.resourceSpans ?? []) {
      const serviceName = attributesOf(resourceSpans.resource?.attributes)['service.name'];
      for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
        for (const span of scopeSpans.spans ?? []) {
          this.spans.push({
            traceId: String(span['traceId'] ?? ''),
            spanId: String(span['spanId'] ?? ''),
            parentSpanId: String(span['parentSpanId'] ?? ''),
            name: String(span['name']),
            kind: Number(span['kind'] ?? 0),
            serviceName: typeof serviceName === 'string' ? serviceName : undefined,
            attributes: attributesOf(span['attributes'] as KeyValue[] | undefined),
            events: ((span['events'] as { name: string; attributes?: KeyValue[] }[] | undefined) ?? []).map((event) => ({
              name: event.name,
              attributes: attributesOf(event.attributes),
            })),
          });
        }
      }
    }
  }

  #logs(body: unknown): void {
    const data = body as {
      resourceLogs?: { resource?: { attributes?: KeyValue[] }; scopeLogs?: { scope?: { name?: string }; logRecords?: Record<string, unknown>[] }[] }[];
    };
    for (const resourceLogs of data.resourceLogs ?? []) {
      const serviceName = attributesOf(resourceLogs.resource?.attributes)['service.name'];
      for (const scopeLogs of resourceLogs.scopeLogs ?? []) {
        for (const record of scopeLogs.logRecords ?? []) {
          this.logs.push({
            traceId: String(record['traceId'] ?? ''),
            spanId: String(record['spanId'] ?? ''),
            eventName: record['eventName'] as string | undefined,
            serviceName: typeof serviceName === 'string' ? serviceName : undefined,
            scope: scopeLogs.scope?.name,
            attributes: attributesOf(record['attributes'] as KeyValue[] | undefined),
            body: decode(record['body'] as AnyValue | undefined),
          });
        }
      }
    }
  }
}
