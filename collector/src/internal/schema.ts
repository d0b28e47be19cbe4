/**
 * The OTLP messages the collector reads, as tables shared by the protobuf decoder and the JSON
 * normaliser. Field numbers and names follow opentelemetry-proto v1 (common, resource, trace, logs,
 * metrics); JSON names are the lowerCamelCase names of the OTLP JSON encoding, and the original
 * snake_case names are accepted too, as proto3 JSON parsers must.
 */

/** How a field is stored on the wire and written in OTLP JSON. */
export type FieldKind =
  | 'string'
  | 'bool'
  | 'uint32' // varint, JSON number
  | 'int32' // varint, JSON number
  | 'sint32' // zig-zag varint, JSON number
  | 'enum' // varint, JSON number (names accepted on input)
  | 'fixed32' // JSON number
  | 'uint64' // varint, JSON string
  | 'int64' // varint (two's complement), JSON string
  | 'fixed64' // JSON string
  | 'sfixed64' // JSON string
  | 'double' // JSON number, or "NaN"/"Infinity"/"-Infinity"
  | 'traceId' // 16 bytes, JSON lower-case hex
  | 'spanId' // 8 bytes, JSON lower-case hex
  | 'bytes' // JSON base64
  | 'message';

export interface FieldSpec {
  readonly no: number;
  readonly name: string;
  readonly snake: string;
  readonly kind: FieldKind;
  readonly repeated: boolean;
  /** For kind 'message'; a thunk because AnyValue is recursive. */
  readonly message?: () => MessageSpec;
  readonly enumNames?: Readonly<Record<string, number>>;
  /** Items of this list are what partial success counts (spans, log records, data points). */
  readonly countsItems: boolean;
  /** A zero value is meaningful (oneof members and `optional` fields): never omitted. */
  readonly presence: boolean;
}

export interface MessageSpec {
  readonly name: string;
  readonly fields: readonly FieldSpec[];
  /** Field by number (sparse). */
  readonly byNumber: readonly (FieldSpec | undefined)[];
  /** Field by JSON name and by snake_case name. */
  readonly byName: ReadonlyMap<string, FieldSpec>;
  /** Only one field may be set (AnyValue). */
  readonly oneof: boolean;
}

type FieldInit = [no: number, name: string, kind: FieldKind, options?: { repeated?: boolean; message?: () => MessageSpec; enumNames?: Record<string, number>; countsItems?: boolean }];

function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

// Members of a oneof (`asDouble`/`asInt`) and proto3 `optional` fields (`sum`, `min`, `max`).
const PRESENCE_FIELDS = new Set(['asDouble', 'asInt', 'sum', 'min', 'max']);

function message(name: string, inits: FieldInit[], oneof = false): MessageSpec {
  const fields: FieldSpec[] = inits.map(([no, fieldName, kind, options]) => ({
    no,
    name: fieldName,
    snake: snakeCase(fieldName),
    kind,
    repeated: options?.repeated ?? false,
    ...(options?.message ? { message: options.message } : {}),
    ...(options?.enumNames ? { enumNames: options.enumNames } : {}),
    countsItems: options?.countsItems ?? false,
    presence: oneof || PRESENCE_FIELDS.has(fieldName),
  }));
  const byNumber: (FieldSpec | undefined)[] = [];
  const byName = new Map<string, FieldSpec>();
  for (const field of fields) {
    byNumber[field.no] = field;
    byName.set(field.name, field);
    byName.set(field.snake, field);
  }
  return { name, fields, byNumber, byName, oneof };
}

const list = { repeated: true } as const;
const msg = (spec: () => MessageSpec, extra: { repeated?: boolean; countsItems?: boolean } = {}) => ({ message: spec, ...extra });

const SPAN_KIND = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};
const STATUS_CODE = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 };
const AGGREGATION_TEMPORALITY = {
  AGGREGATION_TEMPORALITY_UNSPECIFIED: 0,
  AGGREGATION_TEMPORALITY_DELTA: 1,
  AGGREGATION_TEMPORALITY_CUMULATIVE: 2,
};
const SEVERITY_NUMBER: Record<string, number> = { SEVERITY_NUMBER_UNSPECIFIED: 0 };
['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'].forEach((level, index) => {
  for (let step = 1; step <= 4; step++) SEVERITY_NUMBER[`SEVERITY_NUMBER_${level}${step === 1 ? '' : step}`] = index * 4 + step;
});

