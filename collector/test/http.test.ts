import { readdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeStatus, startCollector, type RunningCollector } from '../src/index.js';
import { post, postJson, readSignal, readSignalLines, tempDir } from './helpers.js';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const traces = (count: number, name = 'op') => ({
  resourceSpans: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
      scopeSpans: [{ scope: { name: 'test' }, spans: Array.from({ length: count }, (_, index) => ({ traceId: TRACE_ID, spanId: (index + 1).toString(16).padStart(16, '0'), name })) }],
    },
  ],
});

describe('OTLP/HTTP receiver', () => {
  let collector: RunningCollector;
  let dir: string;
  const logs: string[] = [];

  beforeAll(async () => {
    dir = await tempDir();
    collector = await startCollector({ port: 0, dir, token: 's3cret-token', log: (line) => logs.push(line), progress: false, maxBodyBytes: 256 * 1024 });
  });
  afterAll(async () => collector?.close());
  const auth = { authorization: 'Bearer s3cret-token' };

  it('binds 127.0.0.1 and reports health and readiness', async () => {
    expect(collector.host).toBe('127.0.0.1');
    expect((await post(`${collector.url}/healthz`, '', {}, 'GET')).status).toBe(200);
    const ready = await post(`${collector.url}/readyz`, '', {}, 'GET');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body.toString())).toEqual({ status: 'ready' });
  });

  it('answers 401 without saying which part of the credentials was wrong', async () => {
    const missing = await postJson(`${collector.url}/v1/traces`, traces(1));
    const wrong = await postJson(`${collector.url}/v1/traces`, traces(1), { authorization: 'Bearer s3cret-tokeX' });
    const short = await postJson(`${collector.url}/v1/traces`, traces(1), { authorization: 'Bearer s' });
    for (const reply of [missing, wrong, short]) {
      expect(reply.status).toBe(401);
      expect(reply.headers['www-authenticate']).toMatch(/^Bearer/);
    }
    expect(wrong.body.toString()).toBe(missing.body.toString());
    expect(short.body.toString()).toBe(missing.body.toString());
    expect((await post(`${collector.url}/metrics.json`, '', {}, 'GET')).status).toBe(401);
  });

  it('accepts JSON and answers in JSON; the line lands in traces.jsonl', async () => {
    const reply = await postJson(`${collector.url}/v1/traces`, traces(3, 'json-ok'), auth);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/json');
    expect(JSON.parse(reply.body.toString())).toEqual({});
    const spans = (await readSignal(dir, 'traces')).flatMap((line: any) => line.resourceSpans[0].scopeSpans[0].spans);
    expect(spans.filter((span: any) => span.name === 'json-ok')).toHaveLength(3);
  });

  it('accepts gzip bodies', async () => {
    const body = gzipSync(JSON.stringify(traces(2, 'gzipped')));
    const reply = await post(`${collector.url}/v1/traces`, body, { 'content-type': 'application/json', 'content-encoding': 'gzip', ...auth });
    expect(reply.status).toBe(200);
    const lines = await readSignalLines(dir, 'traces');
    expect(lines.some((line) => line.includes('"gzipped"'))).toBe(true);
  });

  it('fills partial_success for rejected spans, in JSON and in protobuf', async () => {
    const body = traces(2, 'partial');
    body.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.traceId = 'not-hex';
    const reply = await postJson(`${collector.url}/v1/traces`, body, auth);
    expect(reply.status).toBe(200);
    const answer = JSON.parse(reply.body.toString());
    expect(answer.partialSuccess.rejectedSpans).toBe('1');
    expect(answer.partialSuccess.errorMessage).toMatch(/traceId must be 32 hex characters/);

    // protobuf: ExportTraceServiceRequest with one span whose trace_id has 2 bytes.
    const span = Buffer.from([0x0a, 2, 1, 2, 0x2a, 1, 0x62]);
    const scope = Buffer.concat([Buffer.from([0x12, span.length]), span]);
    const resource = Buffer.concat([Buffer.from([0x12, scope.length]), scope]);
    const request = Buffer.concat([Buffer.from([0x0a, resource.length]), resource]);
    const protoReply = await post(`${collector.url}/v1/traces`, request, { 'content-type': 'application/x-protobuf', ...auth });
    expect(protoReply.status).toBe(200);
    expect(protoReply.headers['content-type']).toBe('application/x-protobuf');
    // ExportTraceServiceResponse { partial_success(1) { rejected_spans(1) = 1, error_message(2) } }
    expect(protoReply.body[0]).toBe(0x0a);
    expect(protoReply.body[2]).toBe(0x08);
    expect(protoReply.body[3]).toBe(1);
    expect(protoReply.body.toString('utf8')).toMatch(/traceId must be 16 bytes/);
  });

  it('answers 400 with a Status that says what was wrong, in the request encoding', async () => {
    const json = await postJson(`${collector.url}/v1/logs`, '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityNumber":"loud"}]}]}]}', auth);
    expect(json.status).toBe(400);
    const status = JSON.parse(json.body.toString());
    expect(status.code).toBe(3);
    expect(status.message).toContain('resourceLogs[0].scopeLogs[0].logRecords[0].severityNumber');
    const proto = await post(`${collector.url}/v1/traces`, Buffer.from([0x0a, 0x7f, 0x00]), { 'content-type': 'application/x-protobuf', ...auth });
    expect(proto.status).toBe(400);
    expect(proto.headers['content-type']).toBe('application/x-protobuf');
    expect(decodeStatus(proto.body).message).toMatch(/truncated or malformed/);
    const badGzip = await post(`${collector.url}/v1/traces`, Buffer.from('not gzip'), { 'content-type': 'application/json', 'content-encoding': 'gzip', ...auth });
    expect(badGzip.status).toBe(400);
    expect(JSON.parse(badGzip.body.toString()).message).toMatch(/not valid gzip/);
  });

  it('answers 415 for other media types and content encodings', async () => {
    expect((await post(`${collector.url}/v1/traces`, 'x', { 'content-type': 'text/plain', ...auth })).status).toBe(415);
    expect((await post(`${collector.url}/v1/traces`, '{}', { 'content-type': 'application/json', 'content-encoding': 'br', ...auth })).status).toBe(415);
  });

  it('answers 413 for large bodies, also when only the decompressed size is too large (gzip bomb)', async () => {
    const large = await postJson(`${collector.url}/v1/traces`, 'x'.repeat(300 * 1024), auth);
    expect(large.status).toBe(413);
    const before = process.memoryUsage().rss;
    // 1 GiB of zeros compresses to about 1 MiB; only 256 KiB may ever be inflated.
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
    expect(bomb.length).toBeLessThan(256 * 1024);
    const reply = await post(`${collector.url}/v1/traces`, bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip', ...auth });
    expect(reply.status).toBe(413);
    expect(JSON.parse(reply.body.toString()).message).toMatch(/after gzip decompression/);
    expect(process.memoryUsage().rss - before).toBeLessThan(48 * 1024 * 1024);
  });

  it('answers 404 and 405 for other routes and methods', async () => {
    expect((await post(`${collector.url}/v1/profiles`, '{}', { 'content-type': 'application/json', ...auth })).status).toBe(404);
    const get = await post(`${collector.url}/v1/traces`, '', auth, 'GET');
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
  });

  it('counts received, accepted, rejected by reason and bytes written at /metrics.json', async () => {
    const reply = await post(`${collector.url}/metrics.json`, '', auth, 'GET');
    const stats = JSON.parse(reply.body.toString());
    expect(stats.requests.rejected.unauthorized).toBe(4); // three exports and one /metrics.json
    expect(stats.requests.rejected.too_large).toBe(2);
    expect(stats.requests.rejected.unsupported_media_type).toBe(2);
    expect(stats.requests.rejected.invalid_body).toBe(3);
    expect(stats.requests.rejected.invalid_item).toBe(2);
    expect(stats.signals.traces.itemsAccepted).toBe(3 + 2 + 1);
    expect(stats.bytesWritten).toBeGreaterThan(0);
    expect(stats.bytesWritten).toBe((await readFile(join(dir, 'traces.jsonl'))).length);
  });

  it('keeps lines whole with many concurrent clients: counts in == counts on disk', async () => {
    const before = (await readSignalLines(dir, 'traces')).length;
    const requests = Array.from({ length: 200 }, (_, index) => postJson(`${collector.url}/v1/traces`, traces(1 + (index % 7), `c${index}`), auth));
    const replies = await Promise.all(requests);
    expect(replies.every((reply) => reply.status === 200)).toBe(true);
    const lines = await readSignalLines(dir, 'traces');
    expect(lines.length - before).toBe(200);
    let spans = 0;
    for (const line of lines.slice(before)) spans += (JSON.parse(line) as any).resourceSpans[0].scopeSpans[0].spans.length;
    expect(spans).toBe(Array.from({ length: 200 }, (_, index) => 1 + (index % 7)).reduce((a, b) => a + b, 0));
  });
});

