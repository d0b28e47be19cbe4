/**
 * OTLP/HTTP response bodies in both encodings: `Export*ServiceResponse` (with `partial_success`)
 * and `google.rpc.Status` for failures.
 */
import type { Signal } from './writer.js';

export type Encoding = 'json' | 'protobuf';

/** gRPC status codes used in `Status.code`, as the OTLP specification maps HTTP failures. */
export const GRPC = { INVALID_ARGUMENT: 3, RESOURCE_EXHAUSTED: 8, UNIMPLEMENTED: 12, UNAVAILABLE: 14, UNAUTHENTICATED: 16, NOT_FOUND: 5 } as const;

const REJECTED_FIELD: Record<Signal, string> = {
  traces: 'rejectedSpans',
  logs: 'rejectedLogRecords',
  metrics: 'rejectedDataPoints',
};

function varint(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    bytes.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return bytes;
}

function lengthDelimited(fieldNumber: number, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([(fieldNumber << 3) | 2, ...varint(payload.length)]), payload]);
}

const EMPTY = Buffer.alloc(0);
const EMPTY_JSON = Buffer.from('{}');

/**
 * The success body; with `rejected > 0` it carries `partial_success`.
 * @example
 * exportResponse('traces', 'json', 2, 'Span [3]: traceId must be 32 hex characters');
 */
export function exportResponse(signal: Signal, encoding: Encoding, rejected: number, message: string | undefined): Buffer {
  if (rejected === 0 && !message) return encoding === 'json' ? EMPTY_JSON : EMPTY;
  if (encoding === 'json') {
    return Buffer.from(JSON.stringify({ partialSuccess: { [REJECTED_FIELD[signal]]: String(rejected), errorMessage: message ?? '' } }));
  }
  const parts: Buffer[] = [];
  if (rejected > 0) parts.push(Buffer.from([0x08, ...varint(rejected)]));
  if (message) parts.push(lengthDelimited(2, Buffer.from(message, 'utf8')));
  return lengthDelimited(1, Buffer.concat(parts));
}

/**
 * A `google.rpc.Status` body.
 * @example
 * statusBody('json', GRPC.INVALID_ARGUMENT, 'body is not valid JSON');
 */
export function statusBody(encoding: Encoding, code: number, message: string): Buffer {
  if (encoding === 'json') return Buffer.from(JSON.stringify({ code, message }));
  return Buffer.concat([Buffer.from([0x08, ...varint(code)]), lengthDelimited(2, Buffer.from(message, 'utf8'))]);
}

/**
 * Decodes a protobuf `Status` (used by tests and clients reading error bodies).
 * @example
 * const { code, message } = decodeStatus(body);
 */
export function decodeStatus(body: Buffer): { code: number; message: string } {
  let pos = 0;
  let code = 0;
  let message = '';
  const readVarint = (): number => {
    let value = 0;
    let factor = 1;
    for (;;) {
      const byte = body[pos++];
      if (byte === undefined) throw new Error('truncated Status');
      value += (byte & 0x7f) * factor;
      if (byte < 0x80) return value;
      factor *= 128;
    }
  };
  while (pos < body.length) {
    const tag = readVarint();
    if (tag === 0x08) code = readVarint();
    else if (tag === 0x12) {
      const length = readVarint();
      message = body.toString('utf8', pos, pos + length);
      pos += length;
    } else if ((tag & 7) === 2) pos += readVarint();
    else readVarint();
  }
  return { code, message };
}
