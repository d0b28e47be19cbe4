import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FIXTURES, normaliseOtlp } from '../../test/helpers.js';
import { BodyError, decodeJson, decodeProtobuf, decodeProtobufObjects } from './decode.js';
import { digitsFit64, scanJson } from './jsonscan.js';
import { uint64Decimal } from './protojson.js';
import { LogsData, MetricsData, TracesData, type MessageSpec } from './schema.js';

function specFor(name: string): MessageSpec {
  if (name.includes('trace')) return TracesData;
  if (name.includes('metrics')) return MetricsData;
  return LogsData;
}

/** A fixture file as request bodies: one per line for .jsonl, the whole file for .json. */
function fixtureBodies(name: string): string[] {
  const text = readFileSync(join(FIXTURES, name), 'utf8');
  return name.endsWith('.jsonl') ? text.split('\n').filter((line) => line.trim() !== '') : [text];
}

describe('decodeJson on the public fixtures', () => {
  const names = readdirSync(FIXTURES).filter((name) => /\.jsonl?$/.test(name));
  it('finds the fixtures', () => expect(names.length).toBeGreaterThanOrEqual(6));
  for (const name of names) {
    it(`accepts ${name} and round-trips it without loss`, () => {
      for (const body of fixtureBodies(name)) {
        const decoded = decodeJson(specFor(name), Buffer.from(body));
        expect(decoded.rejected).toBe(0);
        expect(decoded.accepted).toBeGreaterThan(0);
        const line = JSON.stringify(decoded.data);
        expect(line).not.toContain('\n');
        // What is written, read back, means the same as what was sent.
        expect(normaliseOtlp(JSON.parse(line))).toEqual(normaliseOtlp(JSON.parse(body)));
      }
    });
  }

  it('lower-cases upper-case hex ids (otlp-proto-examples-trace.json)', () => {
    const decoded = decodeJson(TracesData, readFileSync(join(FIXTURES, 'otlp-proto-examples-trace.json')));
    const span = (decoded.data as any).resourceSpans[0].scopeSpans[0].spans[0];
    expect(span.traceId).toBe('5b8efff798038103d269b633813fc60c');
    expect(span.spanId).toBe('eee19b7ec3c1b174');
    expect(decoded.canonical).toBe(false);
  });
});

