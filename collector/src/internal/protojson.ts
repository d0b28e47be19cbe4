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

// Field kinds as small integers: the writer switches on them (comparing kind strings of field
// objects of several shapes made every field access polymorphic).
const K_STRING = 0;
const K_BYTES = 1;
const K_TRACE_ID = 2;
const K_SPAN_ID = 3;
const K_FIXED64 = 4;
const K_SFIXED64 = 5;
const K_DOUBLE = 6;
const K_FIXED32 = 7;
const K_BOOL = 8;
const K_UINT32 = 9;
const K_INT32 = 10;
const K_SINT32 = 11;
const K_UINT64 = 12;
const K_INT64 = 13;
const K_MESSAGE = 14;

function kindCode(field: FieldSpec): number {
  switch (field.kind) {
    case 'string':
      return K_STRING;
    case 'bytes':
      return K_BYTES;
    case 'traceId':
      return K_TRACE_ID;
    case 'spanId':
      return K_SPAN_ID;
    case 'fixed64':
      return K_FIXED64;
    case 'sfixed64':
      return K_SFIXED64;
    case 'double':
      return K_DOUBLE;
    case 'fixed32':
      return K_FIXED32;
    case 'bool':
      return K_BOOL;
    case 'uint32':
      return K_UINT32;
    case 'int32':
    case 'enum':
      return K_INT32;
    case 'sint32':
      return K_SINT32;
    case 'uint64':
      return K_UINT64;
    case 'int64':
      return K_INT64;
    case 'message':
      return K_MESSAGE;
    default:
      throw new Error(`unhandled field kind ${String(field.kind)}`);
  }
}

interface Compiled {
  readonly spec: MessageSpec;
  /** Compiled message of each field (by declaration index; undefined for scalars). */
  readonly children: (Compiled | undefined)[];
  /** Field index (declaration order) by field number. */
  readonly indexByNumber: Int16Array;
  /** `"name":` for each field, in declaration order, as bytes. */
  readonly prefixes: readonly Uint8Array[];
  /** Per field (declaration order): kind code, expected wire type, flags. */
  readonly kinds: Uint8Array;
  readonly wireTypes: Uint8Array;
  readonly repeated: Uint8Array;
  readonly presence: Uint8Array;
  readonly countsItems: Uint8Array;
}

const compiledCache = new Map<MessageSpec, Compiled>();

function compile(spec: MessageSpec): Compiled {
  let compiled = compiledCache.get(spec);
  if (compiled) return compiled;
  let max = 0;
  for (const field of spec.fields) max = Math.max(max, field.no);
  const indexByNumber = new Int16Array(max + 1).fill(-1);
  spec.fields.forEach((field, index) => (indexByNumber[field.no] = index));
  const flags = (pick: (field: FieldSpec) => number | boolean) => Uint8Array.from(spec.fields, (field) => Number(pick(field)));
  compiled = {
    spec,
    children: [],
    indexByNumber,
    prefixes: spec.fields.map((field) => Buffer.from(`"${field.name}":`, 'latin1')),
    kinds: flags(kindCode),
    wireTypes: flags(wireTypeOf),
    repeated: flags((field) => field.repeated),
    presence: flags((field) => field.presence),
    countsItems: flags((field) => field.countsItems),
  };
  compiledCache.set(spec, compiled);
  // Children compiled up front (after the cache entry, so recursive messages terminate): the
  // writer reads a packed array instead of compiling on first use.
  for (const field of spec.fields) compiled.children.push(field.kind === 'message' ? compile(field.message!()) : undefined);
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
  // One- and two-byte lengths (strings, attributes, spans) without the general varint reader.
  if (pos + 1 < end) {
    const first = buf[pos]!;
    if (first < 0x80) {
      pos += 1;
      if (pos + first > end) malformed();
      return first;
    }
    const second = buf[pos + 1]!;
    if (second < 0x80) {
      const value = (first & 0x7f) | (second << 7);
      pos += 2;
      if (pos + value > end) malformed();
      return value;
    }
  }
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
  // The writer's own digit code, so that testing this tests what the writer does.
  const saved = op;
  quotedUint64(high, low);
  const text = o.toString('latin1', saved + 1, op - 1);
  op = saved;
  return text;
}

// The JSON is written as bytes into one growing buffer: during a decode the line's own (decoding
// is synchronous, so requests never interleave here), between decodes a scratch buffer.
let o: Buffer = Buffer.allocUnsafe(1 << 20);
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