describe('overload', () => {
  it('answers 429 with Retry-After instead of buffering without bound', async () => {
    const dir = await tempDir();
    const collector = await startCollector({ port: 0, dir, maxInflightBytes: 64 * 1024, fsync: 'always', progress: false, log: () => {} });
    try {
      const body = JSON.stringify(traces(200));
      const replies = await Promise.all(Array.from({ length: 40 }, () => postJson(`${collector.url}/v1/traces`, body)));
      const tooMany = replies.filter((reply) => reply.status === 429);
      const ok = replies.filter((reply) => reply.status === 200);
      expect(tooMany.length).toBeGreaterThan(0);
      expect(ok.length).toBeGreaterThan(0);
      expect(tooMany[0]!.headers['retry-after']).toBe('1');
      expect(ok.length + tooMany.length).toBe(40);
      expect(await readSignalLines(dir, 'traces')).toHaveLength(ok.length);
    } finally {
      await collector.close();
    }
  });
});

describe('files', () => {
  it('rotates by size with the Collector naming scheme, gzips rotated files and keeps every line', async () => {
    const dir = await tempDir();
    const collector = await startCollector({ port: 0, dir, rotation: { maxBytes: 4096, gzip: true }, progress: false, log: () => {} });
    try {
      for (let index = 0; index < 30; index++) expect((await postJson(`${collector.url}/v1/traces`, traces(5, `r${index}`))).status).toBe(200);
      await collector.idle();
      const names = await readdir(dir);
      const rotated = names.filter((name) => name !== 'traces.jsonl' && name.startsWith('traces-'));
      expect(rotated.length).toBeGreaterThan(3);
      for (const name of rotated) expect(name).toMatch(/^traces-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}\.jsonl\.gz$/);
      expect(collector.stats().filesRotated).toBe(rotated.length);
      const lines = await readSignal(dir, 'traces');
      expect(lines).toHaveLength(30);
      expect(new Set(lines.map((line: any) => line.resourceSpans[0].scopeSpans[0].spans[0].name)).size).toBe(30);
    } finally {
      await collector.close();
    }
  });

  it('rotates by age into a by-date layout', async () => {
    const dir = await tempDir();
    const collector = await startCollector({ port: 0, dir, rotation: { maxAge: 200 }, layout: 'date', progress: false, log: () => {} });
    try {
      expect((await postJson(`${collector.url}/v1/traces`, traces(1, 'aged'))).status).toBe(200);
      const day = new Date().toISOString().slice(0, 10);
      await expect.poll(async () => (await readdir(dir)).includes(day), { timeout: 3000 }).toBe(true);
      const inDay = await readdir(join(dir, day));
      expect(inDay.some((name) => /^traces-.*\.jsonl$/.test(name))).toBe(true);
      expect(await readSignalLines(dir, 'traces')).toHaveLength(1);
    } finally {
      await collector.close();
    }
  });

  it('counts a file\'s age from its first line, not from when the collector opened it', async () => {
    const dir = await tempDir();
    const collector = await startCollector({ port: 0, dir, rotation: { maxAge: 1000 }, progress: false, log: () => {} });
    try {
      // Idle for longer than maxAge, then one line: it stays in the open file until it is 1 s old.
      await new Promise((resolve) => setTimeout(resolve, 1300));
      const postedAt = Date.now();
      expect((await postJson(`${collector.url}/v1/traces`, traces(1, 'late'))).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 450));
      const rotated = async () => (await readdir(dir)).filter((name) => /^traces-.*\.jsonl$/.test(name));
      expect(await rotated()).toEqual([]);
      await expect.poll(rotated, { timeout: 3000 }).toHaveLength(1);
      expect(Date.now() - postedAt).toBeGreaterThanOrEqual(1000);
      expect(await readSignalLines(dir, 'traces')).toHaveLength(1);
    } finally {
      await collector.close();
    }
  });

  it('terminates a torn last line left by a crash so every later line is whole', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'traces.jsonl'), `${JSON.stringify(traces(1, 'before'))}\n{"resourceSpans":[{"scopeSp`);
    const messages: string[] = [];
    const collector = await startCollector({ port: 0, dir, progress: false, log: (line) => messages.push(line) });
    try {
      expect((await postJson(`${collector.url}/v1/traces`, traces(1, 'after'))).status).toBe(200);
      const lines = (await readFile(join(dir, 'traces.jsonl'), 'utf8')).split('\n').filter(Boolean);
      expect(lines).toHaveLength(3);
      expect(() => JSON.parse(lines[1]!)).toThrow();
      expect(JSON.parse(lines[2]!).resourceSpans[0].scopeSpans[0].spans[0].name).toBe('after');
      expect(messages.some((line) => line.includes('torn line'))).toBe(true);
      expect(collector.stats().tornLinesTerminated).toBe(1);
    } finally {
      await collector.close();
    }
  });

  it('writes its own counters as OTLP metrics when configured', async () => {
    const dir = await tempDir();
    const collector = await startCollector({ port: 0, dir, selfMetrics: { interval: 100 }, progress: false, log: () => {} });
    try {
      expect((await postJson(`${collector.url}/v1/traces`, traces(4))).status).toBe(200);
      await expect.poll(async () => (await readSignalLines(dir, 'metrics').catch(() => [])).length, { timeout: 3000 }).toBeGreaterThan(0);
      const metrics = (await readSignal(dir, 'metrics'))[0] as any;
      const items = metrics.resourceMetrics[0].scopeMetrics[0].metrics.find((metric: any) => metric.name === 'abtel.collector.items');
      const accepted = items.sum.dataPoints.find((point: any) => point.attributes.some((a: any) => a.value.stringValue === 'traces') && point.attributes.some((a: any) => a.value.stringValue === 'accepted'));
      expect(accepted.asInt).toBe('4');
    } finally {
      await collector.close();
    }
  });

  it('finishes in-flight requests on close and then refuses new ones', async () => {
    const dir = await tempDir();
    const collector = await startCollector({ port: 0, dir, fsync: 'always', progress: false, log: () => {} });
    // Settled from the start: a request still connecting when close() runs is reset, and its
    // rejection must be handled then, not only after close() resolves.
    const inflight = Promise.allSettled(Array.from({ length: 10 }, () => postJson(`${collector.url}/v1/traces`, traces(50))));
    await new Promise((resolve) => setTimeout(resolve, 5));
    await collector.close();
    const replies = await inflight;
    const ok = replies.filter((reply) => reply.status === 'fulfilled' && reply.value.status === 200).length;
    expect(await readSignalLines(dir, 'traces')).toHaveLength(ok);
    await expect(postJson(`${collector.url}/v1/traces`, traces(1))).rejects.toThrow();
  });
});