describe('decodeJson normalisation', () => {
  const span = (extra: Record<string, unknown>) => JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', name: 'x', ...extra }] }] }] });
  const first = (data: unknown) => (data as any).resourceSpans[0].scopeSpans[0].spans[0];

  it('accepts int64 as a JSON number and keeps nanosecond precision beyond 2^53', () => {
    // Written by hand: a JavaScript number literal would already have lost the digits.
    const body = span({ startTimeUnixNano: 'START', attributes: [{ key: 'n', value: { intValue: 4 } }] }).replace('"START"', '1544712660123456789');
    const decoded = decodeJson(TracesData, Buffer.from(body));
    expect(first(decoded.data).startTimeUnixNano).toBe('1544712660123456789');
    expect(first(decoded.data).attributes[0].value.intValue).toBe('4');
  });

  it('ignores unknown fields, accepts snake_case names, enum names and null', () => {
    const decoded = decodeJson(TracesData, Buffer.from(span({ futureField: { a: 1 }, start_time_unix_nano: '5', kind: 'SPAN_KIND_CLIENT', status: null })));
    expect(first(decoded.data)).toEqual({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', name: 'x', startTimeUnixNano: '5', kind: 3 });
  });

  it('marks an already canonical single-line body as canonical so it can be written as it came', () => {
    expect(decodeJson(TracesData, Buffer.from(span({ startTimeUnixNano: '5' }))).canonical).toBe(true);
    expect(decodeJson(TracesData, Buffer.from(JSON.stringify(JSON.parse(span({})), null, 2))).canonical).toBe(false);
  });

  it('rejects only the span with an invalid id (partial success)', () => {
    const body = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'abc', spanId: 'b7ad6b7169203331' }, { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' }] }] }] });
    const decoded = decodeJson(TracesData, Buffer.from(body));
    expect(decoded).toMatchObject({ accepted: 1, rejected: 1 });
    expect(decoded.rejection).toMatch(/traceId must be 32 hex characters/);
    expect((decoded.data as any).resourceSpans[0].scopeSpans[0].spans).toHaveLength(1);
  });

  it('says where a body is wrong', () => {
    const attempt = () => decodeJson(TracesData, Buffer.from(span({ kind: 'sideways' })));
    expect(attempt).toThrow(BodyError);
    try {
      attempt();
    } catch (error) {
      expect((error as BodyError).describe()).toBe('resourceSpans[0].scopeSpans[0].spans[0].kind: expected an integer, got string "sideways"');
    }
    expect(() => decodeJson(TracesData, Buffer.from('{"resourceSpans":'))).toThrow(/not valid JSON/);
    expect(() => decodeJson(TracesData, Buffer.from('[1]'))).toThrow(/expected a TracesData object/);
    expect(() => decodeJson(LogsData, Buffer.from('{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"a","intValue":"1"}}]}]}]}'))).toThrow(/exactly one value/);
  });

  it('refuses hostile nesting instead of exhausting the stack', () => {
    let value = '{"stringValue":"x"}';
    for (let depth = 0; depth < 200; depth++) value = `{"arrayValue":{"values":[${value}]}}`;
    const body = `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":${value}}]}]}]}`;
    expect(() => decodeJson(LogsData, Buffer.from(body))).toThrow(/nesting deeper/);
  });
});

describe('decodeProtobuf', () => {
  it('reports truncated and malformed bodies as BodyError', () => {
    expect(() => decodeProtobuf(TracesData, Buffer.from([0x0a, 0x05, 0x01]))).toThrow(BodyError);
    expect(() => decodeProtobuf(TracesData, Buffer.from([0x0b]))).toThrow(/wire type/);
    expect(decodeProtobuf(TracesData, Buffer.alloc(0))).toMatchObject({ accepted: 0, rejected: 0 });
  });

  it('decodes a hand-encoded span with 64-bit fields, ids and a oneof value exactly', () => {
    // Span { trace_id(1), span_id(2), name(5)="a", kind(6)=2, start(7) fixed64, attributes(9) {key "k", value {int_value -1}} }
    const traceId = Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex');
    const spanId = Buffer.from('b7ad6b7169203331', 'hex');
    const start = Buffer.alloc(8);
    start.writeBigUInt64LE(1544712660123456789n);
    const minusOne = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    const anyValue = Buffer.concat([Buffer.from([0x18]), minusOne]);
    const keyValue = Buffer.concat([Buffer.from([0x0a, 0x01, 0x6b, 0x12, anyValue.length]), anyValue]);
    const span = Buffer.concat([
      Buffer.from([0x0a, 16]),
      traceId,
      Buffer.from([0x12, 8]),
      spanId,
      Buffer.from([0x2a, 1, 0x61, 0x30, 2, 0x39]),
      start,
      Buffer.from([0x4a, keyValue.length]),
      keyValue,
    ]);
    const scopeSpans = Buffer.concat([Buffer.from([0x12, span.length]), span]);
    const resourceSpans = Buffer.concat([Buffer.from([0x12, scopeSpans.length]), scopeSpans]);
    const body = Buffer.concat([Buffer.from([0x0a, resourceSpans.length]), resourceSpans]);
    const decoded = decodeProtobuf(TracesData, body);
    expect(decoded.accepted).toBe(1);
    expect(decoded.data).toEqual({
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: '0af7651916cd43dd8448eb211c80319c',
                  spanId: 'b7ad6b7169203331',
                  name: 'a',
                  kind: 2,
                  startTimeUnixNano: '1544712660123456789',
                  attributes: [{ key: 'k', value: { intValue: '-1' } }],
                },
              ],
            },
          ],
        },
      ],
    });
  });

  it('rejects a span whose trace id has the wrong length and keeps the others', () => {
    const good = Buffer.concat([Buffer.from([0x0a, 16]), Buffer.alloc(16, 1), Buffer.from([0x12, 8]), Buffer.alloc(8, 2)]);
    const bad = Buffer.concat([Buffer.from([0x0a, 3]), Buffer.alloc(3, 1)]);
    const scopeSpans = Buffer.concat([Buffer.from([0x12, bad.length]), bad, Buffer.from([0x12, good.length]), good]);
    const resourceSpans = Buffer.concat([Buffer.from([0x12, scopeSpans.length]), scopeSpans]);
    const body = Buffer.concat([Buffer.from([0x0a, resourceSpans.length]), resourceSpans]);
    const decoded = decodeProtobuf(TracesData, body);
    expect(decoded).toMatchObject({ accepted: 1, rejected: 1 });
    expect(decoded.rejection).toMatch(/traceId must be 16 bytes \(got 3\)/);
  });
});

