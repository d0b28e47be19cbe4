/**
 * Decoding of OTLP request bodies (protobuf and JSON) into the canonical OTLP JSON object that is
 * written as one line: lower-case hex ids, 64-bit integers as decimal strings, enums as numbers,
 * OTLP JSON field names, unknown fields dropped.
 *
 * Two kinds of problems: a `BodyError` means the body as a whole does not conform (400); an
 * invalid id inside one span / log record / data point rejects only that item (partial success).
 */
import { isUtf8 } from 'node:buffer';
import { digitsFit64, scanJson } from './jsonscan.js';
import { Fallback, ItemProblem, protobufToJsonLine, WireProblem } from './protojson.js';
import type { FieldSpec, MessageSpec } from './schema.js';

/** Deep enough for every real payload; stops stack exhaustion on hostile nesting. */
const MAX_DEPTH = 64;

/** The body does not conform to the OTLP schema; the message says where. */
export class BodyError extends Error {
  readonly path: string[] = [];
  constructor(message: string) {
    super(message);
    this.name = 'BodyError';
  }
  /** The message with the location, e.g. `resourceSpans[0].scopeSpans[1].spans[4].kind: …`. */
  describe(): string {
    if (this.path.length === 0) return this.message;
    return `${this.path.join('').replace(/^\./, '')}: ${this.message}`;
  }
}

/** One span / log record / data point is invalid; the rest of the request is kept. */
class ItemError extends Error {}

export interface DecodedBody {
  /** The line to append: canonical OTLP JSON (`TracesData`, `LogsData` or `MetricsData`) and `\n`. */
  readonly line: Buffer;
  /** The line parsed back (computed on access; for tests and tools, not the request path). */
  readonly data: Record<string, unknown>;
  /** Items (spans, log records, data points) accepted. */
  readonly accepted: number;
  /** Items rejected (partial success). */
  readonly rejected: number;
  /** Why the first rejected item was rejected. */
  readonly rejection?: string;
  /** True when the body was already canonical and is written exactly as it came. */
  readonly canonical: boolean;
}

const NEWLINE = Buffer.from('\n');

function decoded(line: Buffer, tally: { accepted: number; rejected: number; rejection: string | undefined }, canonical: boolean): DecodedBody {
  return {
    line,
    get data() {
      return JSON.parse(line.toString('utf8')) as Record<string, unknown>;
    },
    accepted: tally.accepted,
    rejected: tally.rejected,
    ...(tally.rejection ? { rejection: tally.rejection } : {}),
    canonical,
  };
}

interface Tally {
  accepted: number;
  rejected: number;
  rejection: string | undefined;
  /** The body needs re-serialising (unknown or renamed fields, nulls, enum names, rejected items…). */
  changed: boolean;
  /** 64-bit integers sent as JSON numbers (fixed in the text by quoting). */
  quoted: number;
  /** The member names of those integers. */
  quotedNames: Set<string> | undefined;
  /** Ids with upper-case hex (fixed in the text by lower-casing). */
  lowered: number;
}

function newTally(): Tally {
  return { accepted: 0, rejected: 0, rejection: undefined, changed: false, quoted: 0, quotedNames: undefined, lowered: 0 };
}

// ---------------------------------------------------------------------------------------------
// Protobuf

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

