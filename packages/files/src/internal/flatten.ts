/**
 * OTLP JSON (Lines) → flat span, event and bad-line rows, written as tab-free text files that
 * DuckDB's parallel CSV reader loads (`loadSql` in columns.ts). One pass per line: JSON.parse
 * (V8's native parser) and a walk that picks the promoted attributes and renders all attributes
 * as one typed JSON object. This replaces DuckDB's json_transform of the whole nested OTLP
 * structure, which cost ~2.6 s CPU per 100k spans; the nested attribute lists are not built at all.
 *
 * Semantics match sql/otlp.sql (the SQL-only path the duckdb CLI runs): numbers are
 * coalesce(doubleValue, intValue) (int64 kept exact in the JSON text), ids lower-cased with ''
 * → NULL, enums as numbers or names, times from unix nanoseconds (0 or missing → NULL).
 */
import { createReadStream } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import type { DataFile } from './discover.js';
import { FIELD_SEPARATOR, NULL_FIELD, ESCAPED_PREFIX } from './columns.js';
import { ByteRows } from './bytes.js';
import { OtlpScanner, STRIP_BITS } from './scan.js';
import { malformedOtlp } from './otlp-shape.js';

/** What flattening one file produced. */
export interface FlattenResult {
  path: string;
  spans: number;
  events: number;
  /** Unreadable lines (invalid JSON, not well-formed OTLP), metrics lines excluded. */
  badLines: number;
  /** Lines holding OTLP metrics (skipped, not an error). */
  metricsLines: number;
  lines: number;
  /** Bytes of the longest row written. */
  longestRow: number;
  /** Lines the fast scanner left to the general path (JSON.parse). */
  generalLines: number;
  /** False when no span or event text field was JSON-escaped (the loader can skip decoding). */
  escapedText: boolean;
}

/** Where the rows of one file go. */
export interface FlattenTargets {
  spans: string;
  events: string;
  bad: string;
}

// Characters that cannot stand verbatim in a field: control characters (field and row
// separators among them) and the backslash (NULL_FIELD and ESCAPED_PREFIX start with one).
const NEEDS_ESCAPE = /[\u0000-\u001f\\]/;

/** A text field: verbatim when safe, else JSON-escaped behind ESCAPED_PREFIX (decoded in SQL). */
function text(value: string | null | undefined): string {
  if (value === null || value === undefined) return NULL_FIELD;
  return NEEDS_ESCAPE.test(value) ? ESCAPED_PREFIX + JSON.stringify(value) : value;
}

function num(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? NULL_FIELD : String(value);
}

/** A JSON field (JSON.stringify output never holds control characters or separators). */
function json(value: string | null): string {
  return value === null ? NULL_FIELD : value;
}

type AnyValue = Record<string, unknown> | null | undefined;
type KeyValue = { key?: unknown; value?: AnyValue };

const INT64 = /^-?\d{1,19}$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** The JSON text of an OTLP int64 (string or number): the exact integer when it fits int64, else the value as a string. */
function intJson(value: unknown): string {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : JSON.stringify(String(value));
  if (typeof value === 'string' && INT64.test(value)) {
    const big = BigInt(value);
    if (big >= INT64_MIN && big <= INT64_MAX) return big.toString();
  }
  return JSON.stringify(value);
}

/** Typed JSON of one AnyValue (as otlp_value_json renders it): kvlists stay as their OTLP JSON. */
function valueJson(v: AnyValue): string {
  if (v === null || typeof v !== 'object') return 'null';
  if (v.stringValue !== undefined && v.stringValue !== null) return JSON.stringify(String(v.stringValue));
  if (v.boolValue !== undefined && v.boolValue !== null) return v.boolValue === true || v.boolValue === 'true' ? 'true' : 'false';
  if (v.intValue !== undefined && v.intValue !== null) return intJson(v.intValue);
  if (v.doubleValue !== undefined && v.doubleValue !== null) {
    const d = typeof v.doubleValue === 'number' ? v.doubleValue : Number(v.doubleValue);
    return Number.isFinite(d) ? JSON.stringify(d) : JSON.stringify(String(v.doubleValue));
  }
  if (v.arrayValue !== undefined && v.arrayValue !== null) {
    const values = (v.arrayValue as { values?: unknown }).values;
    if (!Array.isArray(values)) return '[]';
    return `[${values.map((item) => valueJson(item as AnyValue)).join(',')}]`;
  }
  if (v.kvlistValue !== undefined && v.kvlistValue !== null) return JSON.stringify(v.kvlistValue);
  if (v.bytesValue !== undefined && v.bytesValue !== null) return JSON.stringify(String(v.bytesValue));
  return 'null';
}

