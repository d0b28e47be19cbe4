/**
 * The fast path for JSON bodies: one schema-aware pass over the bytes, without JSON.parse, that
 * validates the body and finds the 64-bit integers sent as bare numbers (to be quoted, digits kept
 * exactly). It accepts only what it can prove the general decoder (decode.ts) would accept with
 * the same meaning: one line, valid UTF-8, known lowerCamelCase fields, each at most once, no
 * nulls, lower-case ids of the right length, enums as numbers. Anything else returns undefined and
 * the general decoder runs — which also writes the precise error message.
 *
 * Written as one loop over local variables with an explicit stack: that is what makes it faster
 * than JSON.parse (which has to build every object and string).
 */
import { isUtf8 } from 'node:buffer';
import type { FieldKind, MessageSpec } from './schema.js';

const K_STRING = 0;
const K_BOOL = 1;
const K_UINT32 = 2;
const K_INT32 = 3;
const K_UINT64 = 4;
const K_INT64 = 5;
const K_DOUBLE = 6;
const K_TRACE_ID = 7;
const K_SPAN_ID = 8;
const K_BYTES = 9;
const K_MESSAGE = 10;

const UINT64_MAX = Buffer.from('18446744073709551615');
const INT64_MAX = Buffer.from('9223372036854775807');
const INT64_MIN_DIGITS = Buffer.from('9223372036854775808');

/**
 * Whether the decimal digits `b[from, to)` fit a 64-bit integer (unsigned, or signed with the sign
 * already skipped). Digit strings of the same length compare like their values, so only those as
 * long as the limit are compared, byte by byte.
 */
export function digitsFit64(b: Uint8Array, from: number, to: number, signed: boolean, negative: boolean): boolean {
  const limit = signed ? (negative ? INT64_MIN_DIGITS : INT64_MAX) : UINT64_MAX;
  while (to - from > limit.length && b[from] === 0x30) from++;
  const length = to - from;
  if (length !== limit.length) return length < limit.length;
  for (let index = 0; index < length; index++) {
    const digit = b[from + index]!;
    const max = limit[index]!;
    if (digit !== max) return digit < max;
  }
  return true;
}

function kindCode(kind: FieldKind): number {
  switch (kind) {
    case 'string':
      return K_STRING;
    case 'bool':
      return K_BOOL;
    case 'uint32':
    case 'fixed32':
      return K_UINT32;
    case 'int32':
    case 'sint32':
    case 'enum':
      return K_INT32;
    case 'uint64':
    case 'fixed64':
      return K_UINT64;
    case 'int64':
    case 'sfixed64':
      return K_INT64;
    case 'double':
      return K_DOUBLE;
    case 'traceId':
      return K_TRACE_ID;
    case 'spanId':
      return K_SPAN_ID;
    case 'bytes':
      return K_BYTES;
    default:
      return K_MESSAGE;
  }
}

interface Message {
  readonly oneof: boolean;
  /** Index + 1 of the first field whose JSON name starts with a byte (0: none). */
  readonly byFirstByte: Int16Array;
  /** Index + 1 of the next field with the same first byte (0: none). */
  readonly nextSameFirst: Int16Array;
  readonly names: readonly Buffer[];
  readonly kinds: readonly number[];
  readonly repeated: readonly boolean[];
  readonly counts: readonly boolean[];
  readonly children: readonly (Message | undefined)[];
}

const messages = new Map<MessageSpec, Message>();

