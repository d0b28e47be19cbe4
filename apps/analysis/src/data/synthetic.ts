/**
 * Synthetic OTLP data with known, injected effects: real OTLP JSON Lines (traces + logs) exactly
 * as the Collector's `file` exporter writes them, for end-to-end tests and benchmarks. Every number
 * the analysis should find is also returned as plain records, so a test can compute the expected
 * statistics independently.
 */
import { closeSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { seededRandom } from '@abtel/stats';

/** A product outcome the generator reports per conversation. */
export interface SyntheticOutcome {
  name: string;
  /** `binary`: value 1 with probability `rate[variation]`, else 0. `value`: normal(mean, sd), rounded when `integer`. */
  kind: 'binary' | 'value';
  rate?: Record<string, number>;
  mean?: Record<string, number>;
  sd?: number;
  integer?: boolean;
  /** Share of exposed units that report this outcome at all (missing otherwise). Default 1. */
  coverage?: number;
  /** Minutes after the last call when the outcome is recorded. Default 30. */
  delayMinutes?: number;
}

/** A pre-treatment segment recorded as `abtel.segment.<name>` on exposures. */
export interface SyntheticSegment {
  name: string;
  values: {
    value: string;
    /** Share of units in this segment value (normalised). */
    share: number;
    /** Assignment weights inside this segment (the first segment that sets them wins); default the global weights. */
    weights?: Record<string, number>;
    /** Outcome rates/means inside this segment: outcome name → variation → rate (binary) or mean (value). */
    outcomes?: Record<string, Record<string, number>>;
  }[];
}

/** A time window in which one arm misbehaves (a guardrail breach). */
export interface SyntheticIncident {
  variation: string;
  from: string;
  to: string;
  /** Error probability of calls started inside the window. */
  errorRate?: number;
  /** Latency multiplier of calls started inside the window. */
  latencyMultiplier?: number;
}

/** What to generate. Every field but `conversations` has a default. */
export interface SyntheticSpec {
  conversations: number;
  experimentKey?: string;
  experimentVersion?: number;
  /** Planned variations; the first is the control. Default control/treatment_a/treatment_b, equal weights. */
  variations?: { key: string; weight: number }[];
  /** Weights actually used to assign units (inject an SRM by making them differ from the planned ones). */
  actualWeights?: Record<string, number>;
  /** Override the assignment (e.g. the deterministic `assign()` of @abtel/core). */
  assign?: (unitId: string, segments: Record<string, string>) => string;
  /** Mean gen_ai calls per conversation (uniform on 1..2·mean−1). Default 3. */
  callsPerConversation?: number;
  seed?: number;
  /** First exposure time (ISO). Default 2026-11-01T00:00:00Z. */
  start?: string;
  /** Exposures are spread uniformly over this many hours. Default 24. */
  hours?: number;
  outcomes?: SyntheticOutcome[];
  /** Mean call latency per variation in ms (lognormal-ish). Default 800. */
  latencyMs?: Record<string, number>;
  /** Error probability per variation. Default 0.02. */
  errorRate?: Record<string, number>;
  /** Judge scores (`gen_ai.evaluation.result`) on the first call of a sample of conversations. */
  evaluations?: { name: string; mean: Record<string, number>; sd?: number; sampleRate?: number }[];
  segments?: SyntheticSegment[];
  incidents?: SyntheticIncident[];
  /** Share of units whose exposure event is sent twice. Default 0. */
  duplicateExposureRate?: number;
  /** Conversations with gen_ai calls but no exposure event (must be excluded). Default 0. */
  unexposedConversations?: number;
  /** Outcomes for conversations that were never exposed. Default 0. */
  orphanOutcomes?: number;
  /** Exposures that never made a gen_ai call. Default 0. */
  exposuresWithoutCall?: number;
  /** How events travel: as log records (default) or as span events. */
  eventsAs?: 'log' | 'span_event';
  /** Spans (or log records) per line, like an exporter batch. Default 256. */
  recordsPerLine?: number;
  /** Rotate to a new file after this many lines; the newest file keeps the plain name. Default: one file. */
  linesPerFile?: number;
  gzip?: boolean;
  /** Torn/invalid lines appended to the traces output (their positions are returned). Default 0. */
  badLines?: number;
  /** Return per-unit records (default: when conversations ≤ 100 000). */
  records?: boolean;
}

/** One generated gen_ai call. */
export interface SyntheticCall {
  traceId: string;
  spanId: string;
  startMs: number;
  durationMs: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  error: boolean;
  model: string;
}

/** Everything generated for one conversation (the unit). */
export interface SyntheticUnit {
  conversationId: string;
  variation: string;
  exposed: boolean;
  exposedAtMs: number;
  exposureCount: number;
  segments: Record<string, string>;
  calls: SyntheticCall[];
  /** Outcome name → value (absent = not reported). */
  outcomes: Record<string, number>;
  outcomeTimesMs: Record<string, number>;
  /** Evaluation name → score (absent = not sampled). */
  evaluations: Record<string, number>;
}

/** What was written. */
export interface SyntheticResult {
  dir: string;
  files: { traces: string[]; logs: string[] };
  spans: number;
  genAiSpans: number;
  logRecords: number;
  badLines: { file: string; line: number }[];
  experimentKey: string;
  variations: { key: string; weight: number }[];
  units?: SyntheticUnit[];
}

const DEFAULT_VARIATIONS = [
  { key: 'control', weight: 1 },
  { key: 'treatment_a', weight: 1 },
  { key: 'treatment_b', weight: 1 },
];

function hex(random: () => number, chars: number): string {
  let out = '';
  while (out.length < chars) out += Math.floor(random() * 0x100000000).toString(16).padStart(8, '0');
  return out.slice(0, chars);
}

function normal(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

function pickWeighted(random: () => number, weights: [string, number][]): string {
  const total = weights.reduce((sum, [, w]) => sum + w, 0);
  let r = random() * total;
  for (const [key, w] of weights) {
    r -= w;
    if (r < 0) return key;
  }
  return weights[weights.length - 1]![0];
}

/** Unix nanoseconds as a string (µs precision, exact for the millisecond values generated here). */
function nanos(ms: number): string {
  return `${Math.round(ms * 1000)}000`;
}

/** An OTLP KeyValue; integral numbers travel as `intValue` strings like the JavaScript SDK sends them. */
function attr(key: string, value: string | number | boolean | string[]): string {
  if (typeof value === 'string') return `{"key":${JSON.stringify(key)},"value":{"stringValue":${JSON.stringify(value)}}}`;
  if (typeof value === 'boolean') return `{"key":${JSON.stringify(key)},"value":{"boolValue":${value}}}`;
  if (Array.isArray(value)) {
    const values = value.map((v) => `{"stringValue":${JSON.stringify(v)}}`).join(',');
    return `{"key":${JSON.stringify(key)},"value":{"arrayValue":{"values":[${values}]}}}`;
  }
  if (Number.isInteger(value)) return `{"key":${JSON.stringify(key)},"value":{"intValue":"${value}"}}`;
  return `{"key":${JSON.stringify(key)},"value":{"doubleValue":${value}}}`;
}

/** Writes lines into rotated files: `<signal>-<n>.jsonl[.gz]`, the newest as `<signal>.jsonl[.gz]`. */
class RotatingWriter {
  readonly files: string[] = [];
  private chunks: string[] = [];
  private lines = 0;
  private fileIndex = 0;
  private fd: number | undefined;

  constructor(
    private readonly dir: string,
    private readonly signal: string,
    private readonly linesPerFile: number,
    private readonly gzip: boolean,
  ) {}

  /** Returns the file and 1-based line number the line was written at. */
  write(line: string): { file: string; line: number } {
    if (this.lines >= this.linesPerFile) this.rotate();
    if (this.fd === undefined && !this.gzip) this.open();
    this.lines += 1;
    this.chunks.push(line);
    if (!this.gzip && this.chunks.length >= 64) this.flush();
    return { file: this.currentName(), line: this.lines };
  }

  private currentName(): string {
    const ext = this.gzip ? '.jsonl.gz' : '.jsonl';
    return join(this.dir, `${this.signal}-${String(this.fileIndex).padStart(4, '0')}${ext}`);
  }

  private open(): void {
    this.fd = openSync(this.currentName(), 'w');
    this.files.push(this.currentName());
  }

  private flush(): void {
    if (this.chunks.length === 0) return;
    const text = `${this.chunks.join('\n')}\n`;
    this.chunks = [];
    if (this.gzip) {
      const fd = openSync(this.currentName(), 'w');
      writeSync(fd, gzipSync(Buffer.from(text)));
      closeSync(fd);
      this.files.push(this.currentName());
    } else {
      writeSync(this.fd!, text);
    }
  }

  private rotate(): void {
    this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.fileIndex += 1;
    this.lines = 0;
  }

  /** Closes the newest file and gives it the live name (`traces.jsonl`), like the file exporter's rotation. */
  close(): void {
    this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    const newest = this.files[this.files.length - 1];
    if (newest === undefined) return;
    const live = join(this.dir, `${this.signal}${this.gzip ? '.jsonl.gz' : '.jsonl'}`);
    renameSync(newest, live);
    this.files[this.files.length - 1] = live;
    this.renamed.set(newest, live);
  }

  /** Rotated names that were renamed on close (for positions returned by write()). */
  readonly renamed = new Map<string, string>();
}

const MODELS: Record<number, string> = { 0: 'gpt-4o-mini', 1: 'gpt-4o', 2: 'claude-sonnet' };

/**
 * Writes a synthetic experiment as OTLP JSON Lines into `dir` (traces + logs) and returns what
 * was written, including per-unit records with the true values.
 * @example
 * const result = await writeSyntheticDataset('/tmp/data', {
 *   conversations: 2000,
 *   variations: [{ key: 'control', weight: 1 }, { key: 'treatment', weight: 1 }],
 *   outcomes: [{ name: 'resolved', kind: 'binary', rate: { control: 0.3, treatment: 0.36 } }],
 * });
 * console.log(result.files.traces, result.units?.length);
 */
export async function writeSyntheticDataset(dir: string, spec: SyntheticSpec): Promise<SyntheticResult> {
  mkdirSync(dir, { recursive: true });
  const random = seededRandom(spec.seed ?? 42);
  const key = spec.experimentKey ?? 'support-prompt';
  const version = spec.experimentVersion ?? 1;
  const variations = spec.variations ?? DEFAULT_VARIATIONS;
  const control = variations[0]!.key;
  const actual: [string, number][] = variations.map((v) => [v.key, spec.actualWeights?.[v.key] ?? v.weight]);
  const startMs = Date.parse(spec.start ?? '2026-11-01T00:00:00Z');
  const spanMs = (spec.hours ?? 24) * 3_600_000;
  const meanCalls = spec.callsPerConversation ?? 3;
  const outcomes = spec.outcomes ?? [{ name: 'resolved', kind: 'binary' as const, rate: {} }];
  const perLine = spec.recordsPerLine ?? 256;
  const linesPerFile = spec.linesPerFile ?? Number.MAX_SAFE_INTEGER;
  const gzip = spec.gzip ?? false;
  const keepRecords = spec.records ?? spec.conversations <= 100_000;
  const eventsAsSpanEvents = spec.eventsAs === 'span_event';
  const incidents = (spec.incidents ?? []).map((i) => ({ ...i, fromMs: Date.parse(i.from), toMs: Date.parse(i.to) }));

  const traces = new RotatingWriter(dir, 'traces', linesPerFile, gzip);
  const logs = new RotatingWriter(dir, 'logs', linesPerFile, gzip);
  const resource = `{"attributes":[${attr('service.name', 'support-agent')},${attr('deployment.environment.name', 'test')}]}`;
  const traceLine = (spans: string[]): string =>
    `{"resourceSpans":[{"resource":${resource},"scopeSpans":[{"scope":{"name":"@opentelemetry/instrumentation-openai","version":"0.21.0"},"spans":[${spans.join(',')}]}]}]}`;
  const logLine = (records: string[]): string =>
    `{"resourceLogs":[{"resource":${resource},"scopeLogs":[{"scope":{"name":"@abtel/node"},"logRecords":[${records.join(',')}]}]}]}`;

  let spanBatch: string[] = [];
  let logBatch: string[] = [];
  let spans = 0;
  let genAiSpans = 0;
  let logRecords = 0;
  const pushSpan = (span: string): void => {
    spanBatch.push(span);
    spans += 1;
    if (spanBatch.length >= perLine) {
      traces.write(traceLine(spanBatch));
      spanBatch = [];
    }
  };
  const pushLog = (record: string): void => {
    logBatch.push(record);
    logRecords += 1;
    if (logBatch.length >= perLine) {
      logs.write(logLine(logBatch));
      logBatch = [];
    }
  };
  const eventStyle = { n: 0 };
  /** An event as a log record (alternating `eventName` and the older `event.name` attribute) or a span event. */
  const eventRecord = (name: string, timeMs: number, attributes: string[], traceId: string, spanId: string): string => {
    eventStyle.n += 1;
    if (eventStyle.n % 2 === 0) {
      return `{"timeUnixNano":"${nanos(timeMs)}","observedTimeUnixNano":"${nanos(timeMs)}","severityNumber":9,"attributes":[${[attr('event.name', name), ...attributes].join(',')}],"traceId":"${traceId}","spanId":"${spanId}"}`;
    }
    return `{"timeUnixNano":"${nanos(timeMs)}","observedTimeUnixNano":"${nanos(timeMs)}","severityNumber":9,"eventName":"${name}","attributes":[${attributes.join(',')}],"traceId":"${traceId}","spanId":"${spanId}"}`;
  };

  // Units first (sorted by exposure time), so files are written in time order like a live system.
  const total = spec.conversations + (spec.unexposedConversations ?? 0) + (spec.exposuresWithoutCall ?? 0);
  const plan: { id: string; exposed: boolean; calls: boolean; atMs: number }[] = [];
  for (let i = 0; i < total; i += 1) {
    const unexposed = i >= spec.conversations && i < spec.conversations + (spec.unexposedConversations ?? 0);
    const noCall = i >= spec.conversations + (spec.unexposedConversations ?? 0);
    plan.push({ id: `conv-${String(i).padStart(7, '0')}`, exposed: !unexposed, calls: !noCall, atMs: startMs + random() * spanMs });
  }
  plan.sort((a, b) => a.atMs - b.atMs);

  const units: SyntheticUnit[] = [];
  for (const planned of plan) {
    const segments: Record<string, string> = {};
    let segmentWeights: Record<string, number> | undefined;
    const segmentOutcomes: Record<string, Record<string, number>> = {};
    for (const segment of spec.segments ?? []) {
      const value = pickWeighted(random, segment.values.map((v) => [v.value, v.share]));
      segments[segment.name] = value;
      const chosen = segment.values.find((v) => v.value === value)!;
      if (chosen.weights && !segmentWeights) segmentWeights = chosen.weights;
      for (const [name, byVariation] of Object.entries(chosen.outcomes ?? {})) segmentOutcomes[name] ??= byVariation;
    }
    const variation = spec.assign
      ? spec.assign(planned.id, segments)
      : pickWeighted(random, segmentWeights ? variations.map((v) => [v.key, segmentWeights![v.key] ?? 0]) : actual);
    const unit: SyntheticUnit = {
      conversationId: planned.id,
      variation,
      exposed: planned.exposed,
      exposedAtMs: Math.round(planned.atMs),
      exposureCount: 0,
      segments,
      calls: [],
      outcomes: {},
      outcomeTimesMs: {},
      evaluations: {},
    };
    const common = [
      attr('gen_ai.conversation.id', unit.conversationId),
      attr('abtel.experiment.key', key),
      attr('abtel.experiment.variation', variation),
      attr('abtel.experiment.version', version),
      attr('abtel.assignment.unit', 'conversation'),
    ];

    // gen_ai calls, a few seconds apart.
    const callCount = planned.calls ? 1 + Math.floor(random() * (2 * meanCalls - 1)) : 0;
    let t = unit.exposedAtMs;
    const spanEvents: string[][] = [];
    for (let c = 0; c < callCount; c += 1) {
      const traceId = hex(random, 32);
      const spanId = hex(random, 16);
      const incident = incidents.find((i) => i.variation === variation && t >= i.fromMs && t < i.toMs);
      const meanLatency = (spec.latencyMs?.[variation] ?? 800) * (incident?.latencyMultiplier ?? 1);
      const durationMs = Math.round(Math.max(20, meanLatency * Math.exp(0.3 * normal(random) - 0.045)) * 1000) / 1000;
      const error = random() < (incident?.errorRate ?? spec.errorRate?.[variation] ?? 0.02);
      const inputTokens = 200 + Math.floor(random() * 800);
      const outputTokens = error ? 0 : 50 + Math.floor(random() * 400);
      const model = MODELS[variations.findIndex((v) => v.key === variation) % 3]!;
      const costUsd = Math.round((inputTokens * 0.15 + outputTokens * 0.6) * 1000) / 1e9;
      const call: SyntheticCall = { traceId, spanId, startMs: t, durationMs, inputTokens, outputTokens, costUsd, error, model };
      unit.calls.push(call);
      spanEvents.push([]);
      t = Math.ceil(t + durationMs) + 2000 + Math.floor(random() * 20_000);
    }
    const firstCall = unit.calls[0];
    const anchorTrace = firstCall?.traceId ?? hex(random, 32);
    const anchorSpan = firstCall?.spanId ?? hex(random, 16);
    const emit = (name: string, timeMs: number, attributes: string[]): void => {
      if (eventsAsSpanEvents && spanEvents.length > 0) {
        spanEvents[0]!.push(`{"timeUnixNano":"${nanos(timeMs)}","name":"${name}","attributes":[${attributes.join(',')}]}`);
      } else if (eventsAsSpanEvents) {
        // No call to hang it on: a small non-gen_ai span carries the event.
        const sid = hex(random, 16);
        pushSpan(
          `{"traceId":"${anchorTrace}","spanId":"${sid}","name":"${name}","kind":1,"startTimeUnixNano":"${nanos(timeMs)}","endTimeUnixNano":"${nanos(timeMs)}","attributes":[],"events":[{"timeUnixNano":"${nanos(timeMs)}","name":"${name}","attributes":[${attributes.join(',')}]}],"status":{}}`,
        );
      } else {
        pushLog(eventRecord(name, timeMs, attributes, anchorTrace, anchorSpan));
      }
    };

    if (planned.exposed) {
      const exposure = [
        ...common,
        attr('feature_flag.key', key),
        attr('feature_flag.result.variant', variation),
        attr('feature_flag.result.reason', 'SPLIT'),
        attr('feature_flag.context.id', unit.conversationId),
        attr('feature_flag.provider.name', 'abtel'),
        ...Object.entries(segments).map(([name, value]) => attr(`abtel.segment.${name}`, value)),
      ];
      emit('abtel.exposure', unit.exposedAtMs, exposure);
      unit.exposureCount = 1;
      if (random() < (spec.duplicateExposureRate ?? 0)) {
        emit('abtel.exposure', unit.exposedAtMs + 1500, exposure);
        unit.exposureCount = 2;
      }
    }

    // Outcomes after the last call.
    if (planned.exposed) {
      for (const outcome of outcomes) {
        if (random() >= (outcome.coverage ?? 1)) continue;
        let value: number;
        const override = segmentOutcomes[outcome.name]?.[variation];
        if (outcome.kind === 'binary') {
          const rate = override ?? outcome.rate?.[variation] ?? outcome.rate?.[control] ?? 0.3;
          value = random() < rate ? 1 : 0;
        } else {
          const mean = override ?? outcome.mean?.[variation] ?? outcome.mean?.[control] ?? 3;
          value = mean + (outcome.sd ?? 1) * normal(random);
          value = outcome.integer ? Math.round(value) : Math.round(value * 1e6) / 1e6;
        }
        const at = t + (outcome.delayMinutes ?? 30) * 60_000;
        unit.outcomes[outcome.name] = value;
        unit.outcomeTimesMs[outcome.name] = at;
        emit('abtel.outcome', at, [
          attr('gen_ai.conversation.id', unit.conversationId),
          attr('abtel.outcome.name', outcome.name),
          attr('abtel.outcome.value', value),
          attr('abtel.experiment.key', key),
        ]);
      }
      for (const evaluation of spec.evaluations ?? []) {
        if (!firstCall || random() >= (evaluation.sampleRate ?? 1)) continue;
        const mean = evaluation.mean[variation] ?? evaluation.mean[control] ?? 3;
        const score = Math.min(5, Math.max(1, Math.round(mean + (evaluation.sd ?? 1) * normal(random))));
        unit.evaluations[evaluation.name] = score;
        emit('gen_ai.evaluation.result', firstCall.startMs + firstCall.durationMs + 60_000, [
          attr('gen_ai.evaluation.name', evaluation.name),
          attr('gen_ai.evaluation.score.value', score),
          attr('gen_ai.evaluation.score.label', score >= 4 ? 'pass' : 'fail'),
          attr('gen_ai.response.id', `resp-${firstCall.spanId}`),
          attr('gen_ai.conversation.id', unit.conversationId),
          attr('abtel.evaluation.judge.model', 'judge-mini'),
          attr('abtel.evaluation.judge.version', 'v1'),
          attr('abtel.evaluation.sample_rate', evaluation.sampleRate ?? 1),
          attr('abtel.evaluation.source', 'online'),
        ]);
      }
    }

    unit.calls.forEach((call, index) => {
      const attributes = [
        attr('gen_ai.operation.name', 'chat'),
        attr('gen_ai.provider.name', 'openai'),
        attr('gen_ai.request.model', call.model),
        attr('gen_ai.response.model', `${call.model}-2026-01-01`),
        attr('gen_ai.response.id', `resp-${call.spanId}`),
        attr('gen_ai.usage.input_tokens', call.inputTokens),
        attr('gen_ai.usage.output_tokens', call.outputTokens),
        attr('abtel.usage.cost_usd', call.costUsd),
        ...common,
        ...(call.error ? [attr('error.type', 'rate_limit_exceeded')] : []),
      ];
      const events = spanEvents[index]!.length > 0 ? `,"events":[${spanEvents[index]!.join(',')}]` : '';
      const status = call.error ? '{"code":2,"message":"429 Too Many Requests"}' : '{}';
      pushSpan(
        `{"traceId":"${call.traceId}","spanId":"${call.spanId}","name":"chat ${call.model}","kind":3,"startTimeUnixNano":"${nanos(call.startMs)}","endTimeUnixNano":"${nanos(call.startMs + call.durationMs)}","attributes":[${attributes.join(',')}]${events},"status":${status}}`,
      );
      genAiSpans += 1;
    });
    if (keepRecords) units.push(unit);
  }

  for (let i = 0; i < (spec.orphanOutcomes ?? 0); i += 1) {
    const id = `orphan-${i}`;
    pushLog(
      eventRecord('abtel.outcome', startMs + random() * spanMs, [attr('gen_ai.conversation.id', id), attr('abtel.outcome.name', outcomes[0]!.name), attr('abtel.outcome.value', 1)], hex(random, 32), hex(random, 16)),
    );
  }
  if (spanBatch.length > 0) traces.write(traceLine(spanBatch));
  if (logBatch.length > 0) logs.write(logLine(logBatch));
  const badLines: { file: string; line: number }[] = [];
  for (let i = 0; i < (spec.badLines ?? 0); i += 1) {
    // A torn write: the first half of a valid line, as left by a crash mid-write.
    const torn = traceLine([`{"traceId":"${hex(random, 32)}","spanId":"${hex(random, 16)}","name":"torn"}`]);
    badLines.push(traces.write(torn.slice(0, Math.floor(torn.length / 2))));
  }
  traces.close();
  logs.close();
  for (const bad of badLines) bad.file = traces.renamed.get(bad.file) ?? bad.file;

  const result: SyntheticResult = {
    dir,
    files: { traces: [...new Set(traces.files)], logs: [...new Set(logs.files)] },
    spans,
    genAiSpans,
    logRecords,
    badLines,
    experimentKey: key,
    variations,
  };
  if (keepRecords) result.units = units;
  return result;
}