function expectedWireType(field: FieldSpec): number {
  switch (field.kind) {
    case 'string':
    case 'bytes':
    case 'traceId':
    case 'spanId':
    case 'message':
      return WIRE_LEN;
    case 'fixed64':
    case 'sfixed64':
    case 'double':
      return WIRE_FIXED64;
    case 'fixed32':
      return WIRE_FIXED32;
    default:
      return WIRE_VARINT;
  }
}

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  truncated(): never {
    throw new BodyError(`protobuf body is truncated or malformed at byte ${this.pos}`);
  }

  /** A varint as a number when below 2^53, otherwise as a bigint. */
  varint(end: number): number | bigint {
    const buf = this.buf;
    let value = 0;
    let multiplier = 1;
    for (let index = 0; index < 7; index++) {
      if (this.pos >= end) this.truncated();
      const byte = buf[this.pos++]!;
      value += (byte & 0x7f) * multiplier;
      if (byte < 0x80) return value;
      multiplier *= 128;
    }
    // More than 49 bits: finish in bigint.
    let big = BigInt(value);
    let shift = 49n;
    for (let index = 7; index < 10; index++) {
      if (this.pos >= end) this.truncated();
      const byte = buf[this.pos++]!;
      big += BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : BigInt.asUintN(64, big);
      shift += 7n;
    }
    throw new BodyError(`protobuf varint longer than 10 bytes at byte ${this.pos}`);
  }

  length(end: number): number {
    const length = this.varint(end);
    if (typeof length !== 'number' || this.pos + length > end) this.truncated();
    return length;
  }

  skip(wireType: number, end: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint(end);
        return;
      case WIRE_FIXED64:
        this.pos += 8;
        break;
      case WIRE_LEN:
        this.pos += this.length(end);
        break;
      case WIRE_FIXED32:
        this.pos += 4;
        break;
      default:
        throw new BodyError(`unsupported protobuf wire type ${wireType} at byte ${this.pos}`);
    }
    if (this.pos > end) this.truncated();
  }
}

function doubleToJson(value: number): number | string {
  if (Number.isFinite(value)) return value;
  return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
}

function idToHex(reader: Reader, length: number, expected: number, kind: string): string {
  if (length !== expected && length !== 0) {
    throw new ItemError(`${kind} must be ${expected} bytes (got ${length})`);
  }
  const start = reader.pos;
  reader.pos += length;
  return reader.buf.toString('hex', start, start + length);
}

/** Reads one scalar of `field` whose wire type has been checked. */
function readScalar(reader: Reader, field: FieldSpec, end: number): unknown {
  const buf = reader.buf;
  switch (field.kind) {
    case 'string': {
      const length = reader.length(end);
      const start = reader.pos;
      reader.pos += length;
      return buf.toString('utf8', start, start + length);
    }
    case 'bytes': {
      const length = reader.length(end);
      const start = reader.pos;
      reader.pos += length;
      return buf.toString('base64', start, start + length);
    }
    case 'traceId':
      return idToHex(reader, reader.length(end), 16, 'traceId');
    case 'spanId':
      return idToHex(reader, reader.length(end), 8, field.name);
    case 'fixed64':
    case 'sfixed64':
    case 'double': {
      if (reader.pos + 8 > end) reader.truncated();
      const at = reader.pos;
      reader.pos += 8;
      if (field.kind === 'double') return doubleToJson(buf.readDoubleLE(at));
      if (field.kind === 'sfixed64') return buf.readBigInt64LE(at).toString();
      const high = buf.readUInt32LE(at + 4);
      // Below 2^53 a Number is exact and much cheaper than a bigint.
      return high < 0x200000 ? String(high * 4294967296 + buf.readUInt32LE(at)) : buf.readBigUInt64LE(at).toString();
    }
    case 'fixed32': {
      if (reader.pos + 4 > end) reader.truncated();
      const value = buf.readUInt32LE(reader.pos);
      reader.pos += 4;
      return value;
    }
    default: {
      const value = reader.varint(end);
      switch (field.kind) {
        case 'bool':
          return value !== 0;
        case 'uint32':
          return typeof value === 'bigint' ? Number(BigInt.asUintN(32, value)) : value >>> 0;
        case 'int32':
        case 'enum':
          return typeof value === 'bigint' ? Number(BigInt.asIntN(32, value)) : value | 0;
        case 'sint32': {
          const n = typeof value === 'bigint' ? Number(BigInt.asUintN(32, value)) : value >>> 0;
          return (n >>> 1) ^ -(n & 1);
        }
        case 'uint64':
          return String(value);
        case 'int64':
          return typeof value === 'bigint' ? BigInt.asIntN(64, value).toString() : String(value);
        default:
          throw new BodyError(`internal: unhandled field kind ${field.kind}`);
      }
    }
  }
}

