/**
 * A small, independent reader of the OTLP JSON Lines files a collector writes, used by the demo
 * to wait until everything the agent sent has landed and to print per-arm counts. It is
 * deliberately separate from the DuckDB analysis, so that the count check does not trust the
 * thing it checks.
 */
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';

interface AnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: AnyValue[] };
}
interface KeyValue {
  key: string;
  value?: AnyValue;
}
interface OtlpEvent {
  name?: string;
  attributes?: KeyValue[];
}
interface OtlpSpan {
  name?: string;
  attributes?: KeyValue[];
  events?: OtlpEvent[];
  status?: { code?: number | string };
}
interface OtlpLogRecord {
  eventName?: string;
  attributes?: KeyValue[];
}
interface OtlpLine {
  resourceSpans?: { scopeSpans?: { spans?: OtlpSpan[] }[] }[];
  resourceLogs?: { scopeLogs?: { logRecords?: OtlpLogRecord[] }[] }[];
}

type Scalar = string | number | boolean | Scalar[] | undefined;

function valueOf(value: AnyValue | undefined): Scalar {
  if (!value) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.doubleValue !== undefined) return Number(value.doubleValue);
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(valueOf);
  return undefined;
}

function attributesOf(list: KeyValue[] | undefined): Record<string, Scalar> {
  const out: Record<string, Scalar> = {};
  for (const kv of list ?? []) out[kv.key] = valueOf(kv.value);
  return out;
}

/** One `abtel.outcome` as found in the files. */
export interface OutcomeRecord {
  conversationId: string;
  name: string;
  value: number;
}

/** What a scan of a telemetry directory found. */
export interface TelemetryCounts {
  files: number;
  lines: number;
  /** Lines that were not valid JSON (a torn final line after a crash, for example). */
  badLines: { file: string; line: number }[];
  spans: number;
  /** Spans whose name starts with `chat` (gen_ai chat calls). */
  chatSpans: number;
  chatErrorSpans: number;
  /** Per conversation id, per experiment key: the set of variations seen on its spans. */
  spanVariations: Map<string, Map<string, Set<string>>>;
  /** Conversations with at least one span. */
  conversations: Set<string>;
  /** Events by name (log records with an event name and span events). */
  events: Record<string, number>;
  /** First variation exposed per experiment and conversation. */
  exposures: Map<string, Map<string, string>>;
  outcomes: OutcomeRecord[];
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && /\.jsonl(\.gz)?$/.test(entry.name))
    // `parentPath` is Node >= 20.12; older 20.x name it `path`.
    .map((entry) => join((entry as { parentPath?: string }).parentPath ?? (entry as { path?: string }).path ?? dir, entry.name))
    // Hidden directories hold derived data (compaction manifests and Parquet), not telemetry.
    .filter((path) => !relative(dir, path).split(sep).some((part) => part.startsWith('.')))
    .sort();
}

function countEvent(counts: TelemetryCounts, name: string, attributes: Record<string, Scalar>): void {
  counts.events[name] = (counts.events[name] ?? 0) + 1;
  const conversationId = attributes['gen_ai.conversation.id'];
  if (typeof conversationId !== 'string') return;
  if (name === 'abtel.exposure') {
    const key = attributes['abtel.experiment.key'];
    const variation = attributes['abtel.experiment.variation'];
    if (typeof key !== 'string' || typeof variation !== 'string') return;
    const perExperiment = counts.exposures.get(key) ?? new Map<string, string>();
    counts.exposures.set(key, perExperiment);
    if (!perExperiment.has(conversationId)) perExperiment.set(conversationId, variation);
  } else if (name === 'abtel.outcome') {
    const outcome = attributes['abtel.outcome.name'];
    const value = attributes['abtel.outcome.value'];
    if (typeof outcome === 'string' && typeof value === 'number') counts.outcomes.push({ conversationId, name: outcome, value });
  }
}

