/**
 * The fast path of flattening: one schema-aware pass over the bytes of an OTLP JSON line, without
 * JSON.parse, writing span and event rows straight into byte buffers (ids lower-cased, attributes
 * rendered as one typed JSON object by copying their bytes). It accepts only what it can prove the
 * general path (JSON.parse + walk, flatten.ts) reads with the same meaning: strict JSON syntax,
 * valid UTF-8, the usual field order (resource before scopeSpans, scope before spans, a span's ids
 * and attributes before its events, an attribute's key before its value), promoted attributes of
 * the expected type, numbers that fit. Anything else throws FALLBACK and the caller rolls the
 * line's rows back and runs the general path, which also decides whether the line is bad.
 *
 * Written as plain loops over a Buffer with positions in fields: no objects per value, no strings
 * except the JS numbers the caller needs, which is what makes it faster than JSON.parse.
 */
import { isUtf8 } from 'node:buffer';
import type { ByteRows } from './bytes.js';
import { NULL_FIELD as NULL_TEXT } from './columns.js';

/** Thrown (one preallocated instance, no stack capture per throw) when the general path must read the line. */
const FALLBACK = { fallback: true } as const;

const enc = (text: string): Buffer => Buffer.from(text, 'latin1');

/** 1 for the bytes of hex digits (either case), 0 for every other byte. */
const IS_HEX = new Uint8Array(256);
for (const c of enc('0123456789abcdefABCDEF')) IS_HEX[c] = 1;

// Promoted attribute slots.
const S_CONV = 0;
const S_EXP = 1;
const S_VAR = 2;
const S_VER = 3;
const S_UNIT = 4;
const S_AID = 5;
const S_EXPS = 6;
const S_OP = 7;
const S_REQ = 8;
const S_RESPM = 9;
const S_RESPID = 10;
const S_IN = 11;
const S_OUT = 12;
const S_COST = 13;
const S_ERR = 14;
const S_SERVICE = 15;
const S_EVNAME = 16;
const S_ONAME = 17;
const S_OVAL = 18;
const S_EVALNAME = 19;
const S_SCORE = 20;
const S_LABEL = 21;
const S_EXPL = 22;
const S_JMODEL = 23;
const S_JVER = 24;
const S_RATE = 25;
const S_SRC = 26;
const S_FKEY = 27;
const S_FVAR = 28;
const S_FVAR2 = 29;
const S_FREASON = 30;
const S_FCTX = 31;
const S_AIDS = 32;
const N_SLOTS = 33;

const SLOT_KEYS: readonly string[] = [
  'gen_ai.conversation.id',
  'abtel.experiment.key',
  'abtel.experiment.variation',
  'abtel.experiment.version',
  'abtel.assignment.unit',
  'abtel.assignment.id',
  'abtel.experiments',
  'gen_ai.operation.name',
  'gen_ai.request.model',
  'gen_ai.response.model',
  'gen_ai.response.id',
  'gen_ai.usage.input_tokens',
  'gen_ai.usage.output_tokens',
  'abtel.usage.cost_usd',
  'error.type',
  'service.name',
  'event.name',
  'abtel.outcome.name',
  'abtel.outcome.value',
  'gen_ai.evaluation.name',
  'gen_ai.evaluation.score.value',
  'gen_ai.evaluation.score.label',
  'gen_ai.evaluation.explanation',
  'abtel.evaluation.judge.model',
  'abtel.evaluation.judge.version',
  'abtel.evaluation.sample_rate',
  'abtel.evaluation.source',
  'feature_flag.key',
  'feature_flag.result.variant',
  'feature_flag.variant',
  'feature_flag.result.reason',
  'feature_flag.context.id',
  'abtel.assignment.ids',
];
const SLOT_BYTES = SLOT_KEYS.map(enc);
/**
 * Span attributes whose string value has its own column are not repeated in the span's
 * `extra_attributes` JSON (they are half its bytes); `stripped_attributes` has this bit set for
 * each, and the `spans` view puts them back (otlp_span_attributes in otlp.sql). Same bits there.
 */
export const STRIP_BITS: Readonly<Record<string, number>> = {
  'gen_ai.conversation.id': 1,
  'abtel.experiment.key': 2,
  'abtel.experiment.variation': 4,
  'abtel.assignment.unit': 8,
  'abtel.assignment.id': 16,
  'gen_ai.operation.name': 32,
  'gen_ai.request.model': 64,
  'gen_ai.response.model': 128,
  'gen_ai.response.id': 256,
  'error.type': 512,
};
const STRIP_BIT = new Int32Array(SLOT_KEYS.length);
SLOT_KEYS.forEach((key, slot) => {
  STRIP_BIT[slot] = STRIP_BITS[key] ?? 0;
});
/** Slots by key length, for matching a key without making a string of it. */
const SLOTS_BY_LENGTH: number[][] = [];
SLOT_BYTES.forEach((bytes, slot) => {
  (SLOTS_BY_LENGTH[bytes.length] ??= []).push(slot);
});

// Value kinds of a promoted slot.
const V_NONE = 0;
const V_STRING = 1;
const V_INT = 2;
const V_DOUBLE = 3;
const V_TRUE = 4;
const V_FALSE = 5;
const V_ARRAY = 6;
/** bytesValue: rendered as a JSON string, never a promoted value (as otlp_value_str ignores it). */
const V_BYTES = 7;

/** Promoted values of one attribute list: kind and byte range (in the line; arrays: in the scratch buffer). */
class Slots {
  readonly kind = new Uint8Array(N_SLOTS);
  readonly start = new Int32Array(N_SLOTS);
  readonly end = new Int32Array(N_SLOTS);
  /** Strings: has escapes. Arrays: 1 when every element is a string. */
  readonly flag = new Uint8Array(N_SLOTS);
  jsonStart = 0;
  jsonEnd = 0;
  /** STRIP_BITS of the promoted strings left out of the JSON. */
  stripped = 0;
  clear(): void {
    this.kind.fill(0);
    this.stripped = 0;
  }
}