/** An AnyValue as text (otlp_value_str): strings as is, numbers and booleans in their text form. */
function valueStr(v: AnyValue): string | null {
  if (v === null || typeof v !== 'object') return null;
  if (v.stringValue !== undefined && v.stringValue !== null) return String(v.stringValue);
  if (v.intValue !== undefined && v.intValue !== null) return String(v.intValue);
  if (v.doubleValue !== undefined && v.doubleValue !== null) return String(v.doubleValue);
  if (v.boolValue !== undefined && v.boolValue !== null) return String(v.boolValue);
  return null;
}

/** An AnyValue as a number (otlp_value_num): coalesce(doubleValue, intValue), booleans 1/0, numeric strings. */
function valueNum(v: AnyValue): number | null {
  if (v === null || typeof v !== 'object') return null;
  const candidates = [v.doubleValue, v.intValue];
  for (const candidate of candidates) {
    if (candidate === undefined || candidate === null) continue;
    const n = typeof candidate === 'number' ? candidate : Number(candidate);
    if (typeof candidate === 'string' && candidate.trim() === '') continue;
    if (Number.isFinite(n)) return n;
  }
  if (v.boolValue !== undefined && v.boolValue !== null) return v.boolValue === true || v.boolValue === 'true' ? 1 : 0;
  if (typeof v.stringValue === 'string' && v.stringValue.trim() !== '') {
    const n = Number(v.stringValue);
    if (Number.isFinite(n)) return n;
  }
  return null;
}

/** Attributes as a key → AnyValue map (first occurrence wins) and their typed JSON object text. */
class Attributes {
  readonly values = new Map<string, AnyValue>();
  readonly json: string;
  /** With `strip`: the STRIP_BITS of the string-valued promoted attributes left out of `json`. */
  stripped = 0;
  constructor(list: unknown, strip = false) {
    if (!Array.isArray(list) || list.length === 0) {
      this.json = '{}';
      return;
    }
    const parts: string[] = [];
    for (const item of list as KeyValue[]) {
      if (item === null || typeof item !== 'object' || typeof item.key !== 'string') continue;
      if (this.values.has(item.key)) continue;
      this.values.set(item.key, item.value);
      const bit = strip ? (STRIP_BITS[item.key] ?? 0) : 0;
      const value = item.value;
      if (bit !== 0 && value !== null && typeof value === 'object' && value.stringValue !== undefined && value.stringValue !== null) {
        this.stripped |= bit;
        continue;
      }
      parts.push(`${JSON.stringify(item.key)}:${valueJson(value)}`);
    }
    this.json = `{${parts.join(',')}}`;
  }
  str(key: string): string | null {
    return valueStr(this.values.get(key));
  }
  num(key: string): number | null {
    return valueNum(this.values.get(key));
  }
}

const DIGITS = /^\d+$/;

/** Unix nanoseconds (string or number) as digits, NULL when missing or 0. */
function nanos(value: unknown): string | null {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? BigInt(Math.trunc(value)).toString() : null;
  if (typeof value === 'string' && DIGITS.test(value) && value.length <= 19) {
    const big = BigInt(value);
    return big > 0n && big <= INT64_MAX ? big.toString() : null;
  }
  return null;
}

function id(value: unknown): string | null {
  if (typeof value !== 'string' || value === '') return null;
  return value.toLowerCase();
}

function str(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
}

const SPAN_KINDS: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};
const STATUS_CODES: Record<string, number> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 };