/** "00" … "99": two digits per step. */
const PAIRS = Buffer.from(Array.from({ length: 100 }, (_, index) => String(index).padStart(2, '0')).join(''), 'latin1');

/** The digits of a non-negative integer below 2^31. */
function smallDigits(value: number): void {
  let v = value | 0;
  let width = 1;
  for (let bound = 10; v >= bound && width < 10; bound *= 10) width++;
  ensure(width);
  const out = o;
  let at = op + width;
  op = at;
  while (v >= 100) {
    const quotient = (v / 100) | 0;
    const pair = (v - quotient * 100) << 1;
    out[--at] = PAIRS[pair + 1]!;
    out[--at] = PAIRS[pair]!;
    v = quotient;
  }
  if (v >= 10) {
    out[--at] = PAIRS[(v << 1) + 1]!;
    out[--at] = PAIRS[v << 1]!;
  } else out[--at] = 0x30 + v;
}

/** Exactly nine digits, zero-padded (value below 1e9). */
function nineDigits(value: number): void {
  let v = value | 0;
  ensure(9);
  const out = o;
  let at = op + 9;
  op = at;
  for (let step = 0; step < 4; step++) {
    const quotient = (v / 100) | 0;
    const pair = (v - quotient * 100) << 1;
    out[--at] = PAIRS[pair + 1]!;
    out[--at] = PAIRS[pair]!;
    v = quotient;
  }
  out[--at] = 0x30 + v;
}

/** The digits of a non-negative safe integer. */
function safeDigits(value: number): void {
  if (value < 0x80000000) return smallDigits(value);
  const high = Math.floor(value / E9);
  if (high < 0x80000000) smallDigits(high);
  else safeDigits(high);
  nineDigits(value - high * E9);
}

// The high word of the timestamps in one request rarely changes: its share of the remainder
// modulo 1e9 is computed once per distinct high word.
let cachedHigh = -1;
let cachedHighRemainder = 0;

/** `"<digits>"` of the unsigned 64-bit integer `high · 2^32 + low` (see uint64Decimal). */
function quotedUint64(high: number, low: number): void {
  ensure(1);
  o[op++] = 0x22;
  if (high < 0x200000) safeDigits(high * 4294967296 + low);
  else {
    if (high !== cachedHigh) {
      const hh = Math.floor(high / 65536);
      const hl = high % 65536;
      cachedHighRemainder = (((hh * HIGH16_MOD) % E9) + ((hl * TWO32_MOD) % E9)) % E9;
      cachedHigh = high;
    }
    let remainder = cachedHighRemainder + (low - Math.floor(low / E9) * E9);
    if (remainder >= E9) remainder -= E9;
    safeDigits(Math.round((high * 4294967296 + low - remainder) / E9));
    nineDigits(remainder);
  }
  ensure(1);
  o[op++] = 0x22;
}

/** A 32-bit integer as JSON number. */
function int32Digits(value: number): void {
  if (value < 0) {
    ensure(1);
    o[op++] = 0x2d;
    value = -value;
  }
  safeDigits(value);
}

/** `"name":` (pre-encoded) into the output. */
function prefix(bytes: Uint8Array): void {
  const size = bytes.length;
  ensure(size + 1);
  const out = o;
  let at = op;
  for (let index = 0; index < size; index++) out[at++] = bytes[index]!;
  op = at;
}

