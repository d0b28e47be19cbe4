/**
 * Protobuf → OTLP JSON text in one pass, without building objects: members are written in wire
 * order (the order the exporters encode them). Cases that need protobuf's merge semantics (a field
 * sent twice, interleaved repeated elements, several oneof members) are rare and are handed to the
 * object decoder in decode.ts by throwing `Fallback`.
 */
import type { FieldSpec, MessageSpec } from './schema.js';

/** The fast path cannot express this body; the caller uses the general decoder. */
export class Fallback extends Error {}

/** A per-item problem (wrong id length): the item is rejected, the request partially succeeds. */
export class ItemProblem extends Error {}

/** The body is malformed; `where` is filled on the way out. */
export class WireProblem extends Error {
  readonly path: string[] = [];
}

const MAX_DEPTH = 64;

export interface Tally {
  accepted: number;
  rejected: number;
  rejection: string | undefined;
}

interface Compiled {
  readonly spec: MessageSpec;
  /** Compiled message of each field (by declaration index), filled on first use. */
  readonly children: (Compiled | undefined)[];
  /** Field index (declaration order) by field number. */
  readonly indexByNumber: Int16Array;
  /** `"name":` for each field, in declaration order. */
  readonly prefixes: readonly string[];
}

const compiledCache = new Map<MessageSpec, Compiled>();

function compile(spec: MessageSpec): Compiled {
  let compiled = compiledCache.get(spec);
  if (compiled) return compiled;
  let max = 0;
  for (const field of spec.fields) max = Math.max(max, field.no);
  const indexByNumber = new Int16Array(max + 1).fill(-1);
  spec.fields.forEach((field, index) => (indexByNumber[field.no] = index));
  compiled = { spec, children: [], indexByNumber, prefixes: spec.fields.map((field) => `"${field.name}":`) };
  compiledCache.set(spec, compiled);
  return compiled;
}

let buf: Buffer = Buffer.alloc(0);
let pos = 0;

function malformed(): never {
  throw new WireProblem(`protobuf body is truncated or malformed at byte ${pos}`);
}

/** Varint as a number below 2^53, else a bigint. */
function varint(end: number): number | bigint {
  let value = 0;
  let multiplier = 1;
  for (let index = 0; index < 7; index++) {
    if (pos >= end) malformed();
    const byte = buf[pos++]!;
    value += (byte & 0x7f) * multiplier;
    if (byte < 0x80) return value;
    multiplier *= 128;
  }
  let big = BigInt(value);
  let shift = 49n;
  for (let index = 7; index < 10; index++) {
    if (pos >= end) malformed();
    const byte = buf[pos++]!;
    big += BigInt(byte & 0x7f) << shift;
    if (byte < 0x80) return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : BigInt.asUintN(64, big);
    shift += 7n;
  }
  throw new WireProblem(`protobuf varint longer than 10 bytes at byte ${pos}`);
}

function length(end: number): number {
  const value = varint(end);
  if (typeof value !== 'number' || pos + value > end) malformed();
  return value;
}

function skip(wireType: number, end: number): void {
  if (wireType === 0) varint(end);
  else if (wireType === 1) pos += 8;
  else if (wireType === 2) pos += length(end);
  else if (wireType === 5) pos += 4;
  else throw new WireProblem(`unsupported protobuf wire type ${wireType} at byte ${pos}`);
  if (pos > end) malformed();
}

function wireTypeOf(field: FieldSpec): number {
  switch (field.kind) {
    case 'string':
    case 'bytes':
    case 'traceId':
    case 'spanId':
    case 'message':
      return 2;
    case 'fixed64':
    case 'sfixed64':
    case 'double':
      return 1;
    case 'fixed32':
      return 5;
    default:
      return 0;
  }
}