const K_RESOURCE_SPANS = enc('resourceSpans');
const K_RESOURCE_LOGS = enc('resourceLogs');
const K_RESOURCE_METRICS = enc('resourceMetrics');
const K_RESOURCE = enc('resource');
const K_SCOPE_SPANS = enc('scopeSpans');
const K_SCOPE_LOGS = enc('scopeLogs');
const K_SCOPE = enc('scope');
const K_SPANS = enc('spans');
const K_LOG_RECORDS = enc('logRecords');
const K_ATTRIBUTES = enc('attributes');
const K_NAME = enc('name');
const K_TRACE_ID = enc('traceId');
const K_SPAN_ID = enc('spanId');
const K_PARENT_SPAN_ID = enc('parentSpanId');
const K_KIND = enc('kind');
const K_START = enc('startTimeUnixNano');
const K_END = enc('endTimeUnixNano');
const K_EVENTS = enc('events');
const K_STATUS = enc('status');
const K_CODE = enc('code');
const K_MESSAGE = enc('message');
const K_TIME = enc('timeUnixNano');
const K_OBSERVED = enc('observedTimeUnixNano');
const K_EVENT_NAME = enc('eventName');
const K_KEY = enc('key');
const K_VALUE = enc('value');
const K_VALUES = enc('values');
const K_STRING_VALUE = enc('stringValue');
const K_BOOL_VALUE = enc('boolValue');
const K_INT_VALUE = enc('intValue');
const K_DOUBLE_VALUE = enc('doubleValue');
const K_ARRAY_VALUE = enc('arrayValue');
const K_KVLIST_VALUE = enc('kvlistValue');
const K_BYTES_VALUE = enc('bytesValue');

const NULL_FIELD = enc(NULL_TEXT);
const INT64_MAX = enc('9223372036854775807');
const SEP = 0x1f;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;

/** A range and its kind for one of the fixed fields of a span or log record. */
interface Field {
  start: number;
  end: number;
  /** -1 absent, 0 present, 1 present with JSON escapes (strings only). */
  state: number;
}
const field = (): Field => ({ start: 0, end: 0, state: -1 });

/**
 * Reads OTLP JSON lines into span and event rows (see the module comment). One instance per file.
 * @example
 * const scanner = new OtlpScanner(spans, events, scratch);
 * const handled = scanner.line(buffer, 0, buffer.length, 1);
 */
export class OtlpScanner {
  private b: Buffer = Buffer.alloc(0);
  private p = 0;
  private n = 0;
  // The last string read: content range and whether it holds escapes.
  private sStart = 0;
  private sEnd = 0;
  private sEsc = false;
  // The last number read: whether it is an integer (no fraction, no exponent).
  private nInt = false;

  private readonly resourceSlots = new Slots();
  private readonly spanSlots = new Slots();
  private readonly eventSlots = new Slots();
  private readonly emptySlots = new Slots();

  private readonly traceId = field();
  private readonly spanId = field();
  private readonly parentSpanId = field();
  private readonly name = field();
  private readonly kind = field();
  private readonly start = field();
  private readonly end = field();
  private readonly statusCode = field();
  private readonly statusMessage = field();
  private readonly scopeName = field();
  private readonly time = field();
  private readonly observed = field();
  private readonly eventName = field();
  private readonly recordTraceId = field();
  private readonly recordSpanId = field();
  private lineNumber = '';
  /** True when the line has resourceSpans or resourceLogs (anything else is the general path's to classify). */
  sawSignal = false;

  constructor(
    private readonly spans: ByteRows,
    private readonly events: ByteRows,
    private readonly scratch: ByteRows,
  ) {}

  /**
   * Reads one line; true when its rows were written, false when the general path must read it
   * (nothing of the line is left in the outputs then).
   */
  line(b: Buffer, start: number, end: number, lineNumber: number): boolean {
    const spanMark = this.spans.mark();
    const spanRows = this.spans.rows;
    const eventMark = this.events.mark();
    const eventRows = this.events.rows;
    try {
      if (!isUtf8(b.subarray(start, end))) return false;
      this.b = b;
      this.p = start;
      this.n = end;
      this.lineNumber = String(lineNumber);
      this.sawSignal = false;
      this.scratch.pos = 0;
      this.root();
      this.ws();
      if (this.p !== this.n) throw FALLBACK;
      // Metrics-only, empty and non-OTLP objects are the general path's to classify.
      if (!this.sawSignal) throw FALLBACK;
      return true;
    } catch (error) {
      if (error !== FALLBACK) throw error;
      this.spans.reset(spanMark, spanRows);
      this.events.reset(eventMark, eventRows);
      return false;
    }
  }

  // ---- JSON primitives -------------------------------------------------------------------------

