/**
 * The OTLP shape rule of the reader: what a TracesData or LogsData line must look like to be read
 * as spans and events. A line that breaks it is a bad line (`not_otlp`: counted, reported, never
 * fatal), as the collector would have refused it; read leniently, `{"resourceSpans": 5}` vanished
 * without a trace and a span with `"traceId": "zz"` became a span no trace could join.
 *
 * The general path (flatten.ts) applies this rule to every line it parses. The fast scanner
 * (scan.ts) falls back to the general path for anything this rule refuses (a list that is not an
 * array, an item that is not an object, a non-empty id that is not hex of its length, a name that
 * is not a string), so the rule is decided here only.
 */

const TRACE_ID = /^[0-9a-fA-F]{32}$/;
const SPAN_ID = /^[0-9a-fA-F]{16}$/;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Absent (missing or null: proto3 JSON's default) is an empty list; anything but an array of objects is a problem. */
function objects(value: unknown, where: string): Json[] | string {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return `${where} is not an array`;
  for (let i = 0; i < value.length; i++) if (!isObject(value[i])) return `${where}[${i}] is not an object`;
  return value as Json[];
}

/**
 * An id is hex of its length, or absent/empty: proto3 JSON's default, which the collector accepts
 * and the OpenTelemetry file exporter's own example writes (read as NULL).
 */
function idProblem(value: unknown, pattern: RegExp, where: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string' && pattern.test(value)) return undefined;
  return `${where} is not ${pattern === TRACE_ID ? 32 : 16} hex characters`;
}

function nameProblem(value: unknown, where: string): string | undefined {
  return value === undefined || value === null || typeof value === 'string' ? undefined : `${where} is not a string`;
}

function spanProblem(span: Json, where: string): string | undefined {
  const problem =
    idProblem(span.traceId, TRACE_ID, `${where}.traceId`) ??
    idProblem(span.spanId, SPAN_ID, `${where}.spanId`) ??
    idProblem(span.parentSpanId, SPAN_ID, `${where}.parentSpanId`) ??
    nameProblem(span.name, `${where}.name`);
  if (problem !== undefined) return problem;
  const events = objects(span.events, `${where}.events`);
  if (typeof events === 'string') return events;
  for (let i = 0; i < events.length; i++) {
    const eventProblem = nameProblem(events[i]!.name, `${where}.events[${i}].name`);
    if (eventProblem !== undefined) return eventProblem;
  }
  return undefined;
}

function logRecordProblem(record: Json, where: string): string | undefined {
  return (
    idProblem(record.traceId, TRACE_ID, `${where}.traceId`) ??
    idProblem(record.spanId, SPAN_ID, `${where}.spanId`) ??
    nameProblem(record.eventName, `${where}.eventName`)
  );
}

/**
 * Walks resource → scope → item lists, checking each item with `check`.
 * `lists` names the three levels, e.g. ['resourceSpans', 'scopeSpans', 'spans'].
 */
function nestedProblem(root: Json, lists: readonly [string, string, string], check: (item: Json, where: string) => string | undefined): string | undefined {
  const [resourceKey, scopeKey, itemKey] = lists;
  const resources = objects(root[resourceKey], resourceKey);
  if (typeof resources === 'string') return resources;
  for (let r = 0; r < resources.length; r++) {
    const scopes = objects(resources[r]![scopeKey], `${resourceKey}[${r}].${scopeKey}`);
    if (typeof scopes === 'string') return scopes;
    for (let s = 0; s < scopes.length; s++) {
      const where = `${resourceKey}[${r}].${scopeKey}[${s}].${itemKey}`;
      const items = objects(scopes[s]![itemKey], where);
      if (typeof items === 'string') return items;
      for (let i = 0; i < items.length; i++) {
        const problem = check(items[i]!, `${where}[${i}]`);
        if (problem !== undefined) return problem;
      }
    }
  }
  return undefined;
}

/**
 * Why a parsed TracesData/LogsData object breaks the reader's OTLP shape rule (the first problem
 * found, with its place), or `undefined` when every span and log record can be read.
 * @example
 * malformedOtlp({ resourceSpans: 5 }); // 'resourceSpans is not an array'
 */
export function malformedOtlp(root: Json): string | undefined {
  return (
    nestedProblem(root, ['resourceSpans', 'scopeSpans', 'spans'], spanProblem) ??
    nestedProblem(root, ['resourceLogs', 'scopeLogs', 'logRecords'], logRecordProblem)
  );
}