const EMPTY = Buffer.alloc(0);
const HEX = Buffer.from('0123456789abcdef', 'latin1');
const E9 = 1_000_000_000;
// (2^16 · 2^32) mod 1e9 and 2^32 mod 1e9, for the exact remainder below.
const HIGH16_MOD = (65536 * 294967296) % E9;
const TWO32_MOD = 294967296;

/**
 * The decimal digits of the unsigned 64-bit integer `high · 2^32 + low`, exactly, with Number
 * arithmetic only (a BigInt per timestamp costs more than the rest of a span).
 * @example
 * uint64Decimal(0x1573b0bd, 0x3ad6c715) // '1545046183013369621'
 */
export function uint64Decimal(high: number, low: number): string {
  if (high < 0x200000) return String(high * 4294967296 + low);
  // Remainder modulo 1e9, exact: every product stays below 2^53.
  const hh = Math.floor(high / 65536);
  const hl = high % 65536;
  const remainder = (((hh * HIGH16_MOD) % E9) + ((hl * TWO32_MOD) % E9) + (low % E9)) % E9;
  // The quotient is below 2^35; the double approximation of the value is off by far less than
  // 1e9, so rounding recovers it exactly.
  const quotient = Math.round((high * 4294967296 + low - remainder) / E9);
  const tail = String(remainder);
  return `${quotient}${'000000000'.slice(tail.length)}${tail}`;
}

// The JSON is written as bytes into one growing buffer, reused across requests (decoding is
// synchronous, so requests never interleave here); the caller receives a copy.
let o = Buffer.allocUnsafe(1 << 20);
let op = 0;

function ensure(extra: number): void {
  if (op + extra <= o.length) return;
  const bigger = Buffer.allocUnsafe(Math.max(o.length * 2, op + extra));
  o.copy(bigger, 0, 0, op);
  o = bigger;
}

/** ASCII text (names, digits) into the output. */
function ascii(text: string): void {
  ensure(text.length);
  for (let index = 0; index < text.length; index++) o[op++] = text.charCodeAt(index);
}

function quotedAscii(text: string): void {
  ensure(text.length + 2);
  o[op++] = 0x22;
  for (let index = 0; index < text.length; index++) o[op++] = text.charCodeAt(index);
  o[op++] = 0x22;
}