// common.proto
export const AnyValue: MessageSpec = message(
  'AnyValue',
  [
    [1, 'stringValue', 'string'],
    [2, 'boolValue', 'bool'],
    [3, 'intValue', 'int64'],
    [4, 'doubleValue', 'double'],
    [5, 'arrayValue', 'message', msg(() => ArrayValue)],
    [6, 'kvlistValue', 'message', msg(() => KeyValueList)],
    [7, 'bytesValue', 'bytes'],
  ],
  true,
);
const ArrayValue: MessageSpec = message('ArrayValue', [[1, 'values', 'message', msg(() => AnyValue, list)]]);
const KeyValue: MessageSpec = message('KeyValue', [
  [1, 'key', 'string'],
  [2, 'value', 'message', msg(() => AnyValue)],
]);
const KeyValueList: MessageSpec = message('KeyValueList', [[1, 'values', 'message', msg(() => KeyValue, list)]]);
const attributes = (no: number, name = 'attributes'): FieldInit => [no, name, 'message', msg(() => KeyValue, list)];
const InstrumentationScope: MessageSpec = message('InstrumentationScope', [
  [1, 'name', 'string'],
  [2, 'version', 'string'],
  attributes(3),
  [4, 'droppedAttributesCount', 'uint32'],
]);
const EntityRef: MessageSpec = message('EntityRef', [
  [1, 'schemaUrl', 'string'],
  [2, 'type', 'string'],
  [3, 'idKeys', 'string', list],
  [4, 'descriptionKeys', 'string', list],
]);
// resource.proto
const Resource: MessageSpec = message('Resource', [attributes(1), [2, 'droppedAttributesCount', 'uint32'], [3, 'entityRefs', 'message', msg(() => EntityRef, list)]]);

// trace.proto
const Status: MessageSpec = message('Status', [
  [2, 'message', 'string'],
  [3, 'code', 'enum', { enumNames: STATUS_CODE }],
]);
const SpanEvent: MessageSpec = message('Span.Event', [
  [1, 'timeUnixNano', 'fixed64'],
  [2, 'name', 'string'],
  attributes(3),
  [4, 'droppedAttributesCount', 'uint32'],
]);
const SpanLink: MessageSpec = message('Span.Link', [
  [1, 'traceId', 'traceId'],
  [2, 'spanId', 'spanId'],
  [3, 'traceState', 'string'],
  attributes(4),
  [5, 'droppedAttributesCount', 'uint32'],
  [6, 'flags', 'fixed32'],
]);
const Span: MessageSpec = message('Span', [
  [1, 'traceId', 'traceId'],
  [2, 'spanId', 'spanId'],
  [3, 'traceState', 'string'],
  [4, 'parentSpanId', 'spanId'],
  [16, 'flags', 'fixed32'],
  [5, 'name', 'string'],
  [6, 'kind', 'enum', { enumNames: SPAN_KIND }],
  [7, 'startTimeUnixNano', 'fixed64'],
  [8, 'endTimeUnixNano', 'fixed64'],
  attributes(9),
  [10, 'droppedAttributesCount', 'uint32'],
  [11, 'events', 'message', msg(() => SpanEvent, list)],
  [12, 'droppedEventsCount', 'uint32'],
  [13, 'links', 'message', msg(() => SpanLink, list)],
  [14, 'droppedLinksCount', 'uint32'],
  [15, 'status', 'message', msg(() => Status)],
]);
const ScopeSpans: MessageSpec = message('ScopeSpans', [
  [1, 'scope', 'message', msg(() => InstrumentationScope)],
  [2, 'spans', 'message', msg(() => Span, { repeated: true, countsItems: true })],
  [3, 'schemaUrl', 'string'],
]);
const ResourceSpans: MessageSpec = message('ResourceSpans', [
  [1, 'resource', 'message', msg(() => Resource)],
  [2, 'scopeSpans', 'message', msg(() => ScopeSpans, list)],
  [3, 'schemaUrl', 'string'],
]);
/** `TracesData` and `ExportTraceServiceRequest` share their wire and JSON shape. */
export const TracesData: MessageSpec = message('TracesData', [[1, 'resourceSpans', 'message', msg(() => ResourceSpans, list)]]);

// logs.proto
const LogRecord: MessageSpec = message('LogRecord', [
  [1, 'timeUnixNano', 'fixed64'],
  [11, 'observedTimeUnixNano', 'fixed64'],
  [2, 'severityNumber', 'enum', { enumNames: SEVERITY_NUMBER }],
  [3, 'severityText', 'string'],
  [5, 'body', 'message', msg(() => AnyValue)],
  attributes(6),
  [7, 'droppedAttributesCount', 'uint32'],
  [8, 'flags', 'fixed32'],
  [9, 'traceId', 'traceId'],
  [10, 'spanId', 'spanId'],
  [12, 'eventName', 'string'],
]);
const ScopeLogs: MessageSpec = message('ScopeLogs', [
  [1, 'scope', 'message', msg(() => InstrumentationScope)],
  [2, 'logRecords', 'message', msg(() => LogRecord, { repeated: true, countsItems: true })],
  [3, 'schemaUrl', 'string'],
]);
const ResourceLogs: MessageSpec = message('ResourceLogs', [
  [1, 'resource', 'message', msg(() => Resource)],
  [2, 'scopeLogs', 'message', msg(() => ScopeLogs, list)],
  [3, 'schemaUrl', 'string'],
]);
/** `LogsData` and `ExportLogsServiceRequest` share their wire and JSON shape. */
export const LogsData: MessageSpec = message('LogsData', [[1, 'resourceLogs', 'message', msg(() => ResourceLogs, list)]]);