function enumValue(value: unknown, names: Record<string, number>): number {
  if (typeof value === 'number') return Number.isInteger(value) ? value : Math.trunc(value);
  if (typeof value === 'string') {
    if (/^-?\d+$/.test(value.trim())) return Number.parseInt(value, 10);
    return names[value.toUpperCase()] ?? 0;
  }
  return 0;
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** A string array attribute (abtel.experiments, abtel.assignment.ids) as a JSON array of its string values. */
function stringListJson(v: AnyValue): string | null {
  if (v === null || v === undefined || typeof v !== 'object') return null;
  const array = v.arrayValue as { values?: unknown } | undefined;
  if (!array || typeof array !== 'object') return null;
  const values = list(array.values)
    .map((item) => record(item).stringValue)
    .filter((item): item is string => typeof item === 'string');
  return JSON.stringify(values);
}

/** The experiment context a span passes to its span events. */
interface SpanContext {
  conversation: string | null;
  experiment: string | null;
  variation: string | null;
  version: number | null;
  unit: string | null;
  assignmentId: string | null;
}

const F = FIELD_SEPARATOR;

/** The general path: JSON.parse and a walk, for every line the fast scanner does not take. */
class FlatRows {
  readonly spans: ByteRows;
  readonly events: ByteRows;
  readonly bad: ByteRows;
  badLines = 0;
  metricsLines = 0;
  /** Lines read by the general path (the rest went through the fast scanner). */
  generalLines = 0;
  constructor(targets: FlattenTargets) {
    this.spans = new ByteRows(targets.spans);
    this.events = new ByteRows(targets.events);
    this.bad = new ByteRows(targets.bad, 1 << 16);
  }

  /** Writes out full buffers (between lines only). */
  flushIfFull(): void {
    this.spans.flushIfFull();
    this.events.flushIfFull();
    this.bad.flushIfFull();
  }

  close(): void {
    this.spans.close();
    this.events.close();
    this.bad.close();
  }

  private markBad(line: number, status: 'invalid' | 'not_otlp' | 'metrics'): void {
    if (status === 'metrics') this.metricsLines += 1;
    else this.badLines += 1;
    this.bad.stringRow(`${line}${F}${status}\n`);
  }

  /** Flattens one line (or one whole document) of text. */
  line(content: string, lineNumber: number): void {
    this.generalLines += 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(content);
    } catch {
      if (content.trim() === '') return;
      this.markBad(lineNumber, 'invalid');
      return;
    }
    const root = record(parsed);
    const hasSpans = root.resourceSpans !== undefined && root.resourceSpans !== null;
    const hasLogs = root.resourceLogs !== undefined && root.resourceLogs !== null;
    if (!hasSpans && !hasLogs) {
      const metrics = root.resourceMetrics !== undefined && root.resourceMetrics !== null;
      this.markBad(lineNumber, metrics ? 'metrics' : 'not_otlp');
      return;
    }
    // A line the collector would have refused is bad as a whole: no partial rows from it.
    if (malformedOtlp(root) !== undefined) {
      this.markBad(lineNumber, 'not_otlp');
      return;
    }
    if (hasSpans) this.resourceSpans(list(root.resourceSpans), lineNumber);
    if (hasLogs) this.resourceLogs(list(root.resourceLogs), lineNumber);
  }

  private resourceSpans(resources: unknown[], lineNumber: number): void {
    const source = `${F}${lineNumber}\n`;
    for (const rs of resources) {
      const resource = new Attributes(record(record(rs).resource).attributes);
      const service = text(resource.str('service.name'));
      const resourceJson = json(resource.json);
      for (const ss of list(record(rs).scopeSpans)) {
        const scopeName = str(record(record(ss).scope).name);
        const scope = text(scopeName === '' ? null : scopeName);
        for (const item of list(record(ss).spans)) {
          const s = record(item);
          const a = new Attributes(s.attributes, true);
          const status = record(s.status);
          const statusMessage = str(status.message);
          const ctx: SpanContext = {
            conversation: a.str('gen_ai.conversation.id'),
            experiment: a.str('abtel.experiment.key'),
            variation: a.str('abtel.experiment.variation'),
            version: a.num('abtel.experiment.version'),
            unit: a.str('abtel.assignment.unit'),
            assignmentId: a.str('abtel.assignment.id'),
          };
          const traceId = id(s.traceId);
          const spanId = id(s.spanId);
          this.spans.stringRow(
            text(traceId) + F + text(spanId) + F + text(id(s.parentSpanId)) + F + text(str(s.name)) + F +
              enumValue(s.kind, SPAN_KINDS) + F + text(nanos(s.startTimeUnixNano)) + F + text(nanos(s.endTimeUnixNano)) + F +
              enumValue(status.code, STATUS_CODES) + F + text(statusMessage === '' ? null : statusMessage) + F +
              service + F + scope + F +
              text(ctx.conversation) + F + text(ctx.experiment) + F + text(ctx.variation) + F + num(ctx.version) + F +
              text(ctx.unit) + F + text(ctx.assignmentId) + F + json(stringListJson(a.values.get('abtel.experiments'))) + F +
              json(stringListJson(a.values.get('abtel.assignment.ids'))) + F +
              text(a.str('gen_ai.operation.name')) + F + text(a.str('gen_ai.request.model')) + F +
              text(a.str('gen_ai.response.model')) + F + text(a.str('gen_ai.response.id')) + F +
              num(a.num('gen_ai.usage.input_tokens')) + F + num(a.num('gen_ai.usage.output_tokens')) + F +
              num(a.num('abtel.usage.cost_usd')) + F + text(a.str('error.type')) + F +
              a.stripped + F + json(a.json) + F + resourceJson + source,
          );
          for (const event of list(s.events)) {
            const e = record(event);
            const name = str(e.name);
            if (name === null) continue;
            this.event(nanos(e.timeUnixNano), name, 'span_event', traceId, spanId, new Attributes(e.attributes), ctx, lineNumber);
          }
        }
      }
    }
  }

  private resourceLogs(resources: unknown[], lineNumber: number): void {
    for (const rl of resources) {
      for (const sl of list(record(rl).scopeLogs)) {
        for (const item of list(record(sl).logRecords)) {
          const r = record(item);
          const a = new Attributes(r.attributes);
          const eventName = str(r.eventName);
          const name = eventName !== null && eventName !== '' ? eventName : a.str('event.name');
          // Plain logs (no event name) are not events.
          if (name === null) continue;
          const time = nanos(r.timeUnixNano) ?? nanos(r.observedTimeUnixNano);
          this.event(time, name, 'log', id(r.traceId), id(r.spanId), a, undefined, lineNumber);
        }
      }
    }
  }

  private event(
    time: string | null,
    name: string,
    origin: 'log' | 'span_event',
    traceId: string | null,
    spanId: string | null,
    a: Attributes,
    ctx: SpanContext | undefined,
    lineNumber: number,
  ): void {
    const version = a.num('abtel.experiment.version');
    this.events.stringRow(
      text(time) + F + text(name) + F + origin + F + text(traceId) + F + text(spanId) + F +
        text(a.str('gen_ai.conversation.id') ?? ctx?.conversation) + F +
        text(a.str('abtel.experiment.key') ?? ctx?.experiment) + F +
        text(a.str('abtel.experiment.variation') ?? ctx?.variation) + F +
        num(version ?? ctx?.version) + F +
        text(a.str('abtel.assignment.unit') ?? ctx?.unit) + F +
        text(a.str('abtel.assignment.id') ?? ctx?.assignmentId) + F +
        text(a.str('abtel.outcome.name')) + F + num(a.num('abtel.outcome.value')) + F +
        text(a.str('gen_ai.evaluation.name')) + F + num(a.num('gen_ai.evaluation.score.value')) + F +
        text(a.str('gen_ai.evaluation.score.label')) + F + text(a.str('gen_ai.evaluation.explanation')) + F +
        text(a.str('gen_ai.response.id')) + F + text(a.str('abtel.evaluation.judge.model')) + F +
        text(a.str('abtel.evaluation.judge.version')) + F + num(a.num('abtel.evaluation.sample_rate')) + F +
        text(a.str('abtel.evaluation.source')) + F + text(a.str('feature_flag.key')) + F +
        text(a.str('feature_flag.result.variant') ?? a.str('feature_flag.variant')) + F +
        text(a.str('feature_flag.result.reason')) + F + text(a.str('feature_flag.context.id')) + F +
        json(a.json) + F + lineNumber + '\n',
    );
  }
}