function isDefault(value: unknown, field: FieldSpec): boolean {
  if (field.kind === 'string') return value === '';
  return value === 0 || value === '' || value === false || value === '0';
}

function readMessage(reader: Reader, spec: MessageSpec, end: number, depth: number, tally: Tally): Record<string, unknown> {
  if (depth > MAX_DEPTH) throw new BodyError(`nesting deeper than ${MAX_DEPTH} levels`);
  const out: Record<string, unknown> = {};
  const buf = reader.buf;
  while (reader.pos < end) {
    let tag = buf[reader.pos]!;
    if (tag < 0x80) reader.pos += 1;
    else {
      const wide = reader.varint(end);
      if (typeof wide !== 'number' || wide > 0xffffffff) throw new BodyError(`invalid protobuf tag at byte ${reader.pos}`);
      tag = wide;
    }
    const wireType = tag & 7;
    const field = spec.byNumber[tag >>> 3];
    if (field === undefined) {
      if (tag >>> 3 === 0) throw new BodyError(`invalid protobuf field number 0 at byte ${reader.pos}`);
      reader.skip(wireType, end);
      continue;
    }
    try {
      readField(reader, spec, field, wireType, out, end, depth, tally);
    } catch (error) {
      if (error instanceof BodyError) error.path.unshift(`.${field.name}`);
      throw error;
    }
  }
  if (reader.pos !== end) reader.truncated();
  return out;
}

function readField(
  reader: Reader,
  spec: MessageSpec,
  field: FieldSpec,
  wireType: number,
  out: Record<string, unknown>,
  end: number,
  depth: number,
  tally: Tally,
): void {
  const expected = expectedWireType(field);
  if (field.kind === 'message') {
    if (wireType !== WIRE_LEN) throw new BodyError(`wire type ${wireType} where a message was expected`);
    const length = reader.length(end);
    const stop = reader.pos + length;
    const child = field.message!();
    if (!field.repeated) {
      const value = readMessage(reader, child, stop, depth + 1, tally);
      const previous = out[field.name];
      // Protobuf merges repeated occurrences of a singular message field.
      out[field.name] = previous === undefined ? value : Object.assign(previous as object, value);
      if (spec.oneof) clearOtherMembers(spec, field, out);
      return;
    }
    let items = out[field.name] as unknown[] | undefined;
    if (items === undefined) out[field.name] = items = [];
    if (!field.countsItems) {
      items.push(readMessage(reader, child, stop, depth + 1, tally));
      return;
    }
    try {
      items.push(readMessage(reader, child, stop, depth + 1, tally));
      tally.accepted += 1;
    } catch (error) {
      if (!(error instanceof ItemError)) throw error;
      tally.rejected += 1;
      tally.rejection ??= `${child.name}: ${error.message}`;
      reader.pos = stop;
    }
    return;
  }
  if (field.repeated) {
    let items = out[field.name] as unknown[] | undefined;
    if (items === undefined) out[field.name] = items = [];
    if (wireType === WIRE_LEN && expected !== WIRE_LEN) {
      const size = reader.length(end);
      const stop = reader.pos + size;
      while (reader.pos < stop) items.push(readScalar(reader, field, stop));
      if (reader.pos !== stop) reader.truncated();
      return;
    }
    if (wireType !== expected) throw new BodyError(`wire type ${wireType} where ${expected} was expected`);
    items.push(readScalar(reader, field, end));
    return;
  }
  if (wireType !== expected) throw new BodyError(`wire type ${wireType} where ${expected} was expected`);
  const value = readScalar(reader, field, end);
  if (field.presence) {
    out[field.name] = value;
    if (spec.oneof) clearOtherMembers(spec, field, out);
  } else if (!isDefault(value, field)) out[field.name] = value;
  else if (field.name in out) delete out[field.name];
}