  private ws(): void {
    const b = this.b;
    let p = this.p;
    while (p < this.n) {
      const c = b[p]!;
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) p++;
      else break;
    }
    this.p = p;
  }

  private expect(c: number): void {
    this.ws();
    if (this.p >= this.n || this.b[this.p] !== c) throw FALLBACK;
    this.p++;
  }

  /** After a member or element: true when another follows (`,`), false at `close`. */
  private more(close: number): boolean {
    this.ws();
    if (this.p >= this.n) throw FALLBACK;
    const c = this.b[this.p++];
    if (c === 0x2c) return true;
    if (c === close) return false;
    throw FALLBACK;
  }

  /** `{` then: true when the object has members (positioned at the first key). */
  private openObject(): boolean {
    this.expect(0x7b);
    this.ws();
    if (this.p < this.n && this.b[this.p] === 0x7d) {
      this.p++;
      return false;
    }
    return true;
  }

  private openArray(): boolean {
    this.expect(0x5b);
    this.ws();
    if (this.p < this.n && this.b[this.p] === 0x5d) {
      this.p++;
      return false;
    }
    return true;
  }

  /** Reads a key and its colon (sStart/sEnd hold the key). */
  private key(): void {
    this.str();
    if (this.sEsc) throw FALLBACK;
    this.expect(0x3a);
  }

  private keyIs(k: Uint8Array): boolean {
    const length = k.length;
    if (this.sEnd - this.sStart !== length) return false;
    const b = this.b;
    const s = this.sStart;
    for (let i = 0; i < length; i++) if (b[s + i] !== k[i]) return false;
    return true;
  }

  /** Reads a string (after whitespace); its content range goes to sStart/sEnd. */
  private str(): void {
    this.ws();
    const b = this.b;
    const n = this.n;
    let p = this.p;
    if (p >= n || b[p] !== QUOTE) throw FALLBACK;
    p++;
    const start = p;
    let esc = false;
    for (;;) {
      if (p >= n) throw FALLBACK;
      const c = b[p]!;
      if (c === QUOTE) break;
      if (c < 0x20) throw FALLBACK;
      if (c === BACKSLASH) {
        esc = true;
        const e = b[p + 1];
        if (e === 0x75) {
          if (p + 5 >= n || !HEX[b[p + 2]!] || !HEX[b[p + 3]!] || !HEX[b[p + 4]!] || !HEX[b[p + 5]!]) throw FALLBACK;
          p += 6;
          continue;
        }
        if (e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
          p += 2;
          continue;
        }
        throw FALLBACK;
      }
      p++;
    }
    this.sStart = start;
    this.sEnd = p;
    this.sEsc = esc;
    this.p = p + 1;
  }

  /** Reads a JSON number; its range goes to sStart/sEnd and nInt says whether it is an integer. */
  private number(): void {
    this.ws();
    const b = this.b;
    const n = this.n;
    let p = this.p;
    const start = p;
    if (b[p] === 0x2d) p++;
    if (p >= n) throw FALLBACK;
    if (b[p] === 0x30) p++;
    else if (b[p]! >= 0x31 && b[p]! <= 0x39) while (p < n && b[p]! >= 0x30 && b[p]! <= 0x39) p++;
    else throw FALLBACK;
    let integer = true;
    if (p < n && b[p] === 0x2e) {
      integer = false;
      p++;
      const digits = p;
      while (p < n && b[p]! >= 0x30 && b[p]! <= 0x39) p++;
      if (p === digits) throw FALLBACK;
    }
    if (p < n && (b[p] === 0x65 || b[p] === 0x45)) {
      integer = false;
      p++;
      if (p < n && (b[p] === 0x2b || b[p] === 0x2d)) p++;
      const digits = p;
      while (p < n && b[p]! >= 0x30 && b[p]! <= 0x39) p++;
      // No digits, or an exponent that may overflow a double: the general path decides.
      if (p === digits || p - digits > 2) throw FALLBACK;
    }
    this.sStart = start;
    this.sEnd = p;
    this.nInt = integer;
    this.p = p;
  }

  /** True (and consumed) when the bytes at the position are exactly `word` (no whitespace skipped). */
  private lit(word: Buffer): boolean {
    const b = this.b;
    const p = this.p;
    const length = word.length;
    if (p + length > this.n) return false;
    for (let i = 0; i < length; i++) if (b[p + i] !== word[i]) return false;
    this.p = p + length;
    return true;
  }

  private literal(word: Uint8Array): void {
    const b = this.b;
    for (let i = 0; i < word.length; i++) if (b[this.p + i] !== word[i]) throw FALLBACK;
    this.p += word.length;
  }

  /** True (and consumed) when the next value is `null`. */
  private isNull(): boolean {
    this.ws();
    if (this.b[this.p] !== 0x6e) return false;
    this.literal(NULL_WORD);
    return true;
  }

  /** Skips any JSON value, checking its syntax. */
  private skip(depth = 0): void {
    if (depth > 64) throw FALLBACK;
    this.ws();
    if (this.p >= this.n) throw FALLBACK;
    const c = this.b[this.p]!;
    if (c === QUOTE) this.str();
    else if (c === 0x7b) {
      if (this.openObject()) {
        do {
          this.key();
          this.skip(depth + 1);
        } while (this.more(0x7d));
      }
    } else if (c === 0x5b) {
      if (this.openArray()) {
        do this.skip(depth + 1);
        while (this.more(0x5d));
      }
    } else if (c === 0x74) this.literal(TRUE_WORD);
    else if (c === 0x66) this.literal(FALSE_WORD);
    else if (c === 0x6e) this.literal(NULL_WORD);
    else this.number();
  }

  /** A string field's content range (null → absent; anything else but a string → fallback). */
  private stringField(f: Field): void {
    if (this.isNull()) {
      f.state = -1;
      return;
    }
    this.str();
    f.start = this.sStart;
    f.end = this.sEnd;
    f.state = this.sEsc ? 1 : 0;
  }

  /** Unix nanoseconds as a string or number; digits kept (0 → absent, beyond int64 → fallback). */
  private nanosField(f: Field): void {
    if (this.isNull()) {
      f.state = -1;
      return;
    }
    this.ws();
    let start: number;
    let end: number;
    if (this.b[this.p] === QUOTE) {
      this.str();
      start = this.sStart;
      end = this.sEnd;
      for (let i = start; i < end; i++) if (this.b[i]! < 0x30 || this.b[i]! > 0x39) throw FALLBACK;
      if (start === end) throw FALLBACK;
    } else {
      this.number();
      if (!this.nInt || this.b[this.sStart] === 0x2d) throw FALLBACK;
      start = this.sStart;
      end = this.sEnd;
    }
    while (start < end - 1 && this.b[start] === 0x30) start++;
    if (end - start > 19 || (end - start === 19 && this.compare(start, INT64_MAX) > 0)) throw FALLBACK;
    f.start = start;
    f.end = end;
    f.state = end - start === 1 && this.b[start] === 0x30 ? -1 : 0;
  }

  private compare(start: number, digits: Uint8Array): number {
    for (let i = 0; i < digits.length; i++) {
      const d = this.b[start + i]! - digits[i]!;
      if (d !== 0) return d;
    }
    return 0;
  }

  /** An enum as a small non-negative integer (names → fallback). */
  private enumField(f: Field): void {
    if (this.isNull()) {
      f.state = -1;
      return;
    }
    this.number();
    if (!this.nInt || this.b[this.sStart] === 0x2d || this.sEnd - this.sStart > 9) throw FALLBACK;
    f.start = this.sStart;
    f.end = this.sEnd;
    f.state = 0;
  }

  // ---- OTLP structure --------------------------------------------------------------------------

  // A repeated member (JSON.parse keeps the last one) is left to the general path throughout.
  private root(): void {
    if (!this.openObject()) return;
    let seenSpans = false;
    let seenLogs = false;
    do {
      this.key();
      if (this.keyIs(K_RESOURCE_SPANS)) {
        if (seenSpans) throw FALLBACK;
        seenSpans = true;
        if (this.isNull()) continue;
        this.sawSignal = true;
        if (this.openArray()) {
          do this.resourceSpans();
          while (this.more(0x5d));
        }
      } else if (this.keyIs(K_RESOURCE_LOGS)) {
        if (seenLogs) throw FALLBACK;
        seenLogs = true;
        if (this.isNull()) continue;
        this.sawSignal = true;
        if (this.openArray()) {
          do this.resourceLogs();
          while (this.more(0x5d));
        }
      } else if (this.keyIs(K_RESOURCE_METRICS)) {
        // Lines with metrics are the general path's (it tells metrics-only lines apart).
        throw FALLBACK;
      } else this.skip();
    } while (this.more(0x7d));
  }

  private resourceSpans(): void {
    this.resourceDefaults();
    // A null item breaks the shape rule (otlp-shape.ts): openObject leaves it to the general path.
    if (!this.openObject()) return;
    let seenScopes = false;
    let seenResource = false;
    do {
      this.key();
      if (this.keyIs(K_RESOURCE)) {
        if (seenScopes || seenResource) throw FALLBACK;
        seenResource = true;
        this.resource();
      } else if (this.keyIs(K_SCOPE_SPANS)) {
        if (seenScopes) throw FALLBACK;
        seenScopes = true;
        if (this.isNull()) continue;
        if (this.openArray()) {
          do this.scopeSpans();
          while (this.more(0x5d));
        }
      } else this.skip();
    } while (this.more(0x7d));
  }

  /** No resource (yet): no attributes, `{}` at the start of the scratch buffer. */
  private resourceDefaults(): void {
    this.resourceSlots.clear();
    this.scratch.pos = 0;
    this.scratch.ascii('{}');
    this.resourceSlots.jsonStart = 0;
    this.resourceSlots.jsonEnd = 2;
  }

  /** `resource`: its attributes rendered at the start of the scratch buffer. */
  private resource(): void {
    this.resourceDefaults();
    if (this.isNull() || !this.openObject()) return;
    let seenAttributes = false;
    do {
      this.key();
      if (this.keyIs(K_ATTRIBUTES)) {
        if (seenAttributes) throw FALLBACK;
        seenAttributes = true;
        this.scratch.pos = 0;
        this.attributes(this.resourceSlots);
      } else this.skip();
    } while (this.more(0x7d));
  }

  private scope(): void {
    this.scopeName.state = -1;
    if (this.isNull() || !this.openObject()) return;
    do {
      this.key();
      if (this.keyIs(K_NAME)) this.stringField(this.scopeName);
      else this.skip();
    } while (this.more(0x7d));
  }

  private scopeSpans(): void {
    this.scopeName.state = -1;
    // A null item breaks the shape rule (otlp-shape.ts): openObject leaves it to the general path.
    if (!this.openObject()) return;
    let seenSpans = false;
    let seenScope = false;
    do {
      this.key();
      if (this.keyIs(K_SCOPE)) {
        if (seenSpans || seenScope) throw FALLBACK;
        seenScope = true;
        this.scope();
      } else if (this.keyIs(K_SPANS)) {
        if (seenSpans) throw FALLBACK;
        seenSpans = true;
        if (this.isNull()) continue;
        if (this.openArray()) {
          do this.span();
          while (this.more(0x5d));
        }
      } else this.skip();
    } while (this.more(0x7d));
  }

  private span(): void {
    const slots = this.spanSlots;
    slots.clear();
    this.traceId.state = -1;
    this.spanId.state = -1;
    this.parentSpanId.state = -1;
    this.name.state = -1;
    this.kind.state = -1;
    this.start.state = -1;
    this.end.state = -1;
    this.statusCode.state = -1;
    this.statusMessage.state = -1;
    const scratchBase = this.resourceSlots.jsonEnd;
    this.scratch.pos = scratchBase;
    slots.jsonStart = scratchBase;
    this.scratch.ascii('{}');
    slots.jsonEnd = scratchBase + 2;
    let seenAttributes = false;
    let seenEvents = false;
    if (!this.openObject()) {
      this.emitSpan();
      return;
    }
    do {
      this.key();
      if (this.keyIs(K_TRACE_ID)) this.stringField(this.traceId);
      else if (this.keyIs(K_SPAN_ID)) this.stringField(this.spanId);
      else if (this.keyIs(K_PARENT_SPAN_ID)) this.stringField(this.parentSpanId);
      else if (this.keyIs(K_NAME)) this.stringField(this.name);
      else if (this.keyIs(K_KIND)) this.enumField(this.kind);
      else if (this.keyIs(K_START)) this.nanosField(this.start);
      else if (this.keyIs(K_END)) this.nanosField(this.end);
      else if (this.keyIs(K_ATTRIBUTES)) {
        if (seenAttributes) throw FALLBACK;
        seenAttributes = true;
        this.scratch.pos = scratchBase;
        this.attributes(slots, true);
      } else if (this.keyIs(K_EVENTS)) {
        if (seenEvents) throw FALLBACK;
        seenEvents = true;
        // Event rows carry the span's ids and experiment context: both must be known by now.
        if (!seenAttributes || this.traceId.state < 0 || this.spanId.state < 0) {
          this.ws();
          if (this.b[this.p] === 0x5b && this.b[this.p + 1] === 0x5d) {
            this.p += 2;
            continue;
          }
          throw FALLBACK;
        }
        if (this.isNull()) continue;
        if (this.openArray()) {
          do this.spanEvent();
          while (this.more(0x5d));
        }
      } else if (this.keyIs(K_STATUS)) this.status();
      else this.skip();
    } while (this.more(0x7d));
    this.hexId(this.traceId, 32);
    this.hexId(this.spanId, 16);
    this.hexId(this.parentSpanId, 16);
    this.emitSpan();
  }

  /**
   * Falls back unless `f` is absent, empty or an id of `length` hex digits: the general path then
   * counts the line as bad (otlp-shape.ts). Escaped ids (state 1) fall back too.
   */
  private hexId(f: Field, length: number): void {
    if (f.state < 0 || f.end === f.start) return;
    if (f.state !== 0 || f.end - f.start !== length) throw FALLBACK;
    const b = this.b;
    for (let i = f.start; i < f.end; i++) if (IS_HEX[b[i]!] === 0) throw FALLBACK;
  }

  private status(): void {
    if (this.isNull() || !this.openObject()) return;
    do {
      this.key();
      if (this.keyIs(K_CODE)) this.enumField(this.statusCode);
      else if (this.keyIs(K_MESSAGE)) this.stringField(this.statusMessage);
      else this.skip();
    } while (this.more(0x7d));
  }

  private spanEvent(): void {
    const slots = this.eventSlots;
    slots.clear();
    this.time.state = -1;
    this.eventName.state = -1;
    const scratchBase = this.spanSlots.jsonEnd;
    this.scratch.pos = scratchBase;
    slots.jsonStart = scratchBase;
    this.scratch.ascii('{}');
    slots.jsonEnd = scratchBase + 2;
    let seenAttributes = false;
    if (this.openObject()) {
      do {
        this.key();
        if (this.keyIs(K_TIME)) this.nanosField(this.time);
        else if (this.keyIs(K_NAME)) this.stringField(this.eventName);
        else if (this.keyIs(K_ATTRIBUTES)) {
          if (seenAttributes) throw FALLBACK;
          seenAttributes = true;
          this.scratch.pos = scratchBase;
          this.attributes(slots);
        } else this.skip();
      } while (this.more(0x7d));
    }
    if (this.eventName.state < 0) return;
    this.emitEvent(this.time, this.eventName, SPAN_EVENT, this.traceId, this.spanId, slots, this.spanSlots);
  }

  private resourceLogs(): void {
    // A null item breaks the shape rule (otlp-shape.ts): openObject leaves it to the general path.
    if (!this.openObject()) return;
    let seenScopes = false;
    do {
      this.key();
      if (this.keyIs(K_SCOPE_LOGS)) {
        if (seenScopes) throw FALLBACK;
        seenScopes = true;
        if (this.isNull()) continue;
        if (this.openArray()) {
          do this.scopeLogs();
          while (this.more(0x5d));
        }
      } else this.skip();
    } while (this.more(0x7d));
  }

  private scopeLogs(): void {
    // A null item breaks the shape rule (otlp-shape.ts): openObject leaves it to the general path.
    if (!this.openObject()) return;
    let seenRecords = false;
    do {
      this.key();
      if (this.keyIs(K_LOG_RECORDS)) {
        if (seenRecords) throw FALLBACK;
        seenRecords = true;
        if (this.isNull()) continue;
        if (this.openArray()) {
          do this.logRecord();
          while (this.more(0x5d));
        }
      } else this.skip();
    } while (this.more(0x7d));
  }

  private logRecord(): void {
    const slots = this.eventSlots;
    slots.clear();
    this.time.state = -1;
    this.observed.state = -1;
    this.eventName.state = -1;
    this.recordTraceId.state = -1;
    this.recordSpanId.state = -1;
    this.scratch.pos = 0;
    slots.jsonStart = 0;
    this.scratch.ascii('{}');
    slots.jsonEnd = 2;
    let seenAttributes = false;
    if (this.openObject()) {
      do {
        this.key();
        if (this.keyIs(K_TIME)) this.nanosField(this.time);
        else if (this.keyIs(K_OBSERVED)) this.nanosField(this.observed);
        else if (this.keyIs(K_EVENT_NAME)) this.stringField(this.eventName);
        else if (this.keyIs(K_TRACE_ID)) this.stringField(this.recordTraceId);
        else if (this.keyIs(K_SPAN_ID)) this.stringField(this.recordSpanId);
        else if (this.keyIs(K_ATTRIBUTES)) {
          if (seenAttributes) throw FALLBACK;
          seenAttributes = true;
          this.scratch.pos = 0;
          this.attributes(slots);
        } else this.skip();
      } while (this.more(0x7d));
    }
    this.hexId(this.recordTraceId, 32);
    this.hexId(this.recordSpanId, 16);
    let name = this.eventName;
    if (name.state < 0 || name.end === name.start) {
      // No (or an empty) eventName: the event.name attribute names the event; plain logs are not events.
      const kind = slots.kind[S_EVNAME];
      if (kind === V_NONE) return;
      if (kind !== V_STRING) throw FALLBACK;
      name = this.eventNameFromSlot;
      name.start = slots.start[S_EVNAME]!;
      name.end = slots.end[S_EVNAME]!;
      name.state = slots.flag[S_EVNAME] ? 1 : 0;
    }
    const time = this.time.state >= 0 ? this.time : this.observed;
    this.emitEvent(time, name, LOG, this.recordTraceId, this.recordSpanId, slots, this.emptySlots);
  }

  private readonly eventNameFromSlot = field();

  // Keys of the attribute list being read, to leave a list with a repeated key to the general
  // path (which keeps the first occurrence): open addressing, entries valid for one generation.
  private readonly keyStamp = new Int32Array(256);
  private readonly keyStart = new Int32Array(256);
  private readonly keyEnd = new Int32Array(256);
  private generation = 0;
  private keyCount = 0;

  private newKeySet(): void {
    this.generation = (this.generation + 1) | 0;
    this.keyCount = 0;
  }

  /** Records a key of the current attribute list; a repeated key (or a very long list) → fallback. */
  private uniqueKey(start: number, end: number): void {
    if (++this.keyCount > 128) throw FALLBACK;
    const b = this.b;
    const length = end - start;
    let h = (length * 31 + (length > 0 ? b[start]! * 7 + b[end - 1]! * 13 + b[start + (length >> 1)]! : 0)) & 255;
    const stamp = this.keyStamp;
    while (stamp[h] === this.generation) {
      const s = this.keyStart[h]!;
      if (this.keyEnd[h]! - s === length) {
        let i = 0;
        while (i < length && b[s + i] === b[start + i]) i++;
        if (i === length) throw FALLBACK;
      }
      h = (h + 1) & 255;
    }
    stamp[h] = this.generation;
    this.keyStart[h] = start;
    this.keyEnd[h] = end;
  }

  /**
   * `[{"key": …, "value": AnyValue}, …]` → `{"key":value,…}` at the scratch buffer's position,
   * promoted keys recorded in `slots` (first occurrence wins).
   */
  private attributes(slots: Slots, strip = false): void {
    const out = this.scratch;
    slots.jsonStart = out.pos;
    out.byte(0x7b);
    this.newKeySet();
    if (!this.isNull() && this.openArray()) {
      let first = true;
      do {
        // The compact form every exporter writes, {"key":"…","value":{…}}, without the general loop.
        const save = this.p;
        const mark = out.pos;
        if (this.lit(P_KEY)) {
          this.str();
          if (!this.sEsc && this.lit(P_VALUE)) {
            const keyStart = this.sStart;
            const keyEnd = this.sEnd;
            this.uniqueKey(keyStart, keyEnd);
            let slot = this.slotOf(keyStart, keyEnd);
            if (slot >= 0 && slots.kind[slot] !== V_NONE) {
              // A repeated key: the general path keeps the first occurrence only.
              if (strip) throw FALLBACK;
              slot = -1;
            }
            if (strip && slot >= 0 && STRIP_BIT[slot] !== 0) {
              // A string-valued promoted attribute is left out of the JSON: record it without
              // writing it (most of a span's attributes; any other form takes the path below).
              const valueAt = this.p;
              if (this.lit(P_STRING_VALUE)) {
                this.str();
                if (this.p + 1 < this.n && this.b[this.p] === 0x7d && this.b[this.p + 1] === 0x7d) {
                  this.p += 2;
                  this.record(slots, slot, V_STRING, this.sStart, this.sEnd, this.sEsc ? 1 : 0);
                  slots.stripped |= STRIP_BIT[slot]!;
                  continue;
                }
              }
              this.p = valueAt;
            }
            if (!first) out.byte(0x2c);
            out.byte(QUOTE);
            out.bytes(this.b, keyStart, keyEnd);
            out.bytes(P_QUOTE_COLON, 0, 2);
            const kind = this.anyValue(slots, slot, 0);
            if (this.p < this.n && this.b[this.p] === 0x7d) {
              this.p++;
              if (strip && slot >= 0 && STRIP_BIT[slot] !== 0 && kind === V_STRING) {
                out.pos = mark;
                slots.stripped |= STRIP_BIT[slot]!;
                continue;
              }
              first = false;
              continue;
            }
          }
          this.p = save;
          out.pos = mark;
        }
        if (!this.openObject()) continue;
        let slot = -1;
        let seenKey = false;
        let seenValue = false;
        let kind = V_NONE;
        const wasFirst: boolean = first;
        do {
          this.key();
          if (this.keyIs(K_KEY)) {
            if (seenKey) throw FALLBACK;
            seenKey = true;
            this.str();
            // An escaped key may spell a plain one: only the general path can tell.
            if (this.sEsc) throw FALLBACK;
            this.uniqueKey(this.sStart, this.sEnd);
            if (!first) out.byte(0x2c);
            first = false;
            out.byte(QUOTE);
            out.bytes(this.b, this.sStart, this.sEnd);
            out.byte(QUOTE);
            out.byte(0x3a);
            slot = this.slotOf(this.sStart, this.sEnd);
            if (slot >= 0 && slots.kind[slot] !== V_NONE) {
              if (strip) throw FALLBACK;
              slot = -1;
            }
          } else if (this.keyIs(K_VALUE)) {
            if (!seenKey || seenValue) throw FALLBACK;
            seenValue = true;
            kind = this.anyValue(slots, slot, 0);
          } else this.skip();
        } while (this.more(0x7d));
        if (!seenKey) throw FALLBACK;
        if (!seenValue) out.ascii('null');
        if (strip && slot >= 0 && STRIP_BIT[slot] !== 0 && kind === V_STRING) {
          out.pos = mark;
          first = wasFirst;
          slots.stripped |= STRIP_BIT[slot]!;
        }
      } while (this.more(0x5d));
    }
    out.byte(0x7d);
    slots.jsonEnd = out.pos;
  }

  private slotOf(start: number, end: number): number {
    const candidates = SLOTS_BY_LENGTH[end - start];
    if (candidates === undefined) return -1;
    const b = this.b;
    for (let c = 0; c < candidates.length; c++) {
      const slot = candidates[c]!;
      const k = SLOT_BYTES[slot]!;
      // Compare from the end: keys of one length mostly share their prefix.
      let i = k.length - 1;
      while (i >= 0 && b[start + i] === k[i]) i--;
      if (i < 0) return slot;
    }
    return -1;
  }

  /** Renders one AnyValue at the scratch position (typed JSON) and records it in `slots[slot]`. */
  private anyValue(slots: Slots, slot: number, depth: number): number {
    const out = this.scratch;
    if (depth > 16) throw FALLBACK;
    const save = this.p;
    const mark = out.pos;
    if (this.lit(P_STRING_VALUE)) {
      this.str();
      if (this.p < this.n && this.b[this.p] === 0x7d) {
        this.p++;
        out.byte(QUOTE);
        out.bytes(this.b, this.sStart, this.sEnd);
        out.byte(QUOTE);
        if (slot >= 0) this.record(slots, slot, V_STRING, this.sStart, this.sEnd, this.sEsc ? 1 : 0);
        return V_STRING;
      }
      this.p = save;
    } else if (this.lit(P_INT_VALUE)) {
      if (this.b[this.p] === QUOTE) this.str();
      else {
        this.number();
        if (!this.nInt) throw FALLBACK;
      }
      this.checkInteger(this.sStart, this.sEnd);
      if (this.p < this.n && this.b[this.p] === 0x7d) {
        this.p++;
        out.bytes(this.b, this.sStart, this.sEnd);
        if (slot >= 0) this.record(slots, slot, V_INT, this.sStart, this.sEnd, 0);
        return V_INT;
      }
      this.p = save;
    } else if (this.lit(P_DOUBLE_VALUE)) {
      this.number();
      if (this.p < this.n && this.b[this.p] === 0x7d) {
        this.p++;
        out.bytes(this.b, this.sStart, this.sEnd);
        if (slot >= 0) this.record(slots, slot, V_DOUBLE, this.sStart, this.sEnd, 0);
        return V_DOUBLE;
      }
      this.p = save;
    }
    out.pos = mark;
    if (this.isNull() || !this.openObject()) {
      out.ascii('null');
      return V_NONE;
    }
    let kind = V_NONE;
    do {
      this.key();
      if (this.isNull()) continue;
      if (this.keyIs(K_BYTES_VALUE)) {
        if (kind !== V_NONE) throw FALLBACK;
        kind = V_BYTES;
        this.str();
        out.byte(QUOTE);
        out.bytes(this.b, this.sStart, this.sEnd);
        out.byte(QUOTE);
      } else if (this.keyIs(K_STRING_VALUE)) {
        if (kind !== V_NONE) throw FALLBACK;
        kind = V_STRING;
        this.str();
        out.byte(QUOTE);
        out.bytes(this.b, this.sStart, this.sEnd);
        out.byte(QUOTE);
        if (slot >= 0) this.record(slots, slot, V_STRING, this.sStart, this.sEnd, this.sEsc ? 1 : 0);
      } else if (this.keyIs(K_INT_VALUE)) {
        if (kind !== V_NONE) throw FALLBACK;
        kind = V_INT;
        this.ws();
        if (this.b[this.p] === QUOTE) {
          this.str();
          this.checkInteger(this.sStart, this.sEnd);
        } else {
          this.number();
          if (!this.nInt) throw FALLBACK;
          this.checkInteger(this.sStart, this.sEnd);
        }
        out.bytes(this.b, this.sStart, this.sEnd);
        if (slot >= 0) this.record(slots, slot, V_INT, this.sStart, this.sEnd, 0);
      } else if (this.keyIs(K_DOUBLE_VALUE)) {
        if (kind !== V_NONE) throw FALLBACK;
        kind = V_DOUBLE;
        this.number();
        out.bytes(this.b, this.sStart, this.sEnd);
        if (slot >= 0) this.record(slots, slot, V_DOUBLE, this.sStart, this.sEnd, 0);
      } else if (this.keyIs(K_BOOL_VALUE)) {
        if (kind !== V_NONE) throw FALLBACK;
        this.ws();
        if (this.b[this.p] === 0x74) {
          this.literal(TRUE_WORD);
          kind = V_TRUE;
          out.ascii('true');
        } else {
          this.literal(FALSE_WORD);
          kind = V_FALSE;
          out.ascii('false');
        }
        if (slot >= 0) this.record(slots, slot, kind, 0, 0, 0);
      } else if (this.keyIs(K_ARRAY_VALUE)) {
        if (kind !== V_NONE) throw FALLBACK;
        kind = V_ARRAY;
        const start = out.pos;
        const allStrings = this.arrayValue(depth);
        if (slot >= 0) this.record(slots, slot, V_ARRAY, start, out.pos, allStrings ? 1 : 0);
      } else if (this.keyIs(K_KVLIST_VALUE)) {
        throw FALLBACK;
      } else this.skip();
    } while (this.more(0x7d));
    if (kind === V_NONE) out.ascii('null');
    return kind;
  }

  /** `{"values": [AnyValue…]}` → `[…]`; true when every element is a string. */
  private arrayValue(depth: number): boolean {
    const out = this.scratch;
    out.byte(0x5b);
    let allStrings = true;
    let seenValues = false;
    if (!this.isNull() && this.openObject()) {
      do {
        this.key();
        if (this.keyIs(K_VALUES)) {
          if (seenValues) throw FALLBACK;
          seenValues = true;
          if (this.isNull() || !this.openArray()) continue;
          let first = true;
          do {
            if (!first) out.byte(0x2c);
            first = false;
            if (this.anyValue(this.eventSlots, -1, depth + 1) !== V_STRING) allStrings = false;
          } while (this.more(0x5d));
        } else this.skip();
      } while (this.more(0x7d));
    }
    out.byte(0x5d);
    return allStrings;
  }

  /** An int64 the JSON output can carry as a bare number: -?(0|[1-9][0-9]*), at most 18 digits. */
  private checkInteger(start: number, end: number): void {
    const b = this.b;
    let p = start;
    if (b[p] === 0x2d) p++;
    const digits = end - p;
    if (digits < 1 || digits > 18 || (digits > 1 && b[p] === 0x30)) throw FALLBACK;
    for (; p < end; p++) if (b[p]! < 0x30 || b[p]! > 0x39) throw FALLBACK;
  }

  private record(slots: Slots, slot: number, kind: number, start: number, end: number, flag: number): void {
    slots.kind[slot] = kind;
    slots.start[slot] = start;
    slots.end[slot] = end;
    slots.flag[slot] = flag;
  }

  // ---- rows ------------------------------------------------------------------------------------

  /** A text field from the line: verbatim, or JSON-escaped behind `\J` (SQL decodes it). */
  private textField(out: ByteRows, f: Field, emptyIsNull: boolean): void {
    if (f.state < 0 || (emptyIsNull && f.end === f.start)) out.bytes(NULL_FIELD, 0, 2);
    else if (f.state === 1) {
      out.escaped = true;
      out.ascii('\\J"');
      out.bytes(this.b, f.start, f.end);
      out.byte(QUOTE);
    } else out.bytes(this.b, f.start, f.end);
    out.byte(SEP);
  }

  private idField(out: ByteRows, f: Field): void {
    if (f.state === 1) throw FALLBACK;
    if (f.state < 0 || f.end === f.start) out.bytes(NULL_FIELD, 0, 2);
    else out.lower(this.b, f.start, f.end);
    out.byte(SEP);
  }

  private rawField(out: ByteRows, f: Field, absent: string): void {
    if (f.state < 0) out.ascii(absent);
    else out.bytes(this.b, f.start, f.end);
    out.byte(SEP);
  }

  /** A promoted attribute as text (strings only; other kinds → fallback). */
  private slotText(out: ByteRows, slots: Slots, slot: number, context: Slots): void {
    let s = slots;
    if (s.kind[slot] === V_NONE) s = context;
    const kind = s.kind[slot];
    if (kind === V_NONE) out.bytes(NULL_FIELD, 0, 2);
    else if (kind !== V_STRING) throw FALLBACK;
    else if (s.flag[slot]) {
      out.escaped = true;
      out.ascii('\\J"');
      out.bytes(this.b, s.start[slot]!, s.end[slot]!);
      out.byte(QUOTE);
    } else out.bytes(this.b, s.start[slot]!, s.end[slot]!);
    out.byte(SEP);
  }

  /** A promoted attribute as a number (numbers, booleans 1/0; strings → fallback). */
  private slotNumber(out: ByteRows, slots: Slots, slot: number, context: Slots): void {
    let s = slots;
    if (s.kind[slot] === V_NONE) s = context;
    const kind = s.kind[slot];
    if (kind === V_NONE) out.bytes(NULL_FIELD, 0, 2);
    else if (kind === V_INT || kind === V_DOUBLE) out.bytes(this.b, s.start[slot]!, s.end[slot]!);
    else if (kind === V_TRUE) out.byte(0x31);
    else if (kind === V_FALSE) out.byte(0x30);
    else throw FALLBACK;
    out.byte(SEP);
  }

  /** A promoted string-array attribute as its JSON array (arrays of strings only; other kinds → fallback). */
  private slotStringList(out: ByteRows, slots: Slots, slot: number): void {
    const kind = slots.kind[slot];
    if (kind === V_NONE) out.bytes(NULL_FIELD, 0, 2);
    else if (kind !== V_ARRAY || !slots.flag[slot]) throw FALLBACK;
    else out.bytes(this.scratch.buf, slots.start[slot]!, slots.end[slot]!);
    out.byte(SEP);
  }

  private jsonField(out: ByteRows, slots: Slots): void {
    out.bytes(this.scratch.buf, slots.jsonStart, slots.jsonEnd);
    out.byte(SEP);
  }

  private emitSpan(): void {
    const out = this.spans;
    const slots = this.spanSlots;
    const none = this.emptySlots;
    this.idField(out, this.traceId);
    this.idField(out, this.spanId);
    this.idField(out, this.parentSpanId);
    this.textField(out, this.name, false);
    this.rawField(out, this.kind, '0');
    this.rawField(out, this.start, '\\N');
    this.rawField(out, this.end, '\\N');
    this.rawField(out, this.statusCode, '0');
    this.textField(out, this.statusMessage, true);
    this.slotText(out, this.resourceSlots, S_SERVICE, none);
    this.textField(out, this.scopeName, true);
    this.slotText(out, slots, S_CONV, none);
    this.slotText(out, slots, S_EXP, none);
    this.slotText(out, slots, S_VAR, none);
    this.slotNumber(out, slots, S_VER, none);
    this.slotText(out, slots, S_UNIT, none);
    this.slotText(out, slots, S_AID, none);
    this.slotStringList(out, slots, S_EXPS);
    this.slotStringList(out, slots, S_AIDS);
    this.slotText(out, slots, S_OP, none);
    this.slotText(out, slots, S_REQ, none);
    this.slotText(out, slots, S_RESPM, none);
    this.slotText(out, slots, S_RESPID, none);
    this.slotNumber(out, slots, S_IN, none);
    this.slotNumber(out, slots, S_OUT, none);
    this.slotNumber(out, slots, S_COST, none);
    this.slotText(out, slots, S_ERR, none);
    out.ascii(String(slots.stripped));
    out.byte(SEP);
    this.jsonField(out, slots);
    this.jsonField(out, this.resourceSlots);
    out.ascii(this.lineNumber);
    out.endRow();
  }

  private emitEvent(time: Field, name: Field, origin: Uint8Array, traceId: Field, spanId: Field, slots: Slots, context: Slots): void {
    const out = this.events;
    const none = this.emptySlots;
    this.rawField(out, time, '\\N');
    this.textField(out, name, false);
    out.bytes(origin, 0, origin.length);
    out.byte(SEP);
    this.idField(out, traceId);
    this.idField(out, spanId);
    this.slotText(out, slots, S_CONV, context);
    this.slotText(out, slots, S_EXP, context);
    this.slotText(out, slots, S_VAR, context);
    this.slotNumber(out, slots, S_VER, context);
    this.slotText(out, slots, S_UNIT, context);
    this.slotText(out, slots, S_AID, context);
    this.slotText(out, slots, S_ONAME, none);
    this.slotNumber(out, slots, S_OVAL, none);
    this.slotText(out, slots, S_EVALNAME, none);
    this.slotNumber(out, slots, S_SCORE, none);
    this.slotText(out, slots, S_LABEL, none);
    this.slotText(out, slots, S_EXPL, none);
    this.slotText(out, slots, S_RESPID, none);
    this.slotText(out, slots, S_JMODEL, none);
    this.slotText(out, slots, S_JVER, none);
    this.slotNumber(out, slots, S_RATE, none);
    this.slotText(out, slots, S_SRC, none);
    this.slotText(out, slots, S_FKEY, none);
    this.slotText(out, slots, slots.kind[S_FVAR] !== V_NONE ? S_FVAR : S_FVAR2, none);
    this.slotText(out, slots, S_FREASON, none);
    this.slotText(out, slots, S_FCTX, none);
    this.jsonField(out, slots);
    out.ascii(this.lineNumber);
    out.endRow();
  }
}

const NULL_WORD = enc('null');
const P_KEY = enc('{"key":');
const P_VALUE = enc(',"value":');
const P_QUOTE_COLON = enc('":');
const P_STRING_VALUE = enc('{"stringValue":');
const P_INT_VALUE = enc('{"intValue":');
const P_DOUBLE_VALUE = enc('{"doubleValue":');
const TRUE_WORD = enc('true');
const FALSE_WORD = enc('false');
const SPAN_EVENT = enc('span_event');
const LOG = enc('log');
