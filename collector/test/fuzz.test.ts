/**
 * Property tests: arbitrary and mutated JSON and protobuf bodies never crash the collector, never
 * produce a partial or invalid line, and good requests keep succeeding in between.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector, type RunningCollector } from '../src/index.js';
import { post, readSignalLines, tempDir } from './helpers.js';

const GOOD = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', name: 'good' }] }] }] });

/** A protobuf request exactly as the real exporter encodes it. */
async function realProtobufBody(): Promise<Buffer> {
  let body = Buffer.alloc(0);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      body = Buffer.concat(chunks);
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer('fuzz');
  for (let index = 0; index < 3; index++) {
    const span = tracer.startSpan(`s${index}`, { attributes: { n: index, d: 0.5, b: true, list: ['x', 'y'] } });
    span.addEvent('e', { k: 'v' });
    span.end();
  }
  const exporter = new OTLPTraceExporter({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces` });
  await new Promise((resolve) => exporter.export(memory.getFinishedSpans(), resolve));
  await exporter.shutdown();
  server.close();
  return body;
}

/** Values shaped like OTLP JSON: known keys with arbitrary (often wrong) values. */
const otlpLike = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom('0af7651916cd43dd8448eb211c80319c', 'B7AD6B7169203331', '', 'zz', '1544712660000000000', 'SPAN_KIND_SERVER'),
    fc.integer(),
    fc.double(),
    fc.array(tie('object'), { maxLength: 3 }),
    tie('object'),
  ),
  object: fc.dictionary(
    fc.constantFrom('resourceSpans', 'scopeSpans', 'spans', 'traceId', 'spanId', 'parentSpanId', 'name', 'kind', 'attributes', 'key', 'value', 'stringValue', 'intValue', 'arrayValue', 'values', 'events', 'links', 'status', 'code', 'startTimeUnixNano', 'resource', 'scope', 'flags', 'unknownField'),
    tie('value'),
    { maxKeys: 5 },
  ),
}));

describe('fuzzing', () => {
  let collector: RunningCollector;
  let dir: string;
  let protobuf: Buffer;
  beforeAll(async () => {
    dir = await tempDir();
    collector = await startCollector({ port: 0, dir, progress: false, log: () => {}, maxBodyBytes: 1024 * 1024 });
    protobuf = await realProtobufBody();
  });
  afterAll(async () => collector?.close());

  async function expectServing(): Promise<void> {
    const reply = await post(`${collector.url}/v1/traces`, GOOD, { 'content-type': 'application/json' });
    expect(reply.status).toBe(200);
  }

  it('JSON: arbitrary OTLP-shaped bodies get 200 or 400, never anything else', async () => {
    await fc.assert(
      fc.asyncProperty(fc.record({ resourceSpans: fc.array(otlpLike.object, { maxLength: 3 }) }), async (body) => {
        const reply = await post(`${collector.url}/v1/traces`, JSON.stringify(body), { 'content-type': 'application/json' });
        expect([200, 400]).toContain(reply.status);
        await expectServing();
      }),
      { numRuns: 150 },
    );
  });

  it('JSON: byte-level mutations of a valid body get 200 or 400', async () => {
    const valid = Buffer.from(GOOD);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat(valid.length), async (edits, cut) => {
        const body = Buffer.from(valid.subarray(0, Math.max(1, cut)));
        for (const [at, byte] of edits) if (at < body.length) body[at] = byte;
        const reply = await post(`${collector.url}/v1/traces`, body, { 'content-type': 'application/json' });
        expect([200, 400]).toContain(reply.status);
      }),
      { numRuns: 150 },
    );
    await expectServing();
  });

  it('protobuf: random bytes and mutations of a real exporter body get 200 or 400', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
          fc.tuple(fc.array(fc.tuple(fc.nat(protobuf.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), fc.nat(protobuf.length)).map(([edits, cut]) => {
            const body = Buffer.from(protobuf.subarray(0, Math.max(1, cut)));
            for (const [at, byte] of edits) if (at < body.length) body[at] = byte;
            return body;
          }),
        ),
        async (body) => {
          const reply = await post(`${collector.url}/v1/traces`, body, { 'content-type': 'application/x-protobuf' });
          expect([200, 400]).toContain(reply.status);
          await expectServing();
        },
      ),
      { numRuns: 200 },
    );
  });

  it('wrote only whole, valid, canonical lines', async () => {
    const lines = await readSignalLines(dir, 'traces');
    expect(lines.length).toBeGreaterThan(300);
    for (const line of lines) {
      const data = JSON.parse(line);
      for (const resourceSpans of data.resourceSpans ?? []) {
        for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
          for (const span of scopeSpans.spans ?? []) {
            if (span.traceId !== undefined) expect(span.traceId).toMatch(/^([0-9a-f]{32})?$/);
            if (span.spanId !== undefined) expect(span.spanId).toMatch(/^([0-9a-f]{16})?$/);
            if (span.startTimeUnixNano !== undefined) expect(span.startTimeUnixNano).toMatch(/^\d+$/);
          }
        }
      }
    }
    const stats = collector.stats();
    expect(stats.requests.rejected.invalid_body).toBeGreaterThan(0);
  });
});