describe('reused request buffers', () => {
  it('writes each line exactly, whatever the sizes and order of earlier bodies (also chunked bodies and rejected ones)', async () => {
    const dir = await tempDir();
    const collector = await startCollector({ port: 0, dir, progress: false });
    try {
      const url = `${collector.url}/v1/traces`;
      // intValue as JSON numbers: these lines are rebuilt with quotes, into reused buffers.
      const body = (count: number, name: string) =>
        JSON.stringify({
          resourceSpans: [
            {
              scopeSpans: [
                {
                  spans: Array.from({ length: count }, (_, index) => ({
                    traceId: TRACE_ID,
                    spanId: (index + 1).toString(16).padStart(16, '0'),
                    name,
                    attributes: [{ key: 'n', value: { intValue: index } }],
                  })),
                },
              ],
            },
          ],
        });
      const sizes = [2000, 3, 900, 1, 2000, 40];
      for (const [step, count] of sizes.entries()) {
        expect((await postJson(url, body(count, `step-${step}`))).status).toBe(200);
        // A rejected body in between hands its buffer back too.
        expect((await postJson(url, `${body(count, 'bad').slice(0, -3)}`)).status).toBe(400);
      }
      // Without Content-Length (chunked): collected from the chunks instead.
      const chunked = Buffer.from(body(500, 'chunked'));
      const status = await new Promise<number>((resolve, reject) => {
        const target = new URL(url);
        const req = request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.write(chunked.subarray(0, 1000));
        req.end(chunked.subarray(1000));
      });
      expect(status).toBe(200);
      const lines = (await readSignal(dir, 'traces')) as { resourceSpans: { scopeSpans: { spans: { name: string; attributes: { value: { intValue: string } }[] }[] }[] }[] }[];
      expect(lines.map((line) => line.resourceSpans[0]!.scopeSpans[0]!.spans.length)).toEqual([...sizes, 500]);
      lines.forEach((line, index) => {
        const spans = line.resourceSpans[0]!.scopeSpans[0]!.spans;
        expect(new Set(spans.map((span) => span.name))).toEqual(new Set([index < sizes.length ? `step-${index}` : 'chunked']));
        expect(spans.map((span) => span.attributes[0]!.value.intValue)).toEqual(spans.map((_, position) => String(position)));
      });
    } finally {
      await collector.close();
    }
  });
});