function countSpan(counts: TelemetryCounts, span: OtlpSpan): void {
  counts.spans += 1;
  const attributes = attributesOf(span.attributes);
  const isChat = (span.name ?? '').startsWith('chat');
  if (isChat) {
    counts.chatSpans += 1;
    if (span.status?.code === 2 || span.status?.code === 'STATUS_CODE_ERROR') counts.chatErrorSpans += 1;
  }
  const conversationId = attributes['gen_ai.conversation.id'];
  if (typeof conversationId === 'string') {
    counts.conversations.add(conversationId);
    const perConversation = counts.spanVariations.get(conversationId) ?? new Map<string, Set<string>>();
    counts.spanVariations.set(conversationId, perConversation);
    const key = attributes['abtel.experiment.key'];
    const variation = attributes['abtel.experiment.variation'];
    if (typeof key === 'string' && typeof variation === 'string') {
      const set = perConversation.get(key) ?? new Set<string>();
      set.add(variation);
      perConversation.set(key, set);
    }
    // With several experiments active the full list is in `abtel.experiments` (`key=variation`).
    const list = attributes['abtel.experiments'];
    if (Array.isArray(list)) {
      for (const entry of list) {
        if (typeof entry !== 'string' || !entry.includes('=')) continue;
        const [experimentKey = '', experimentVariation = ''] = entry.split('=', 2);
        const set = perConversation.get(experimentKey) ?? new Set<string>();
        set.add(experimentVariation);
        perConversation.set(experimentKey, set);
      }
    }
  }
  for (const event of span.events ?? []) {
    if (event.name) countEvent(counts, event.name, { ...attributes, ...attributesOf(event.attributes) });
  }
}

/**
 * Scans every `*.jsonl` / `*.jsonl.gz` file under `dir` (OTLP JSON Lines, one TracesData or
 * LogsData per line, as abtel's collector and the Collector's `file` exporter write them).
 * @example
 * const counts = await scanTelemetry('./abtel-demo/data');
 * console.log(counts.chatSpans, counts.events['abtel.exposure']);
 */
export async function scanTelemetry(dir: string): Promise<TelemetryCounts> {
  const counts: TelemetryCounts = {
    files: 0,
    lines: 0,
    badLines: [],
    spans: 0,
    chatSpans: 0,
    chatErrorSpans: 0,
    spanVariations: new Map(),
    conversations: new Set(),
    events: {},
    exposures: new Map(),
    outcomes: [],
  };
  for (const file of await listFiles(dir)) {
    counts.files += 1;
    const raw = createReadStream(file);
    const input = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
    let lineNumber = 0;
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      lineNumber += 1;
      if (line.trim() === '') continue;
      counts.lines += 1;
      let parsed: OtlpLine;
      try {
        parsed = JSON.parse(line) as OtlpLine;
      } catch {
        counts.badLines.push({ file, line: lineNumber });
        continue;
      }
      for (const resource of parsed.resourceSpans ?? []) {
        for (const scope of resource.scopeSpans ?? []) for (const span of scope.spans ?? []) countSpan(counts, span);
      }
      for (const resource of parsed.resourceLogs ?? []) {
        for (const scope of resource.scopeLogs ?? []) {
          for (const record of scope.logRecords ?? []) {
            const attributes = attributesOf(record.attributes);
            const name = record.eventName || (typeof attributes['event.name'] === 'string' ? attributes['event.name'] : undefined);
            if (name) countEvent(counts, name, attributes);
          }
        }
      }
    }
  }
  return counts;
}

/** Per-arm figures computed directly from the files (no DuckDB, no inference). */
export interface ArmCounts {
  variation: string;
  exposed: number;
  resolved: number;
  csatCount: number;
  csatSum: number;
}

/**
 * Exposed conversations per variation of one experiment, with the resolution and CSAT outcomes
 * joined by conversation id.
 * @example
 * armCounts(await scanTelemetry(dir), 'support-retrieval', 'support_conversation_resolved', 'csat');
 */
export function armCounts(counts: TelemetryCounts, experimentKey: string, resolvedOutcome: string, csatOutcome: string): ArmCounts[] {
  const exposures = counts.exposures.get(experimentKey) ?? new Map<string, string>();
  const arms = new Map<string, ArmCounts>();
  for (const variation of exposures.values()) {
    if (!arms.has(variation)) arms.set(variation, { variation, exposed: 0, resolved: 0, csatCount: 0, csatSum: 0 });
  }
  for (const variation of exposures.values()) (arms.get(variation) as ArmCounts).exposed += 1;
  for (const outcome of counts.outcomes) {
    const variation = exposures.get(outcome.conversationId);
    if (variation === undefined) continue;
    const arm = arms.get(variation) as ArmCounts;
    if (outcome.name === resolvedOutcome) arm.resolved += outcome.value;
    else if (outcome.name === csatOutcome) {
      arm.csatCount += 1;
      arm.csatSum += outcome.value;
    }
  }
  return [...arms.values()].sort((a, b) => (a.variation < b.variation ? -1 : 1));
}