/** In a oneof the last member on the wire wins. */
function clearOtherMembers(spec: MessageSpec, field: FieldSpec, out: Record<string, unknown>): void {
  for (const other of spec.fields) if (other !== field && other.name in out) delete out[other.name];
}

/**
 * Decodes a protobuf `Export*ServiceRequest` body into canonical OTLP JSON. `allocate` supplies
 * the buffer of the line on the fast path (the receiver passes its buffer pool).
 * @example
 * const { data, accepted } = decodeProtobuf(TracesData, body);
 */
export function decodeProtobuf(spec: MessageSpec, body: Buffer, allocate?: (size: number) => Buffer): DecodedBody {
  const fast = newTally();
  try {
    return decoded(protobufToJsonLine(spec, body, fast, allocate), fast, false);
  } catch (error) {
    if (error instanceof WireProblem) {
      const problem = new BodyError(error.message);
      problem.path.push(...error.path);
      throw problem;
    }
    if (error instanceof ItemProblem) throw new BodyError(error.message);
    if (error instanceof RangeError) throw new BodyError(`protobuf body is malformed: ${error.message}`);
    if (!(error instanceof Fallback)) throw error;
  }
  return decodeProtobufObjects(spec, body);
}

/** The general protobuf decoder (objects, then JSON.stringify); handles merges of repeated messages. */
export function decodeProtobufObjects(spec: MessageSpec, body: Buffer): DecodedBody {
  const tally = newTally();
  const reader = new Reader(body);
  let data: Record<string, unknown>;
  try {
    data = readMessage(reader, spec, body.length, 0, tally);
  } catch (error) {
    if (error instanceof ItemError) throw new BodyError(error.message);
    if (error instanceof RangeError) throw new BodyError(`protobuf body is malformed: ${error.message}`);
    throw error;
  }
  return decoded(Buffer.from(`${JSON.stringify(data)}\n`, 'utf8'), tally, false);
}

// ---------------------------------------------------------------------------------------------
// JSON

const HEX_LOWER_32 = /^[0-9a-f]{32}$/;
const HEX_LOWER_16 = /^[0-9a-f]{16}$/;
const HEX_ANY = /^[0-9a-fA-F]*$/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
const UNSIGNED = /^\d+$/;
const SIGNED = /^-?\d+$/;

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

function jsonId(value: unknown, bytes: number, name: string, tally: Tally): string {
  if (typeof value !== 'string') throw new BodyError(`expected a hex string, got ${typeName(value)}`);
  if (value.length === 0) return value;
  if (value.length === bytes * 2) {
    if ((bytes === 16 ? HEX_LOWER_32 : HEX_LOWER_16).test(value)) return value;
    if (HEX_ANY.test(value)) {
      tally.lowered += 1;
      return value.toLowerCase();
    }
  }
  // Generic proto3 JSON printers write bytes as base64; accept that spelling of an id too.
  if (!HEX_ANY.test(value) && BASE64.test(value)) {
    const decoded = Buffer.from(value, 'base64');
    if (decoded.length === bytes) {
      tally.changed = true;
      return decoded.toString('hex');
    }
  }
  throw new ItemError(`${name} must be ${bytes * 2} hex characters (got ${JSON.stringify(value.slice(0, 80))})`);
}

function jsonInteger(value: unknown, field: FieldSpec, tally: Tally): number {
  let number = value;
  if (typeof value === 'string' && SIGNED.test(value)) {
    number = Number(value);
    tally.changed = true;
  }
  if (typeof number !== 'number' || !Number.isInteger(number)) throw new BodyError(`expected an integer, got ${typeName(value)}`);
  if (field.kind !== 'int32' && field.kind !== 'sint32' && field.kind !== 'enum' && number < 0) throw new BodyError(`expected a non-negative integer, got ${number}`);
  if (number > 0xffffffff || number < -0x80000000) throw new BodyError(`integer ${number} does not fit 32 bits`);
  return number;
}