/** Splits a byte stream into lines (LF; a trailing CR is dropped) and hands each to `onLine` with its 1-based number. */
async function forEachLine(
  stream: AsyncIterable<Buffer>,
  onLine: (bytes: Buffer, start: number, end: number, lineNumber: number) => void,
): Promise<void> {
  let pending: Buffer[] = [];
  let lineNumber = 0;
  const emit = (bytes: Buffer, start: number, end: number): void => {
    lineNumber += 1;
    if (end > start && bytes[end - 1] === 0x0d) end -= 1;
    onLine(bytes, start, end, lineNumber);
  };
  for await (const chunk of stream) {
    let start = 0;
    let newline = chunk.indexOf(0x0a, start);
    while (newline !== -1) {
      if (pending.length > 0) {
        pending.push(chunk.subarray(start, newline));
        const whole = Buffer.concat(pending);
        pending = [];
        emit(whole, 0, whole.length);
      } else emit(chunk, start, newline);
      start = newline + 1;
      newline = chunk.indexOf(0x0a, start);
    }
    if (start < chunk.length) pending.push(Buffer.from(chunk.subarray(start)));
  }
  if (pending.length > 0) {
    const whole = Buffer.concat(pending);
    emit(whole, 0, whole.length);
  }
}

/**
 * forEachLine for a plain file: reads into one reused buffer (a fresh 1 MB buffer per stream chunk
 * cost ~10% of the parse in page faults and copies), lines handed out in place; a line longer than
 * the buffer grows it.
 */