describe('request counters', () => {
  it('count each request once: received = accepted + Σ rejected (partial success once, 404/405 included)', async () => {
    const dir = await tempDir();
    const collector = await startCollector({ port: 0, dir, token: 't0ken', maxBodyBytes: 1024, progress: false, log: () => {} });
    const auth = { authorization: 'Bearer t0ken' };
    try {
      const partial = traces(3, 'partial');
      partial.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.traceId = 'not-hex';
      partial.resourceSpans[0]!.scopeSpans[0]!.spans[1]!.spanId = 'short';
      const allInvalid = traces(1, 'invalid');
      allInvalid.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.traceId = 'not-hex';
      const statuses = [
        (await postJson(`${collector.url}/v1/traces`, traces(2, 'ok'), auth)).status,
        (await postJson(`${collector.url}/v1/traces`, partial, auth)).status,
        (await postJson(`${collector.url}/v1/traces`, allInvalid, auth)).status,
        (await postJson(`${collector.url}/v1/traces`, '{"resourceSpans":7}', auth)).status,
        (await post(`${collector.url}/v1/traces`, 'x', { 'content-type': 'text/plain', ...auth })).status,
        (await postJson(`${collector.url}/v1/traces`, 'x'.repeat(2048), auth)).status,
        (await postJson(`${collector.url}/v1/traces`, traces(1))).status,
        (await post(`${collector.url}/v1/profiles`, '{}', { 'content-type': 'application/json', ...auth })).status,
        (await post(`${collector.url}/v1/traces`, '', auth, 'GET')).status,
        (await post(`${collector.url}/metrics.json`, '', {}, 'GET')).status,
        (await post(`${collector.url}/healthz`, '', {}, 'GET')).status,
        (await post(`${collector.url}/readyz`, '', {}, 'GET')).status,
      ];
      expect(statuses).toEqual([200, 200, 200, 400, 415, 413, 401, 404, 405, 401, 200, 200]);
      // A client that goes away in the middle of its body.
      const socket = connect(collector.port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.write('POST /v1/traces HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t0ken\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"resourceSpans":');
      await new Promise((resolve) => setTimeout(resolve, 100));
      socket.destroy();
      await expect.poll(() => collector.stats().requests.rejected.aborted).toBe(1);
      const stats = JSON.parse((await post(`${collector.url}/metrics.json`, '', auth, 'GET')).body.toString());
      const rejected = Object.values(stats.requests.rejected as Record<string, number>).reduce((a, b) => a + b, 0);
      expect(stats.requests).toMatchObject({ received: 11, accepted: 1 });
      expect(stats.requests.rejected).toMatchObject({ invalid_item: 2, invalid_body: 1, unsupported_media_type: 1, too_large: 1, unauthorized: 2, not_found: 2 });
      expect(stats.requests.received).toBe(stats.requests.accepted + rejected);
      expect(stats.signals.traces).toMatchObject({ itemsReceived: 6, itemsAccepted: 3, itemsRejected: 3 });
    } finally {
      await collector.close();
    }
  });
});

describe('64-bit integers', () => {
  it('answers 400 naming the path for values outside the fixed64/int64 range, quoted or bare; accepts the limits', async () => {
    const dir = await tempDir();
    const collector = await startCollector({ port: 0, dir, progress: false, log: () => {} });
    try {
      const withValues = (start: string, int: string) =>
        `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE_ID}","spanId":"00f067aa0ba902b7","name":"n","startTimeUnixNano":${start},"attributes":[{"key":"k","value":{"intValue":${int}}}]}]}]}]}`;
      const cases: Array<[string, string, RegExp]> = [
        ['"18446744073709551616"', '"1"', /resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.startTimeUnixNano: unsigned 64-bit integer out of range/],
        ['18446744073709551616', '"1"', /spans\[0\]\.startTimeUnixNano: unsigned 64-bit integer out of range/],
        ['"99999999999999999999"', '"1"', /startTimeUnixNano: unsigned 64-bit integer out of range/],
        ['"1"', '"9223372036854775808"', /spans\[0\]\.attributes\[0\]\.value\.intValue: 64-bit integer out of range/],
        ['"1"', '-9223372036854775809', /intValue: 64-bit integer out of range/],
        ['"1"', '1e19', /intValue: 64-bit integer out of range/],
      ];
      for (const [start, int, message] of cases) {
        const reply = await postJson(`${collector.url}/v1/traces`, withValues(start, int));
        expect(reply.status, `${start} ${int}`).toBe(400);
        expect(JSON.parse(reply.body.toString()).message).toMatch(message);
      }
      const limits = [
        ['"18446744073709551615"', '"9223372036854775807"'],
        ['18446744073709551615', '-9223372036854775808'],
      ];
      for (const [start, int] of limits) expect((await postJson(`${collector.url}/v1/traces`, withValues(start!, int!))).status).toBe(200);
      const lines = await readSignal(dir, 'traces');
      expect(lines.map((line: any) => [line.resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano, line.resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.intValue])).toEqual([
        ['18446744073709551615', '9223372036854775807'],
        ['18446744073709551615', '-9223372036854775808'],
      ]);
    } finally {
      await collector.close();
    }
  });
});