describe('JSON fast path ≡ general decoder (property)', () => {
  // The fast path only runs on one-line bodies; the same body pretty-printed always takes the
  // general decoder. Both must agree on everything: outcome, counts, and what is written.
  const hex = (length: number) => fc.stringMatching(new RegExp(`^[0-9a-fA-F]{${length}}$`));
  const anyValue = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.record({ stringValue: fc.string() }),
      fc.record({ intValue: fc.oneof(fc.integer(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String)) }),
      fc.record({ doubleValue: fc.double({ noNaN: true, noDefaultInfinity: true }) }),
      fc.record({ boolValue: fc.boolean() }),
      fc.record({ bytesValue: fc.base64String() }),
      fc.record({ arrayValue: fc.record({ values: fc.array(tie('value'), { maxLength: 3 }) }) }),
      fc.record({ kvlistValue: fc.record({ values: fc.array(fc.record({ key: fc.string(), value: tie('value') }), { maxLength: 3 }) }) }),
      fc.constant({}),
    ),
  })).value;
  const attributes = fc.array(fc.record({ key: fc.string(), value: anyValue }), { maxLength: 4 });
  const span = fc.record(
    {
      traceId: fc.oneof(hex(32), fc.constant(''), fc.constant('xyz')),
      spanId: fc.oneof(hex(16), fc.constant('')),
      parentSpanId: hex(16),
      name: fc.string(),
      kind: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constant('SPAN_KIND_SERVER')),
      startTimeUnixNano: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String), fc.nat()),
      attributes,
      droppedAttributesCount: fc.nat(),
      events: fc.array(fc.record({ name: fc.string(), timeUnixNano: fc.nat().map(String), attributes }), { maxLength: 2 }),
      status: fc.oneof(fc.record({ code: fc.integer({ min: 0, max: 2 }), message: fc.string() }), fc.constant(null)),
      flags: fc.nat(),
      futureField: fc.jsonValue(),
    },
    { requiredKeys: [] },
  );
  const body = fc.record({ resourceSpans: fc.array(fc.record({ resource: fc.record({ attributes }), scopeSpans: fc.array(fc.record({ scope: fc.record({ name: fc.string() }), spans: fc.array(span, { maxLength: 4 }) }), { maxLength: 2 }) }), { maxLength: 2 }) });

  const outcome = (text: string) => {
    try {
      const result = decodeJson(TracesData, Buffer.from(text));
      return { data: result.data, accepted: result.accepted, rejected: result.rejected };
    } catch (error) {
      return { error: (error as Error).message };
    }
  };

  it('agrees with the general decoder on generated bodies', () => {
    let fast = 0;
    fc.assert(
      fc.property(body, (value) => {
        const compact = JSON.stringify(value);
        const pretty = JSON.stringify(value, null, 1);
        if (scanJson(TracesData, Buffer.from(compact))) fast += 1;
        expect(outcome(compact)).toEqual(outcome(pretty));
      }),
      { numRuns: 400 },
    );
    // The property is only meaningful if many bodies take the fast path.
    expect(fast).toBeGreaterThan(40);
  });

  it('quotes 64-bit integers sent as numbers with every digit kept', () => {
    const text = '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","startTimeUnixNano":18446744073709551615,"attributes":[{"key":"n","value":{"intValue":-9223372036854775808}}]}]}]}]}';
    const result = decodeJson(TracesData, Buffer.from(text));
    expect(result.line.toString()).toBe(`${text.replace('18446744073709551615', '"18446744073709551615"').replace('-9223372036854775808', '"-9223372036854775808"')}\n`);
  });
});