function jsonInt64(value: unknown, signed: boolean, tally: Tally, name: string): string {
  const outOfRange = (got: string): BodyError =>
    new BodyError(`${signed ? '' : 'unsigned '}64-bit integer out of range (${signed ? '-9223372036854775808 to 9223372036854775807' : '0 to 18446744073709551615'}), got ${got}`);
  if (typeof value === 'string' && (signed ? SIGNED : UNSIGNED).test(value)) {
    if (value.length > 20) throw outOfRange(`"${value}"`);
    const negative = value.startsWith('-');
    // Fewer digits than the limit always fit (every 19-digit unsigned nanosecond time among them).
    if (value.length - (negative ? 1 : 0) < (signed ? 19 : 20)) return value;
    if (digitsFit64(Buffer.from(value, 'latin1'), negative ? 1 : 0, value.length, signed, negative)) return value;
    throw outOfRange(`"${value}"`);
  }
  if (typeof value === 'number' && Number.isInteger(value) && (signed || value >= 0)) {
    // Bare numbers of 16+ digits arrive here as strings (see quoteLongIntegers); this catches
    // smaller spellings of huge values such as 1e20.
    const big = BigInt(value);
    if (signed ? big < -(2n ** 63n) || big >= 2n ** 63n : big >= 2n ** 64n) throw outOfRange(String(value));
    tally.quoted += 1;
    (tally.quotedNames ??= new Set()).add(name);
    return Number.isSafeInteger(value) ? String(value) : big.toString();
  }
  throw new BodyError(`expected a ${signed ? '' : 'non-negative '}64-bit integer, got ${typeName(value)}`);
}

function jsonScalar(value: unknown, field: FieldSpec, tally: Tally): unknown {
  switch (field.kind) {
    case 'string':
      if (typeof value !== 'string') throw new BodyError(`expected a string, got ${typeName(value)}`);
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw new BodyError(`expected true or false, got ${typeName(value)}`);
      return value;
    case 'traceId':
      return jsonId(value, 16, 'traceId', tally);
    case 'spanId':
      return jsonId(value, 8, field.name, tally);
    case 'bytes':
      if (typeof value !== 'string' || !BASE64.test(value)) throw new BodyError(`expected base64, got ${typeName(value)}`);
      return value;
    case 'uint64':
    case 'fixed64':
      return jsonInt64(value, false, tally, field.name);
    case 'int64':
    case 'sfixed64':
      return jsonInt64(value, true, tally, field.name);
    case 'double':
      if (typeof value === 'number') return value;
      if (value === 'NaN' || value === 'Infinity' || value === '-Infinity') return value;
      if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) {
        tally.changed = true;
        return Number(value);
      }
      throw new BodyError(`expected a number, got ${typeName(value)}`);
    case 'enum':
      if (typeof value === 'string' && field.enumNames && value in field.enumNames) {
        tally.changed = true;
        return field.enumNames[value];
      }
      return jsonInteger(value, field, tally);
    default:
      return jsonInteger(value, field, tally);
  }
}

function normaliseMessage(spec: MessageSpec, object: unknown, depth: number, tally: Tally): Record<string, unknown> {
  if (typeof object !== 'object' || object === null || Array.isArray(object)) {
    throw new BodyError(`expected a ${spec.name} object, got ${typeName(object)}`);
  }
  if (depth > MAX_DEPTH) throw new BodyError(`nesting deeper than ${MAX_DEPTH} levels`);
  const record = object as Record<string, unknown>;
  let members = 0;
  for (const key in record) {
    const field = spec.byName.get(key);
    if (field === undefined) {
      // Unknown fields are ignored, as the specification requires; they are not written.
      delete record[key];
      tally.changed = true;
      continue;
    }
    const value = record[key];
    if (field.name !== key) {
      delete record[key];
      tally.changed = true;
      if (field.name in record) continue; // the lowerCamelCase spelling wins
    }
    if (value === null) {
      // proto3 JSON: null means the default value.
      delete record[field.name];
      tally.changed = true;
      continue;
    }
    members += 1;
    try {
      const normalised = normaliseField(field, value, depth, tally);
      if (normalised !== value || field.name !== key) record[field.name] = normalised;
    } catch (error) {
      if (error instanceof BodyError) error.path.unshift(`.${field.name}`);
      throw error;
    }
  }
  if (spec.oneof && members > 1) {
    throw new BodyError(`${spec.name} must hold exactly one value (got ${Object.keys(record).join(', ')})`);
  }
  return record;
}