async function forEachLineOfFile(
  path: string,
  onLine: (bytes: Buffer, start: number, end: number, lineNumber: number) => void,
): Promise<void> {
  const handle = await openFile(path, 'r');
  let buf = Buffer.allocUnsafe(4 << 20);
  let filled = 0;
  let lineNumber = 0;
  const emit = (bytes: Buffer, start: number, end: number): void => {
    lineNumber += 1;
    if (end > start && bytes[end - 1] === 0x0d) end -= 1;
    onLine(bytes, start, end, lineNumber);
  };
  try {
    for (;;) {
      if (filled === buf.length) {
        const grown = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(grown, 0, 0, filled);
        buf = grown;
      }
      const { bytesRead } = await handle.read(buf, filled, buf.length - filled, null);
      if (bytesRead === 0) break;
      // The bytes before `filled` are the start of an unfinished line: no newline there.
      const view = buf.subarray(0, filled + bytesRead);
      let lineStart = 0;
      let newline = view.indexOf(0x0a, filled);
      while (newline !== -1) {
        emit(view, lineStart, newline);
        lineStart = newline + 1;
        newline = view.indexOf(0x0a, lineStart);
      }
      filled = view.length - lineStart;
      if (lineStart > 0 && filled > 0) buf.copyWithin(0, lineStart, view.length);
    }
    if (filled > 0) emit(buf, 0, filled);
  } finally {
    await handle.close();
  }
}

async function readAll(stream: AsyncIterable<Buffer>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk);
  return Buffer.concat(parts).toString('utf8');
}

function open(file: Pick<DataFile, 'path' | 'gzip'>): AsyncIterable<Buffer> {
  const raw = createReadStream(file.path, { highWaterMark: 1 << 20 });
  return file.gzip ? raw.pipe(createGunzip({ chunkSize: 1 << 20 })) : raw;
}

/**
 * Flattens one OTLP file (JSON Lines or one pretty-printed document, plain or gzip) into the
 * three row files of `targets`. A torn or invalid line becomes a bad-line row with its exact
 * line number; it never aborts the file. A gzip stream that ends early is reported as one
 * invalid line after the last complete one.
 * @example
 * const result = await flattenFile(describeFile('data/traces.jsonl'), { spans: 's.tsv', events: 'e.tsv', bad: 'b.tsv' });
 */
export async function flattenFile(
  file: Pick<DataFile, 'path' | 'gzip' | 'format'>,
  targets: FlattenTargets,
  options: { fastScanner?: boolean } = {},
): Promise<FlattenResult> {
  const fast = options.fastScanner ?? true;
  const rows = new FlatRows(targets);
  let lines = 0;
  try {
    if (file.format === 'document') {
      rows.line(await readAll(open(file)), 1);
      lines = 1;
    } else {
      try {
        const scratch = new ByteRows(undefined, 1 << 16);
        const scanner = new OtlpScanner(rows.spans, rows.events, scratch);
        const onLine = (bytes: Buffer, start: number, end: number, lineNumber: number): void => {
          lines = lineNumber;
          if (end === start) return;
          if (!fast || !scanner.line(bytes, start, end, lineNumber)) rows.line(bytes.toString('utf8', start, end), lineNumber);
          rows.flushIfFull();
        };
        if (file.gzip) await forEachLine(open(file), onLine);
        else await forEachLineOfFile(file.path, onLine);
      } catch (error) {
        // A truncated or corrupt gzip stream: what was read stays; the rest is one bad line.
        if (!file.gzip) throw error;
        rows.bad.stringRow(`${lines + 1}${F}invalid\n`);
        rows.badLines += 1;
      }
    }
  } finally {
    rows.close();
  }
  return { path: file.path, spans: rows.spans.rows, events: rows.events.rows, badLines: rows.badLines, metricsLines: rows.metricsLines, lines, generalLines: rows.generalLines,
    longestRow: Math.max(rows.spans.longest, rows.events.longest, rows.bad.longest), escapedText: rows.spans.escaped || rows.events.escaped };
}