/** Writes one scalar; returns true when it was the field's default value (zero, empty, false). */
function scalar(field: FieldSpec, end: number): boolean {
  switch (field.kind) {
    case 'string': {
      const size = length(end);
      const start = pos;
      pos += size;
      // Plain ASCII without quotes, backslashes or control characters is copied as it is,
      // byte by byte while checking (short strings: cheaper than Buffer#copy).
      ensure(size + 2);
      const mark = op;
      o[op++] = 0x22;
      let plain = true;
      for (let index = start; index < pos; index++) {
        const byte = buf[index]!;
        if (byte < 0x20 || byte === 0x22 || byte === 0x5c || byte > 0x7e) {
          plain = false;
          break;
        }
        o[op++] = byte;
      }
      if (plain) o[op++] = 0x22;
      else {
        op = mark;
        // toString replaces invalid UTF-8; JSON.stringify escapes what must be escaped.
        const text = JSON.stringify(buf.toString('utf8', start, pos));
        ensure(Buffer.byteLength(text) + 1);
        op += o.write(text, op, 'utf8');
      }
      return size === 0;
    }
    case 'bytes': {
      const size = length(end);
      const start = pos;
      pos += size;
      quotedAscii(buf.toString('base64', start, pos));
      return size === 0;
    }
    case 'traceId':
    case 'spanId': {
      const size = length(end);
      const expected = field.kind === 'traceId' ? 16 : 8;
      if (size !== expected && size !== 0) throw new ItemProblem(`${field.name} must be ${expected} bytes (got ${size})`);
      ensure(size * 2 + 2);
      o[op++] = 0x22;
      for (let index = pos; index < pos + size; index++) {
        const byte = buf[index]!;
        o[op++] = HEX[byte >>> 4]!;
        o[op++] = HEX[byte & 15]!;
      }
      o[op++] = 0x22;
      pos += size;
      return size === 0;
    }
    case 'fixed64':
    case 'sfixed64':
    case 'double': {
      if (pos + 8 > end) malformed();
      const at = pos;
      pos += 8;
      if (field.kind === 'double') {
        const value = buf.readDoubleLE(at);
        if (Number.isFinite(value)) ascii(String(value));
        else quotedAscii(Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity');
        return value === 0;
      }
      const low = buf.readUInt32LE(at);
      const high = buf.readUInt32LE(at + 4);
      if (field.kind === 'sfixed64' && high >= 0x80000000) quotedAscii(String(buf.readBigInt64LE(at)));
      else quotedAscii(uint64Decimal(high, low));
      return low === 0 && high === 0;
    }
    case 'fixed32': {
      if (pos + 4 > end) malformed();
      const value = buf.readUInt32LE(pos);
      pos += 4;
      ascii(String(value));
      return value === 0;
    }
    default: {
      const value = varint(end);
      switch (field.kind) {
        case 'bool':
          ascii(value !== 0 ? 'true' : 'false');
          return value === 0;
        case 'uint32': {
          const number = typeof value === 'bigint' ? Number(BigInt.asUintN(32, value)) : value >>> 0;
          ascii(String(number));
          return number === 0;
        }
        case 'int32':
        case 'enum': {
          const number = typeof value === 'bigint' ? Number(BigInt.asIntN(32, value)) : value | 0;
          ascii(String(number));
          return number === 0;
        }
        case 'sint32': {
          const n = typeof value === 'bigint' ? Number(BigInt.asUintN(32, value)) : value >>> 0;
          const number = (n >>> 1) ^ -(n & 1);
          ascii(String(number));
          return number === 0;
        }
        case 'uint64':
          quotedAscii(String(value));
          return value === 0;
        case 'int64':
          quotedAscii(typeof value === 'bigint' ? String(BigInt.asIntN(64, value)) : String(value));
          return value === 0;
        default:
          throw new Fallback(`unhandled kind ${field.kind}`);
      }
    }
  }
}

/**
 * Writes the message in [pos, end) as a JSON object, members in wire order. A field sent twice
 * (or a repeated field whose elements are not contiguous) needs merge semantics: `Fallback`.
 */
function message(compiled: Compiled, end: number, depth: number, tally: Tally): void {
  if (depth > MAX_DEPTH) throw new WireProblem(`nesting deeper than ${MAX_DEPTH} levels`);
  const { spec, indexByNumber, prefixes } = compiled;
  const fields = spec.fields;
  ensure(1);
  o[op++] = 0x7b;
  let first = true;
  let seen = 0;
  /** Index of the repeated field whose array is open, or -1. */
  let open = -1;
  while (pos < end) {
    let tag = buf[pos]!;
    if (tag < 0x80) pos += 1;
    else {
      const wide = varint(end);
      if (typeof wide !== 'number' || wide > 0xffffffff) throw new WireProblem(`invalid protobuf tag at byte ${pos}`);
      tag = wide;
    }
    const number = tag >>> 3;
    const wireType = tag & 7;
    const index = number < indexByNumber.length ? indexByNumber[number]! : -1;
    if (index < 0) {
      if (number === 0) throw new WireProblem(`invalid protobuf field number 0 at byte ${pos}`);
      skip(wireType, end);
      continue;
    }
    const field = fields[index]!;
    const bit = 1 << index;
    try {
      if (field.repeated) {
        const child = field.kind === 'message' ? (compiled.children[index] ??= compile(field.message!())) : undefined;
        if (open !== index) {
          if (seen & bit) throw new Fallback('repeated field elements are not contiguous');
          seen |= bit;
          ensure(2);
          if (open !== -1) o[op++] = 0x5d;
          open = index;
          if (!first) o[op++] = 0x2c;
          first = false;
          ascii(prefixes[index]!);
          ensure(1);
          o[op++] = 0x5b;
          repeatedElements(field, child, wireType, end, depth, tally, true);
        } else repeatedElements(field, child, wireType, end, depth, tally, false);
        continue;
      }
      if (seen & bit) throw new Fallback('singular field sent twice (merge)');
      if (spec.oneof && seen !== 0) throw new Fallback('several members of a oneof');
      seen |= bit;
      if (open !== -1) {
        ensure(1);
        o[op++] = 0x5d;
        open = -1;
      }
      const mark = op;
      ensure(1);
      if (!first) o[op++] = 0x2c;
      ascii(prefixes[index]!);
      if (field.kind === 'message') {
        if (wireType !== 2) throw new WireProblem(`wire type ${wireType} where a message was expected`);
        const size = length(end);
        const stop = pos + size;
        message((compiled.children[index] ??= compile(field.message!())), stop, depth + 1, tally);
        first = false;
        continue;
      }
      const expected = wireTypeOf(field);
      if (wireType !== expected) throw new WireProblem(`wire type ${wireType} where ${expected} was expected`);
      // proto3 omits fields at their default value (except oneof members and `optional` fields).
      if (scalar(field, end) && !field.presence) op = mark;
      else first = false;
    } catch (error) {
      if (error instanceof WireProblem) error.path.unshift(`.${field.name}`);
      throw error;
    }
  }
  if (pos !== end) malformed();
  ensure(2);
  if (open !== -1) o[op++] = 0x5d;
  o[op++] = 0x7d;
}

/** Elements of a repeated field at `pos` (one message, one scalar or a packed run). */
function repeatedElements(field: FieldSpec, child: Compiled | undefined, wireType: number, end: number, depth: number, tally: Tally, firstElement: boolean): void {
  if (field.kind === 'message') {
    if (wireType !== 2) throw new WireProblem(`wire type ${wireType} where a message was expected`);
    const size = length(end);
    const stop = pos + size;
    const mark = op;
    ensure(1);
    if (!firstElement) o[op++] = 0x2c;
    if (!field.countsItems) {
      message(child!, stop, depth + 1, tally);
      return;
    }
    try {
      message(child!, stop, depth + 1, tally);
      tally.accepted += 1;
    } catch (error) {
      if (!(error instanceof ItemProblem)) throw error;
      tally.rejected += 1;
      tally.rejection ??= `${field.message!().name}: ${error.message}`;
      pos = stop;
      op = mark;
      // The list would start with a separator: let the general decoder write it.
      if (firstElement) throw new Fallback('first element of a list rejected');
    }
    return;
  }
  const expected = wireTypeOf(field);
  if (wireType === 2 && expected !== 2) {
    const size = length(end);
    const stop = pos + size;
    let first = firstElement;
    while (pos < stop) {
      ensure(1);
      if (!first) o[op++] = 0x2c;
      first = false;
      scalar(field, stop);
    }
    if (pos !== stop) malformed();
    if (first) throw new Fallback('empty packed run');
    return;
  }
  if (wireType !== expected) throw new WireProblem(`wire type ${wireType} where ${expected} was expected`);
  ensure(1);
  if (!firstElement) o[op++] = 0x2c;
  scalar(field, end);
}

/**
 * Decodes a protobuf request into one OTLP JSON line, with the newline.
 * @throws Fallback when the general decoder must handle the body; WireProblem when it is malformed.
 */
export function protobufToJsonLine(spec: MessageSpec, body: Buffer, tally: Tally): Buffer {
  buf = body;
  pos = 0;
  op = 0;
  try {
    message(compile(spec), body.length, 0, tally);
    ensure(1);
    o[op++] = 0x0a;
    return Buffer.from(o.subarray(0, op));
  } finally {
    buf = EMPTY;
    // Do not keep a huge buffer alive after one exceptional request.
    if (o.length > 16 << 20) o = Buffer.allocUnsafe(1 << 20);
  }
}