function normaliseField(field: FieldSpec, value: unknown, depth: number, tally: Tally): unknown {
  if (!field.repeated) {
    return field.kind === 'message' ? normaliseMessage(field.message!(), value, depth + 1, tally) : jsonScalar(value, field, tally);
  }
  if (!Array.isArray(value)) throw new BodyError(`expected an array, got ${typeName(value)}`);
  if (field.kind !== 'message') {
    for (let index = 0; index < value.length; index++) {
      const item: unknown = value[index];
      try {
        const normalised = jsonScalar(item, field, tally);
        if (normalised !== item) {
          value[index] = normalised;
          tally.changed = true; // list items are not fixed in the text
        }
      } catch (error) {
        if (error instanceof BodyError) error.path.unshift(`[${index}]`);
        throw error;
      }
    }
    return value;
  }
  const child = field.message!();
  let kept: unknown[] | undefined;
  for (let index = 0; index < value.length; index++) {
    try {
      normaliseMessage(child, value[index], depth + 1, tally);
      if (field.countsItems) tally.accepted += 1;
      kept?.push(value[index]);
    } catch (error) {
      if (error instanceof BodyError) {
        error.path.unshift(`[${index}]`);
        throw error;
      }
      if (!(error instanceof ItemError) || !field.countsItems) throw error;
      tally.rejected += 1;
      tally.rejection ??= `${child.name} [${index}]: ${error.message}`;
      tally.changed = true;
      kept ??= value.slice(0, index);
    }
  }
  return kept ?? value;
}

// A bare JSON number of 16+ digits loses precision in JSON.parse; int64 fields written that way
// are quoted before parsing so that nanosecond timestamps survive exactly.
const LONG_NUMBER = /[:[,]\s*-?\d{16}/;
const INT64_MEMBER =
  /("(?:timeUnixNano|startTimeUnixNano|endTimeUnixNano|observedTimeUnixNano|intValue|asInt|count|zeroCount|time_unix_nano|start_time_unix_nano|end_time_unix_nano|observed_time_unix_nano|int_value|as_int|zero_count)"\s*:\s*)(-?\d+)(?=\s*[,}\]])/g;
const INT64_ARRAY = /("(?:bucketCounts|bucket_counts)"\s*:\s*\[)([\d\s,]*)\]/g;

function quoteLongIntegers(text: string): string {
  return text
    .replace(INT64_MEMBER, (_match, head: string, digits: string) => `${head}"${digits}"`)
    .replace(INT64_ARRAY, (_match, head: string, items: string) => `${head}${items.replace(/\d+/g, (digits) => `"${digits}"`)}]`);
}

/**
 * Parses and normalises an OTLP JSON body into canonical OTLP JSON. `allocate` supplies the
 * buffer of the line on the fast path (the receiver passes its buffer pool).
 * @example
 * const { data, canonical } = decodeJson(TracesData, body);
 */