/** A small protobuf encoder over the same tables (test only), to produce bodies from objects. */
function encode(spec: MessageSpec, object: Record<string, unknown>): Buffer {
  const parts: Buffer[] = [];
  const varint = (value: bigint): Buffer => {
    const bytes: number[] = [];
    let rest = BigInt.asUintN(64, value);
    while (rest > 0x7fn) {
      bytes.push(Number(rest & 0x7fn) | 0x80);
      rest >>= 7n;
    }
    bytes.push(Number(rest));
    return Buffer.from(bytes);
  };
  const tag = (no: number, wire: number) => varint(BigInt((no << 3) | wire));
  for (const field of spec.fields) {
    const raw = object[field.name];
    if (raw === undefined) continue;
    const values = field.repeated ? (raw as unknown[]) : [raw];
    for (const value of values) {
      switch (field.kind) {
        case 'message': {
          const inner = encode(field.message!(), value as Record<string, unknown>);
          parts.push(tag(field.no, 2), varint(BigInt(inner.length)), inner);
          break;
        }
        case 'string': {
          const bytes = Buffer.from(value as string);
          parts.push(tag(field.no, 2), varint(BigInt(bytes.length)), bytes);
          break;
        }
        case 'traceId':
        case 'spanId':
        case 'bytes': {
          const bytes = Buffer.from(value as string, field.kind === 'bytes' ? 'base64' : 'hex');
          parts.push(tag(field.no, 2), varint(BigInt(bytes.length)), bytes);
          break;
        }
        case 'fixed64':
        case 'sfixed64': {
          const bytes = Buffer.alloc(8);
          bytes.writeBigUInt64LE(BigInt.asUintN(64, BigInt(value as string)));
          parts.push(tag(field.no, 1), bytes);
          break;
        }
        case 'double': {
          const bytes = Buffer.alloc(8);
          bytes.writeDoubleLE(typeof value === 'string' ? Number(value) : (value as number));
          parts.push(tag(field.no, 1), bytes);
          break;
        }
        case 'fixed32': {
          const bytes = Buffer.alloc(4);
          bytes.writeUInt32LE(value as number);
          parts.push(tag(field.no, 5), bytes);
          break;
        }
        case 'bool':
          parts.push(tag(field.no, 0), varint(value ? 1n : 0n));
          break;
        case 'sint32': {
          const n = value as number;
          parts.push(tag(field.no, 0), varint(BigInt((n << 1) ^ (n >> 31)) & 0xffffffffn));
          break;
        }
        default:
          parts.push(tag(field.no, 0), varint(BigInt(value as number | string)));
      }
    }
  }
  return Buffer.concat(parts);
}