function compile(spec: MessageSpec): Message {
  const existing = messages.get(spec);
  if (existing) return existing;
  const names = spec.fields.map((field) => Buffer.from(field.name, 'latin1'));
  const children: (Message | undefined)[] = [];
  const byFirstByte = new Int16Array(256);
  const nextSameFirst = new Int16Array(names.length);
  // Chains in declaration order; a key is matched by comparing it with each name of its chain.
  for (let index = names.length - 1; index >= 0; index--) {
    const first = names[index]![0]!;
    nextSameFirst[index] = byFirstByte[first]!;
    byFirstByte[first] = index + 1;
  }
  const message: Message = {
    oneof: spec.oneof,
    byFirstByte,
    nextSameFirst,
    names,
    kinds: spec.fields.map((field) => kindCode(field.kind)),
    repeated: spec.fields.map((field) => field.repeated),
    counts: spec.fields.map((field) => field.countsItems),
    children,
  };
  messages.set(spec, message);
  for (const field of spec.fields) children.push(field.message ? compile(field.message()) : undefined);
  return message;
}

const MAX_STACK = 160;

/**
 * Scans a JSON body; returns the line to write (with `\n`) and the number of items, or undefined
 * when the general decoder must handle the body.
 */
export function scanJson(spec: MessageSpec, body: Buffer, allocate: (size: number) => Buffer = Buffer.allocUnsafe): { line: Buffer; items: number } | undefined {
  const b = body;
  const n = b.length;
  if (b.indexOf(0x0a) !== -1 || b.indexOf(0x0d) !== -1 || !isUtf8(b)) return undefined;
  const root = compile(spec);
  // Explicit stack: per level the message (objects) or the list's element kind (arrays).
  const frameMessage: (Message | undefined)[] = [];
  const frameIsArray: boolean[] = [];
  const frameSeen = new Int32Array(MAX_STACK);
  const frameMembers = new Int32Array(MAX_STACK);
  const frameKind = new Int32Array(MAX_STACK);
  const frameCounts: boolean[] = [];
  const quotes: number[] = [];
  let depth = -1;
  let items = 0;
  let i = 0;
  let c = 0;

  // Value to read next: a message (object), a list, or a scalar of `kind`.
  let nextMessage: Message | undefined = root;
  let nextRepeated = false;
  let nextKind = K_MESSAGE;
  let nextCounts = false;
  let expectKey = false;

  for (;;) {
    if (expectKey) {
      // ---- a member name: find the field, check `:`, set what value comes next
      expectKey = false;
      while ((c = b[i]!) === 0x20 || c === 0x09) i++;
      if (c !== 0x22) return undefined;
      const start = ++i;
      // The key is the name it equals byte for byte up to a closing quote: names hold no quote
      // or backslash, so that match is exact without reading the key twice.
      const message = frameMessage[depth]!;
      let slot = start < n ? message.byFirstByte[b[start]!]! : 0;
      let index = -1;
      while (slot !== 0) {
        const candidate = slot - 1;
        const name = message.names[candidate]!;
        const size = name.length;
        if (b[start + size] === 0x22) {
          let k = 1;
          while (k < size && name[k] === b[start + k]) k++;
          if (k === size) {
            index = candidate;
            i = start + size;
            break;
          }
        }
        slot = message.nextSameFirst[candidate]!;
      }
      if (index === -1) return undefined;
      const bit = 1 << index;
      const seen = frameSeen[depth]!;
      if (seen & bit) return undefined;
      frameSeen[depth] = seen | bit;
      frameMembers[depth] = frameMembers[depth]! + 1;
      i++;
      while ((c = b[i]!) === 0x20 || c === 0x09) i++;
      if (c !== 0x3a) return undefined;
      i++;
      nextMessage = message.children[index];
      nextKind = message.kinds[index]!;
      nextRepeated = message.repeated[index]!;
      nextCounts = message.counts[index]!;
    }
    // ---- read one value of the expected shape
    while ((c = b[i]!) === 0x20 || c === 0x09) i++;
    if (c === 0x6e) return undefined; // null: the general decoder drops it
    if (nextRepeated) {
      if (c !== 0x5b) return undefined;
      i++;
      if (++depth >= MAX_STACK) return undefined;
      frameIsArray[depth] = true;
      frameMessage[depth] = nextMessage;
      frameKind[depth] = nextKind;
      frameCounts[depth] = nextCounts;
      while ((c = b[i]!) === 0x20 || c === 0x09) i++;
      if (c === 0x5d) {
        i++;
        depth--;
      } else {
        nextRepeated = false; // elements
        continue;
      }
    } else if (nextKind === K_MESSAGE) {
      if (c !== 0x7b) return undefined;
      i++;
      if (++depth >= MAX_STACK) return undefined;
      frameIsArray[depth] = false;
      frameMessage[depth] = nextMessage;
      frameSeen[depth] = 0;
      frameMembers[depth] = 0;
      while ((c = b[i]!) === 0x20 || c === 0x09) i++;
      if (c === 0x7d) {
        i++;
        depth--;
      } else {
        expectKey = true;
        continue;
      }
    } else {
      // ---- scalar
      switch (nextKind) {
        case K_STRING: {
          if (c !== 0x22) return undefined;
          i++;
          for (;;) {
            c = b[i]!;
            // Most bytes of a string are above the backslash: one comparison for them.
            if (c > 0x5c) {
              i++;
              continue;
            }
            if (c === 0x22) break;
            if (c < 0x20 || i >= n) return undefined;
            if (c === 0x5c) {
              c = b[i + 1]!;
              if (c === 0x75) {
                for (let k = 2; k < 6; k++) {
                  const h = b[i + k]!;
                  if (!((h >= 0x30 && h <= 0x39) || (h >= 0x61 && h <= 0x66) || (h >= 0x41 && h <= 0x46))) return undefined;
                }
                i += 6;
                continue;
              }
              if (c !== 0x22 && c !== 0x5c && c !== 0x2f && c !== 0x62 && c !== 0x66 && c !== 0x6e && c !== 0x72 && c !== 0x74) return undefined;
              i += 2;
              continue;
            }
            i++;
          }
          i++;
          break;
        }
        case K_TRACE_ID:
        case K_SPAN_ID: {
          if (c !== 0x22) return undefined;
          const start = ++i;
          while (((c = b[i]!) >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66)) i++;
          if (c !== 0x22) return undefined;
          const size = i - start;
          if (size !== 0 && size !== (nextKind === K_TRACE_ID ? 32 : 16)) return undefined;
          i++;
          break;
        }
        case K_UINT64:
        case K_INT64: {
          if (c === 0x22) {
            const start = ++i;
            if (nextKind === K_INT64 && b[i] === 0x2d) i++;
            const digits = i;
            while ((c = b[i]!) >= 0x30 && c <= 0x39) i++;
            if (c !== 0x22 || i === digits || i - start > 20) return undefined;
            // Out of range: the general decoder rejects it with the path.
            if (i - digits >= (nextKind === K_INT64 ? 19 : 20) && !digitsFit64(b, digits, i, nextKind === K_INT64, digits !== start)) return undefined;
            i++;
            break;
          }
          const start = i;
          if (c === 0x2d) {
            if (nextKind === K_UINT64) return undefined;
            i++;
          }
          const digits = i;
          while ((c = b[i]!) >= 0x30 && c <= 0x39) i++;
          if (i === digits || i - start > 20 || c === 0x2e || c === 0x65 || c === 0x45) return undefined;
          if (b[digits] === 0x30 && i - digits > 1) return undefined;
          if (i - digits >= (nextKind === K_INT64 ? 19 : 20) && !digitsFit64(b, digits, i, nextKind === K_INT64, digits !== start)) return undefined;
          quotes.push(start, i);
          break;
        }
        case K_UINT32:
        case K_INT32: {
          let negative = false;
          if (c === 0x2d) {
            if (nextKind === K_UINT32) return undefined;
            negative = true;
            i++;
          }
          const digits = i;
          let value = 0;
          while ((c = b[i]!) >= 0x30 && c <= 0x39) {
            value = value * 10 + (c - 0x30);
            i++;
          }
          if (i === digits || i - digits > 10 || c === 0x2e || c === 0x65 || c === 0x45) return undefined;
          if (b[digits] === 0x30 && i - digits > 1) return undefined;
          if (negative ? value > 0x80000000 : value > 0xffffffff) return undefined;
          break;
        }
        case K_DOUBLE: {
          if (c === 0x22) return undefined; // "NaN" and friends: rare, general path
          if (c === 0x2d) i++;
          const digits = i;
          while ((c = b[i]!) >= 0x30 && c <= 0x39) i++;
          if (i === digits || (b[digits] === 0x30 && i - digits > 1)) return undefined;
          if (c === 0x2e) {
            const fraction = ++i;
            while ((c = b[i]!) >= 0x30 && c <= 0x39) i++;
            if (i === fraction) return undefined;
          }
          if (c === 0x65 || c === 0x45) {
            i++;
            if (b[i] === 0x2b || b[i] === 0x2d) i++;
            const exponent = i;
            while ((c = b[i]!) >= 0x30 && c <= 0x39) i++;
            if (i === exponent) return undefined;
          }
          break;
        }
        case K_BOOL: {
          if (c === 0x74 && b[i + 1] === 0x72 && b[i + 2] === 0x75 && b[i + 3] === 0x65) i += 4;
          else if (c === 0x66 && b[i + 1] === 0x61 && b[i + 2] === 0x6c && b[i + 3] === 0x73 && b[i + 4] === 0x65) i += 5;
          else return undefined;
          break;
        }
        case K_BYTES: {
          if (c !== 0x22) return undefined;
          i++;
          while (
            ((c = b[i]!) >= 0x41 && c <= 0x5a) ||
            (c >= 0x61 && c <= 0x7a) ||
            (c >= 0x30 && c <= 0x39) ||
            c === 0x2b ||
            c === 0x2f ||
            c === 0x2d ||
            c === 0x5f ||
            c === 0x3d
          )
            i++;
          if (c !== 0x22) return undefined;
          i++;
          break;
        }
        default:
          return undefined;
      }
    }

    // ---- after a value: separators and closing brackets, until the next value starts
    for (;;) {
      if (depth < 0) {
        while ((c = b[i]!) === 0x20 || c === 0x09) i++;
        if (i !== n) return undefined;
        return { line: withQuotes(b, quotes, allocate), items };
      }
      while ((c = b[i]!) === 0x20 || c === 0x09) i++;
      i++;
      if (frameIsArray[depth]) {
        if (frameKind[depth] === K_MESSAGE && frameCounts[depth]) items++;
        if (c === 0x2c) {
          nextMessage = frameMessage[depth];
          nextKind = frameKind[depth]!;
          nextRepeated = false;
          break;
        }
        if (c !== 0x5d) return undefined;
        depth--;
        continue;
      }
      if (c === 0x2c) {
        expectKey = true;
        break;
      }
      if (c !== 0x7d) return undefined;
      if (frameMessage[depth]!.oneof && frameMembers[depth]! > 1) return undefined;
      depth--;
    }
  }
}

function withQuotes(body: Buffer, quotes: number[], allocate: (size: number) => Buffer): Buffer {
  // One allocation, segments copied in place (no intermediate slices).
  const line = allocate(body.length + quotes.length + 1);
  // Views over the body copied with TypedArray#set: Buffer#copy validates its arguments on every
  // call, which costs more than the copy for the short segments between two integers.
  const store = body.buffer;
  const base = body.byteOffset;
  let cursor = 0;
  let at = 0;
  for (let index = 0; index < quotes.length; index++) {
    const offset = quotes[index]!;
    line.set(new Uint8Array(store, base + cursor, offset - cursor), at);
    at += offset - cursor;
    line[at++] = 0x22;
    cursor = offset;
  }
  line.set(new Uint8Array(store, base + cursor, body.length - cursor), at);
  at += body.length - cursor;
  line[at] = 0x0a;
  return line;
}
