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
  compiled = { spec, indexByNumber, prefixes: spec.fields.map((field) => `"${field.name}":`) };
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

const DEFAULT_SCALARS = new Set(['0', '""', 'false', '"0"']);
const EMPTY = Buffer.alloc(0);

/** One scalar as JSON text. */
function scalar(field: FieldSpec, end: number): string {
  switch (field.kind) {
    case 'string': {
      const size = length(end);
      const start = pos;
      pos += size;
      const text = buf.toString('utf8', start, pos);
      return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`;
    }
    case 'bytes': {
      const size = length(end);
      const start = pos;
      pos += size;
      return `"${buf.toString('base64', start, pos)}"`;
    }
    case 'traceId':
    case 'spanId': {
      const size = length(end);
      const expected = field.kind === 'traceId' ? 16 : 8;
      if (size !== expected && size !== 0) throw new ItemProblem(`${field.name} must be ${expected} bytes (got ${size})`);
      const start = pos;
      pos += size;
      return `"${buf.toString('hex', start, pos)}"`;
    }
    case 'fixed64':
    case 'sfixed64':
    case 'double': {
      if (pos + 8 > end) malformed();
      const at = pos;
      pos += 8;
      if (field.kind === 'double') {
        const value = buf.readDoubleLE(at);
        return Number.isFinite(value) ? String(value) : Number.isNaN(value) ? '"NaN"' : value > 0 ? '"Infinity"' : '"-Infinity"';
      }
      if (field.kind === 'sfixed64') return `"${buf.readBigInt64LE(at)}"`;
      const high = buf.readUInt32LE(at + 4);
      return high < 0x200000 ? `"${high * 4294967296 + buf.readUInt32LE(at)}"` : `"${buf.readBigUInt64LE(at)}"`;
    }
    case 'fixed32': {
      if (pos + 4 > end) malformed();
      const value = buf.readUInt32LE(pos);
      pos += 4;
      return String(value);
    }
    default: {
      const value = varint(end);
      switch (field.kind) {
        case 'bool':
          return value !== 0 ? 'true' : 'false';
        case 'uint32':
          return String(typeof value === 'bigint' ? Number(BigInt.asUintN(32, value)) : value >>> 0);
        case 'int32':
        case 'enum':
          return String(typeof value === 'bigint' ? Number(BigInt.asIntN(32, value)) : value | 0);
        case 'sint32': {
          const n = typeof value === 'bigint' ? Number(BigInt.asUintN(32, value)) : value >>> 0;
          return String((n >>> 1) ^ -(n & 1));
        }
        case 'uint64':
          return `"${value}"`;
        case 'int64':
          return typeof value === 'bigint' ? `"${BigInt.asIntN(64, value)}"` : `"${value}"`;
        default:
          throw new Fallback(`unhandled kind ${field.kind}`);
      }
    }
  }
}

const NEEDS_ESCAPE = /["\\\u0000-\u001f]/;

/** The JSON text being built; V8 concatenates strings as ropes, flattened once at the end. */
let out = '';

/**
 * Writes the message in [pos, end) as a JSON object, members in wire order. A field sent twice
 * (or a repeated field whose elements are not contiguous) needs merge semantics: `Fallback`.
 */
function message(compiled: Compiled, end: number, depth: number, tally: Tally): void {
  if (depth > MAX_DEPTH) throw new WireProblem(`nesting deeper than ${MAX_DEPTH} levels`);
  const { spec, indexByNumber, prefixes } = compiled;
  const fields = spec.fields;
  out += '{';
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
        if (open !== index) {
          if (seen & bit) throw new Fallback('repeated field elements are not contiguous');
          if (open !== -1) out += ']';
          seen |= bit;
          open = index;
          if (!first) out += ',';
          first = false;
          out += prefixes[index]!;
          out += '[';
          repeatedElements(field, wireType, end, depth, tally, true);
        } else repeatedElements(field, wireType, end, depth, tally, false);
        continue;
      }
      if (seen & bit) throw new Fallback('singular field sent twice (merge)');
      if (spec.oneof && seen !== 0) throw new Fallback('several members of a oneof');
      seen |= bit;
      if (open !== -1) {
        out += ']';
        open = -1;
      }
      if (field.kind === 'message') {
        if (wireType !== 2) throw new WireProblem(`wire type ${wireType} where a message was expected`);
        const size = length(end);
        const stop = pos + size;
        if (!first) out += ',';
        first = false;
        out += prefixes[index]!;
        message(compile(field.message!()), stop, depth + 1, tally);
        continue;
      }
      const expected = wireTypeOf(field);
      if (wireType !== expected) throw new WireProblem(`wire type ${wireType} where ${expected} was expected`);
      const text = scalar(field, end);
      if (!field.presence && DEFAULT_SCALARS.has(text)) continue;
      if (!first) out += ',';
      first = false;
      out += prefixes[index]!;
      out += text;
    } catch (error) {
      if (error instanceof WireProblem) error.path.unshift(`.${field.name}`);
      throw error;
    }
  }
  if (pos !== end) malformed();
  out += open !== -1 ? ']}' : '}';
}

/** Elements of a repeated field at `pos` (one message, one scalar or a packed run). */
function repeatedElements(field: FieldSpec, wireType: number, end: number, depth: number, tally: Tally, firstElement: boolean): void {
  if (field.kind === 'message') {
    if (wireType !== 2) throw new WireProblem(`wire type ${wireType} where a message was expected`);
    const size = length(end);
        const stop = pos + size;
    const mark = out.length;
    if (!firstElement) out += ',';
    if (!field.countsItems) {
      message(compile(field.message!()), stop, depth + 1, tally);
      return;
    }
    try {
      message(compile(field.message!()), stop, depth + 1, tally);
      tally.accepted += 1;
    } catch (error) {
      if (!(error instanceof ItemProblem)) throw error;
      tally.rejected += 1;
      tally.rejection ??= `${field.message!().name}: ${error.message}`;
      pos = stop;
      out = out.slice(0, mark);
      // The array may now be empty or start with this element's separator: fall back for exactness.
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
      if (!first) out += ',';
      first = false;
      out += scalar(field, stop);
    }
    if (pos !== stop) malformed();
    if (first) throw new Fallback('empty packed run');
    return;
  }
  if (wireType !== expected) throw new WireProblem(`wire type ${wireType} where ${expected} was expected`);
  if (!firstElement) out += ',';
  out += scalar(field, end);
}

/**
 * Decodes a protobuf request into one OTLP JSON line (without the newline).
 * @throws Fallback when the general decoder must handle the body; WireProblem when it is malformed.
 */
export function protobufToJsonText(spec: MessageSpec, body: Buffer, tally: Tally): string {
  buf = body;
  pos = 0;
  out = '';
  try {
    message(compile(spec), body.length, 0, tally);
    return out;
  } finally {
    buf = EMPTY;
    out = '';
  }
}