describe('protobuf fast path ≡ general decoder (property)', () => {
  const hex = (length: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${length}}$`));
  const anyValue = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.record({ stringValue: fc.string({ unit: 'binary' }) }),
      fc.record({ intValue: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String) }),
      fc.record({ doubleValue: fc.double() }),
      fc.record({ boolValue: fc.boolean() }),
      fc.record({ bytesValue: fc.uint8Array({ maxLength: 8 }).map((bytes) => Buffer.from(bytes).toString('base64')) }),
      fc.record({ arrayValue: fc.record({ values: fc.array(tie('value'), { maxLength: 3 }) }) }),
      fc.record({ kvlistValue: fc.record({ values: fc.array(fc.record({ key: fc.string(), value: tie('value') }), { maxLength: 3 }) }) }),
    ),
  })).value;
  const attributes = fc.array(fc.record({ key: fc.string(), value: anyValue }), { maxLength: 3 });
  const span = fc.record(
    {
      traceId: fc.oneof(hex(32), hex(6)),
      spanId: hex(16),
      name: fc.string(),
      kind: fc.integer({ min: 0, max: 5 }),
      startTimeUnixNano: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String),
      attributes,
      droppedAttributesCount: fc.nat(),
      events: fc.array(fc.record({ name: fc.string(), timeUnixNano: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String), attributes }), { maxLength: 2 }),
      links: fc.array(fc.record({ traceId: hex(32), spanId: hex(16), flags: fc.nat() }), { maxLength: 2 }),
      status: fc.record({ code: fc.integer({ min: 0, max: 2 }), message: fc.string() }, { requiredKeys: [] }),
      flags: fc.nat(),
    },
    { requiredKeys: ['traceId', 'spanId'] },
  );
  const traces = fc.record({ resourceSpans: fc.array(fc.record({ resource: fc.record({ attributes }), scopeSpans: fc.array(fc.record({ scope: fc.record({ name: fc.string(), version: fc.string() }), spans: fc.array(span, { maxLength: 4 }) }), { maxLength: 2 }), schemaUrl: fc.string() }), { maxLength: 2 }) });
  const histogram = fc.record({
    resourceMetrics: fc.array(
      fc.record({
        scopeMetrics: fc.array(
          fc.record({
            metrics: fc.array(
              fc.record({
                name: fc.string(),
                histogram: fc.record({
                  dataPoints: fc.array(
                    fc.record({ timeUnixNano: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String), count: fc.nat().map(String), sum: fc.double({ noNaN: true }), bucketCounts: fc.array(fc.nat().map(String), { maxLength: 4 }), explicitBounds: fc.array(fc.double({ noNaN: true }), { maxLength: 3 }) }, { requiredKeys: ['timeUnixNano'] }),
                    { maxLength: 3 },
                  ),
                  aggregationTemporality: fc.integer({ min: 0, max: 2 }),
                }),
              }),
              { maxLength: 2 },
            ),
          }),
          { maxLength: 2 },
        ),
      }),
      { maxLength: 2 },
    ),
  });

  // JSON.stringify writes NaN and ±Infinity as null; proto3 JSON spells them as strings, which is
  // what the protobuf side decodes them to.
  const protoJsonNumbers = (_key: string, v: unknown): unknown =>
    typeof v === 'number' && !Number.isFinite(v) ? (Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity') : v;

  const outcome = (decode: () => { data: unknown; accepted: number; rejected: number }) => {
    try {
      const result = decode();
      return { data: result.data, accepted: result.accepted, rejected: result.rejected };
    } catch (error) {
      return { error: error instanceof BodyError };
    }
  };

  for (const [name, spec, arbitrary] of [
    ['traces', TracesData, traces],
    ['histograms (packed repeated fields)', MetricsData, histogram],
  ] as const) {
    it(`${name}: fast writer, general decoder and JSON decoder agree`, () => {
      fc.assert(
        fc.property(arbitrary as fc.Arbitrary<Record<string, unknown>>, fc.nat(), (value, cut) => {
          const body = encode(spec, value);
          const fast = outcome(() => decodeProtobuf(spec, body));
          expect(fast).toEqual(outcome(() => decodeProtobufObjects(spec, body)));
          if ('data' in fast && fast.rejected === 0) {
            // What protobuf gives equals what the same data gives as JSON (after proto3 normalisation).
            expect(normaliseOtlp(fast.data)).toEqual(normaliseOtlp(decodeJson(spec, Buffer.from(JSON.stringify(value, protoJsonNumbers))).data));
          }
          // Truncated bodies: both fail, or both succeed identically.
          const truncated = body.subarray(0, body.length === 0 ? 0 : cut % body.length);
          expect(outcome(() => decodeProtobuf(spec, truncated))).toEqual(outcome(() => decodeProtobufObjects(spec, truncated)));
        }),
        { numRuns: 300 },
      );
    });
  }
});

describe('uint64Decimal', () => {
  it('equals BigInt formatting for every 64-bit value (property) and the edges', () => {
    const check = (high: number, low: number): void => {
      expect(uint64Decimal(high, low)).toBe(((BigInt(high) << 32n) | BigInt(low)).toString());
    };
    for (const [high, low] of [[0, 0], [0x1fffff, 0xffffffff], [0x200000, 0], [0xffffffff, 0xffffffff], [0x1573b0bd, 0x3ad6c715], [0xde0b6b3, 0xa7640000]]) check(high!, low!);
    fc.assert(fc.property(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), check), { numRuns: 5000 });
    // Consecutive values with the same high word (timestamps of one request) reuse its remainder.
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), fc.array(fc.nat({ max: 0xffffffff }), { minLength: 2, maxLength: 20 }), (high, lows) => lows.forEach((low) => check(high, low))),
      { numRuns: 500 },
    );
  });
});

describe('digitsFit64', () => {
  it('agrees with BigInt on digit strings around the int64 and uint64 limits (leading zeros too)', () => {
    const near = fc.oneof(
      fc.bigInt({ min: 0n, max: 2n ** 65n }),
      fc.bigInt({ min: 2n ** 63n - 1000n, max: 2n ** 63n + 1000n }),
      fc.bigInt({ min: 2n ** 64n - 1000n, max: 2n ** 64n + 1000n }),
    );
    fc.assert(
      fc.property(near, fc.nat({ max: 3 }), fc.boolean(), (value, zeros, negative) => {
        const digits = Buffer.from(`${'0'.repeat(zeros)}${value}`);
        expect(digitsFit64(digits, 0, digits.length, false, false)).toBe(value < 2n ** 64n);
        expect(digitsFit64(digits, 0, digits.length, true, negative)).toBe(negative ? value <= 2n ** 63n : value < 2n ** 63n);
      }),
      { numRuns: 2000 },
    );
  });
});