export function decodeJson(spec: MessageSpec, body: Buffer, allocate?: (size: number) => Buffer): DecodedBody {
  const fast = scanJson(spec, body, allocate);
  if (fast) return decoded(fast.line, { accepted: fast.items, rejected: 0, rejection: undefined }, fast.line.length === body.length + 1);
  const tally = newTally();
  let text = body.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) {
    text = text.slice(1);
    tally.changed = true;
  }
  if (LONG_NUMBER.test(text)) {
    const quoted = quoteLongIntegers(text);
    if (quoted !== text) tally.changed = true;
    text = quoted;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new BodyError(`body is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  let data: Record<string, unknown>;
  try {
    data = normaliseMessage(spec, parsed, 0, tally);
  } catch (error) {
    if (error instanceof ItemError) throw new BodyError(error.message);
    if (error instanceof RangeError) throw new BodyError(`body is too deeply nested (${error.message})`);
    throw error;
  }
  const line = tally.changed ? undefined : patchedLine(body, tally);
  if (line) return decoded(line, tally, tally.quoted === 0 && tally.lowered === 0);
  return decoded(Buffer.from(`${JSON.stringify(data)}\n`, 'utf8'), tally, false);
}

const UPPER_ID_MEMBER = /("(?:traceId|spanId|parentSpanId)"[ \t]*:[ \t]*")([0-9a-fA-F]*[A-F][0-9a-fA-F]*)"/g;
const QUOTE = Buffer.from('"');

/** Offsets of the integers written as bare numbers after `"name":` (where quotes go in). */
function bareIntegers(body: Buffer, name: string, into: number[]): void {
  const key = Buffer.from(`"${name}":`, 'latin1');
  // A key never occurs inside a JSON string: there its quotes would be escaped.
  for (let at = body.indexOf(key); at !== -1; at = body.indexOf(key, at + key.length)) {
    let index = at + key.length;
    while (body[index] === 0x20 || body[index] === 0x09) index += 1;
    const start = index;
    if (body[index] === 0x2d) index += 1;
    while (index < body.length && body[index]! >= 0x30 && body[index]! <= 0x39) index += 1;
    if (index === start || (index === start + 1 && body[start] === 0x2d)) continue;
    let next = index;
    while (body[next] === 0x20 || body[next] === 0x09) next += 1;
    const after = body[next];
    if (after !== 0x2c && after !== 0x7d && after !== 0x5d) continue;
    into.push(start, index);
  }
}

/**
 * The body itself as the line, when it is one line of valid UTF-8 whose only differences from
 * canonical OTLP JSON are 64-bit integers written as numbers and upper-case ids: those are fixed
 * in the bytes, which is much cheaper than re-serialising. The number of fixes must equal what the
 * schema walk found, otherwise (e.g. `1e3` as an int64) the caller re-serialises.
 */
function patchedLine(body: Buffer, tally: Tally): Buffer | undefined {
  if (body.indexOf(10) !== -1 || body.indexOf(13) !== -1 || !isUtf8(body)) return undefined;
  let line = body;
  if (tally.quoted > 0) {
    const offsets: number[] = [];
    for (const name of tally.quotedNames ?? []) bareIntegers(body, name, offsets);
    if (offsets.length !== tally.quoted * 2) return undefined;
    if ((tally.quotedNames?.size ?? 0) > 1) {
      const pairs: [number, number][] = [];
      for (let index = 0; index < offsets.length; index += 2) pairs.push([offsets[index]!, offsets[index + 1]!]);
      pairs.sort((a, b) => a[0] - b[0]);
      offsets.length = 0;
      for (const [start, stop] of pairs) offsets.push(start, stop);
    }
    const pieces: Buffer[] = [];
    let cursor = 0;
    for (const offset of offsets) {
      pieces.push(body.subarray(cursor, offset), QUOTE);
      cursor = offset;
    }
    pieces.push(body.subarray(cursor));
    line = Buffer.concat(pieces, body.length + offsets.length);
  }
  if (tally.lowered > 0) {
    // Rare (the OpenTelemetry SDKs send lower case): fix in a latin1 view, which maps bytes 1:1.
    let lowered = 0;
    const text = line.toString('latin1').replace(UPPER_ID_MEMBER, (_match, head: string, hex: string) => {
      lowered += 1;
      return `${head}${hex.toLowerCase()}"`;
    });
    if (lowered !== tally.lowered) return undefined;
    line = Buffer.from(text, 'latin1');
  }
  return Buffer.concat([line, NEWLINE], line.length + 1);
}