/** Writes one scalar; returns true when it was the field's default value (zero, empty, false). */
function scalar(kind: number, field: FieldSpec, end: number): boolean {
  switch (kind) {
    case K_STRING: {
      const size = length(end);
      const start = pos;
      pos += size;
      // Plain ASCII without quotes, backslashes or control characters is copied as it is,
      // byte by byte while checking (short strings: cheaper than Buffer#copy).
      ensure(size + 2);
      // Locals in the loop: the module-level cursor and buffers are slower to reach.
      const out = o;
      const input = buf;
      const stop = pos;
      let at = op;
      out[at++] = 0x22;
      let plain = true;
      for (let index = start; index < stop; index++) {
        const byte = input[index]!;
        if (byte < 0x20 || byte === 0x22 || byte === 0x5c || byte > 0x7e) {
          plain = false;
          break;
        }
        out[at++] = byte;
      }
      if (plain) {
        out[at++] = 0x22;
        op = at;
      } else {
        // toString replaces invalid UTF-8; JSON.stringify escapes what must be escaped.
        const text = JSON.stringify(buf.toString('utf8', start, pos));
        ensure(Buffer.byteLength(text) + 1);
        op += o.write(text, op, 'utf8');
      }
      return size === 0;
    }
    case K_BYTES: {
      const size = length(end);
      const start = pos;
      pos += size;
      quotedAscii(buf.toString('base64', start, pos));
      return size === 0;
    }
    case K_TRACE_ID:
    case K_SPAN_ID: {
      const size = length(end);
      const expected = kind === K_TRACE_ID ? 16 : 8;
      if (size !== expected && size !== 0) throw new ItemProblem(`${field.name} must be ${expected} bytes (got ${size})`);
      ensure(size * 2 + 2);
      const out = o;
      const input = buf;
      let at = op;
      out[at++] = 0x22;
      for (let index = pos; index < pos + size; index++) {
        const byte = input[index]!;
        out[at++] = HEX[byte >>> 4]!;
        out[at++] = HEX[byte & 15]!;
      }
      out[at++] = 0x22;
      op = at;
      pos += size;
      return size === 0;
    }
    case K_FIXED64:
    case K_SFIXED64:
    case K_DOUBLE: {
      if (pos + 8 > end) malformed();
      const at = pos;
      pos += 8;
      if (kind === K_DOUBLE) {
        const value = buf.readDoubleLE(at);
        if (Number.isFinite(value)) ascii(String(value));
        else quotedAscii(Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity');
        return value === 0;
      }
      const low = buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24);
      const high = (buf[at + 4]! | (buf[at + 5]! << 8) | (buf[at + 6]! << 16) | (buf[at + 7]! << 24)) >>> 0;
      if (kind === K_SFIXED64 && high >= 0x80000000) quotedAscii(String(buf.readBigInt64LE(at)));
      else quotedUint64(high, low >>> 0);
      return low === 0 && high === 0;
    }
    case K_FIXED32: {
      if (pos + 4 > end) malformed();
      const value = buf.readUInt32LE(pos);
      pos += 4;
      safeDigits(value);
      return value === 0;
    }
    default: {
      // One-byte varints (most enums, counts, booleans) without the general reader.
      let value: number | bigint;
      const first = buf[pos]!;
      if (first < 0x80 && pos < end) {
        pos += 1;
        value = first;
      } else value = varint(end);
      switch (kind) {
        case K_BOOL:
          ascii(value !== 0 ? 'true' : 'false');
          return value === 0;
        case K_UINT32: {
          const number = typeof value === 'bigint' ? Number(BigInt.asUintN(32, value)) : value >>> 0;
          safeDigits(number);
          return number === 0;
        }
        case K_INT32: {
          const number = typeof value === 'bigint' ? Number(BigInt.asIntN(32, value)) : value | 0;
          int32Digits(number);
          return number === 0;
        }
        case K_SINT32: {
          const n = typeof value === 'bigint' ? Number(BigInt.asUintN(32, value)) : value >>> 0;
          const number = (n >>> 1) ^ -(n & 1);
          int32Digits(number);
          return number === 0;
        }
        case K_UINT64:
        case K_INT64:
          // A varint that fits a safe integer is the same for both; a bigint is read as unsigned.
          if (typeof value === 'number') {
            ensure(1);
            o[op++] = 0x22;
            safeDigits(value);
            ensure(1);
            o[op++] = 0x22;
          } else quotedAscii(String(kind === K_INT64 ? BigInt.asIntN(64, value) : value));
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
  const { spec, indexByNumber, prefixes, kinds, wireTypes, repeated, presence } = compiled;
  const fields = spec.fields;
  const oneof = spec.oneof;
  ensure(1);
  o[op++] = 0x7b;
  let first = true;
  let seen = 0;
  /** Index of the repeated field whose array is open, or -1. */
  let open = -1;
  /** The field being written, for the location in error messages. */
  let current = -1;
  try {
    while (pos < end) {
      current = -1;
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
      const bit = 1 << index;
      const kind = kinds[index]!;
      current = index;
      if (repeated[index] === 1) {
        const child = kind === K_MESSAGE ? compiled.children[index]! : undefined;
        if (open !== index) {
          if (seen & bit) throw new Fallback('repeated field elements are not contiguous');
          seen |= bit;
          ensure(2);
          if (open !== -1) o[op++] = 0x5d;
          open = index;
          if (!first) o[op++] = 0x2c;
          first = false;
          prefix(prefixes[index]!);
          o[op++] = 0x5b;
          repeatedElements(compiled, index, child, wireType, end, depth, tally, true);
        } else repeatedElements(compiled, index, child, wireType, end, depth, tally, false);
        continue;
      }
      if (seen & bit) throw new Fallback('singular field sent twice (merge)');
      if (oneof && seen !== 0) throw new Fallback('several members of a oneof');
      seen |= bit;
      if (open !== -1) {
        ensure(1);
        o[op++] = 0x5d;
        open = -1;
      }
      const mark = op;
      ensure(1);
      if (!first) o[op++] = 0x2c;
      prefix(prefixes[index]!);
      if (kind === K_MESSAGE) {
        if (wireType !== 2) throw new WireProblem(`wire type ${wireType} where a message was expected`);
        const size = length(end);
        const stop = pos + size;
        message(compiled.children[index]!, stop, depth + 1, tally);
        first = false;
        continue;
      }
      const expected = wireTypes[index]!;
      if (wireType !== expected) throw new WireProblem(`wire type ${wireType} where ${expected} was expected`);
      // proto3 omits fields at their default value (except oneof members and `optional` fields).
      if (scalar(kind, fields[index]!, end) && presence[index] === 0) op = mark;
      else first = false;
    }
  } catch (error) {
    if (error instanceof WireProblem && current !== -1) error.path.unshift(`.${fields[current]!.name}`);
    throw error;
  }
  if (pos !== end) malformed();
  ensure(2);
  if (open !== -1) o[op++] = 0x5d;
  o[op++] = 0x7d;
}

/** Elements of a repeated field at `pos` (one message, one scalar or a packed run). */
function repeatedElements(compiled: Compiled, index: number, child: Compiled | undefined, wireType: number, end: number, depth: number, tally: Tally, firstElement: boolean): void {
  const kind = compiled.kinds[index]!;
  if (kind === K_MESSAGE) {
    if (wireType !== 2) throw new WireProblem(`wire type ${wireType} where a message was expected`);
    const size = length(end);
    const stop = pos + size;
    const mark = op;
    ensure(1);
    if (!firstElement) o[op++] = 0x2c;
    if (compiled.countsItems[index] === 0) {
      message(child!, stop, depth + 1, tally);
      return;
    }
    try {
      message(child!, stop, depth + 1, tally);
      tally.accepted += 1;
    } catch (error) {
      if (!(error instanceof ItemProblem)) throw error;
      tally.rejected += 1;
      tally.rejection ??= `${child!.spec.name}: ${error.message}`;
      pos = stop;
      op = mark;
      // The list would start with a separator: let the general decoder write it.
      if (firstElement) throw new Fallback('first element of a list rejected');
    }
    return;
  }
  const field = compiled.spec.fields[index]!;
  const expected = compiled.wireTypes[index]!;
  if (wireType === 2 && expected !== 2) {
    const size = length(end);
    const stop = pos + size;
    let first = firstElement;
    while (pos < stop) {
      ensure(1);
      if (!first) o[op++] = 0x2c;
      first = false;
      scalar(kind, field, stop);
    }
    if (pos !== stop) malformed();
    if (first) throw new Fallback('empty packed run');
    return;
  }
  if (wireType !== expected) throw new WireProblem(`wire type ${wireType} where ${expected} was expected`);
  ensure(1);
  if (!firstElement) o[op++] = 0x2c;
  scalar(kind, field, end);
}

/**
 * Decodes a protobuf request into one OTLP JSON line, with the newline.
 * @throws Fallback when the general decoder must handle the body; WireProblem when it is malformed.
 */
export function protobufToJsonLine(spec: MessageSpec, body: Buffer, tally: Tally, allocate: (size: number) => Buffer = Buffer.allocUnsafe): Buffer {
  buf = body;
  pos = 0;
  // Written straight into the line's own buffer (OTLP protobuf grows about 2× as JSON; `ensure`
  // grows the buffer when a body expands more), so the line is never copied.
  const scratch = o;
  o = allocate(Math.ceil(body.length * 2.5) + 4096);
  op = 0;
  try {
    message(compile(spec), body.length, 0, tally);
    ensure(1);
    o[op++] = 0x0a;
    return o.subarray(0, op);
  } finally {
    buf = EMPTY;
    o = scratch;
  }
}