// metrics.proto
const Exemplar: MessageSpec = message('Exemplar', [
  attributes(7, 'filteredAttributes'),
  [2, 'timeUnixNano', 'fixed64'],
  [3, 'asDouble', 'double'],
  [6, 'asInt', 'sfixed64'],
  [4, 'spanId', 'spanId'],
  [5, 'traceId', 'traceId'],
]);
const NumberDataPoint: MessageSpec = message('NumberDataPoint', [
  attributes(7),
  [2, 'startTimeUnixNano', 'fixed64'],
  [3, 'timeUnixNano', 'fixed64'],
  [4, 'asDouble', 'double'],
  [6, 'asInt', 'sfixed64'],
  [5, 'exemplars', 'message', msg(() => Exemplar, list)],
  [8, 'flags', 'uint32'],
]);
const HistogramDataPoint: MessageSpec = message('HistogramDataPoint', [
  attributes(9),
  [2, 'startTimeUnixNano', 'fixed64'],
  [3, 'timeUnixNano', 'fixed64'],
  [4, 'count', 'fixed64'],
  [5, 'sum', 'double'],
  [6, 'bucketCounts', 'fixed64', list],
  [7, 'explicitBounds', 'double', list],
  [8, 'exemplars', 'message', msg(() => Exemplar, list)],
  [10, 'flags', 'uint32'],
  [11, 'min', 'double'],
  [12, 'max', 'double'],
]);
const Buckets: MessageSpec = message('ExponentialHistogramDataPoint.Buckets', [
  [1, 'offset', 'sint32'],
  [2, 'bucketCounts', 'uint64', list],
]);
const ExponentialHistogramDataPoint: MessageSpec = message('ExponentialHistogramDataPoint', [
  attributes(1),
  [2, 'startTimeUnixNano', 'fixed64'],
  [3, 'timeUnixNano', 'fixed64'],
  [4, 'count', 'fixed64'],
  [5, 'sum', 'double'],
  [6, 'scale', 'sint32'],
  [7, 'zeroCount', 'fixed64'],
  [8, 'positive', 'message', msg(() => Buckets)],
  [9, 'negative', 'message', msg(() => Buckets)],
  [10, 'flags', 'uint32'],
  [11, 'exemplars', 'message', msg(() => Exemplar, list)],
  [12, 'min', 'double'],
  [13, 'max', 'double'],
  [14, 'zeroThreshold', 'double'],
]);
const ValueAtQuantile: MessageSpec = message('SummaryDataPoint.ValueAtQuantile', [
  [1, 'quantile', 'double'],
  [2, 'value', 'double'],
]);
const SummaryDataPoint: MessageSpec = message('SummaryDataPoint', [
  attributes(7),
  [2, 'startTimeUnixNano', 'fixed64'],
  [3, 'timeUnixNano', 'fixed64'],
  [4, 'count', 'fixed64'],
  [5, 'sum', 'double'],
  [6, 'quantileValues', 'message', msg(() => ValueAtQuantile, list)],
  [8, 'flags', 'uint32'],
]);
const points = (spec: () => MessageSpec): FieldInit => [1, 'dataPoints', 'message', msg(spec, { repeated: true, countsItems: true })];
const temporality: FieldInit = [2, 'aggregationTemporality', 'enum', { enumNames: AGGREGATION_TEMPORALITY }];
const Gauge: MessageSpec = message('Gauge', [points(() => NumberDataPoint)]);
const Sum: MessageSpec = message('Sum', [points(() => NumberDataPoint), temporality, [3, 'isMonotonic', 'bool']]);
const Histogram: MessageSpec = message('Histogram', [points(() => HistogramDataPoint), temporality]);
const ExponentialHistogram: MessageSpec = message('ExponentialHistogram', [points(() => ExponentialHistogramDataPoint), temporality]);
const Summary: MessageSpec = message('Summary', [points(() => SummaryDataPoint)]);
const Metric: MessageSpec = message('Metric', [
  [1, 'name', 'string'],
  [2, 'description', 'string'],
  [3, 'unit', 'string'],
  [5, 'gauge', 'message', msg(() => Gauge)],
  [7, 'sum', 'message', msg(() => Sum)],
  [9, 'histogram', 'message', msg(() => Histogram)],
  [10, 'exponentialHistogram', 'message', msg(() => ExponentialHistogram)],
  [11, 'summary', 'message', msg(() => Summary)],
  attributes(12, 'metadata'),
]);
const ScopeMetrics: MessageSpec = message('ScopeMetrics', [
  [1, 'scope', 'message', msg(() => InstrumentationScope)],
  [2, 'metrics', 'message', msg(() => Metric, list)],
  [3, 'schemaUrl', 'string'],
]);
const ResourceMetrics: MessageSpec = message('ResourceMetrics', [
  [1, 'resource', 'message', msg(() => Resource)],
  [2, 'scopeMetrics', 'message', msg(() => ScopeMetrics, list)],
  [3, 'schemaUrl', 'string'],
]);
/** `MetricsData` and `ExportMetricsServiceRequest` share their wire and JSON shape. */
export const MetricsData: MessageSpec = message('MetricsData', [[1, 'resourceMetrics', 'message', msg(() => ResourceMetrics, list)]]);
