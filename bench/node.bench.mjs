#!/usr/bin/env node
// Span start+end throughput of the real OpenTelemetry SDK with the abtel span processor stamping
// 6 attributes (gen_ai.conversation.id, abtel.experiment.key/variation/version,
// abtel.assignment.unit/id) against the bare SDK with the same discarding exporter, measured in
// the same run: paired rounds in ABBA order, each timed run after a full GC, medians of the
// per-round CPU-time ratios with a distribution-free 95 % confidence interval of the median (order
// statistics of the binomial), so that "<= 1.05" is a statement about the median and not about one
// lucky run. Then memory over many spans across
// many conversations (each conversation routed, stamped and exposed once at a gen_ai span):
// heap and RSS after a warm-up and at the end, after a forced GC.
// abtel runs as `abtel.spanProcessor({ next: batch })` (one processor in the provider, as the
// drop-in sets it up) except in scenario (5), and with `abtel.sampler()` (the drop-in's sampler
// when OTEL_TRACES_SAMPLER is unset: the provider's default decisions, wrapped) except in
// scenario (4); the bare side has the provider's default sampler.
// Scenarios: (1) bare SDK spans with no attributes of their own (what the goal is stated for),
// (2) spans carrying the 8 attributes instrumentation-openai sets at start, (3) as (1) in
// conversations whose exposure is already out (in (1) and (2) every span still checks whether it is
// the conversation's first gen_ai span), (3a) as (1) with spans started by `startActiveSpan` under
// the AsyncLocalStorage context manager, as NodeSDK apps and instrumentations start them (a context
// made and entered per span), (3a') as (3a) with the bare side on the API's own contexts, as the
// same application without abtel has them (all other scenarios run both sides on abtel's
// conversation contexts, which are cheaper to derive and read), (3b) as (3) with the conversations' spans 8 in a row, as
// an agent turn makes them, instead of one conversation after another at every span, (4) as (1) with the processor alone (the provider's
// default sampler on both sides), (4') as (2) with the processor alone, (5) as (1) with the standalone form
// `[abtel.spanProcessor(), batch]` (two processors in the provider), (6) abtel against a
// processor that sets the same 6 attribute values from a precomputed list with
// `span.setAttributes` (the SDK's validating path, which abtel used to take and now bypasses on
// the SDK's own span): below 1 means abtel stamps more cheaply than that path.
// Each scenario runs in a process of its own holding only its two set-ups, as an application
// holds one: V8's inline caches and inlining decisions in the SDK's code then see what they would
// in that application, not every set-up of this file (which made the first scenario measured
// differ from the same scenario measured later).
//
// Usage: node --expose-gc node.bench.mjs [--rounds 44] [--processes 4] [--spans 200000] [--full]
//   [--only aa,empty] (a subset of the scenarios) [--no-memory] (throughput only, nothing written)
//   diagnostic scenarios, run only when named in --only: forward, lookup, stores, minimal (pieces of
//   abtel's per-span work alone, against the bare SDK: where the overhead goes)
//   default memory run: 3,000,000 spans across 300,000 conversations;
//   --full: 10,000,000 spans across 1,000,000 conversations (about 1-2 minutes on 2 cores).
// Writes results/node.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ExperimentDefinition, ExperimentSet } from '@abtel/core';
import { createAbtel } from '@abtel/node';
import { median } from './support.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    // Rounds of 100,000 spans spread twice as wide as rounds of 200,000 on a loaded machine
    // (interquartile range of the per-round ratios 0.92-1.32 against 1.01-1.14).
    // 44 rounds in all: the 95 % interval of the median spans the 16th to the 29th of the sorted ratios.
    rounds: { type: 'string', default: '44' },
    // Rounds are split over this many processes per scenario and pooled: V8's inlining decisions
    // differ from process to process (by a few percent of a span here), so one process is one draw.
    // An even number: half of them create and time the candidate first.
    processes: { type: 'string', default: '4' },
    spans: { type: 'string', default: '200000' },
    full: { type: 'boolean', default: false },
    // Comma-separated scenario names to run (all by default), e.g. `--only aa,empty`.
    only: { type: 'string' },
    // Skip the memory run (for quick throughput comparisons).
    'no-memory': { type: 'boolean', default: false },
    // Internal: run one throughput scenario and print its result as JSON.
    scenario: { type: 'string' },
    'candidate-first': { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(values.rounds);
const PROCESSES = Number(values.processes);
const SPANS_PER_ROUND = Number(values.spans);
const WARM_UP_ROUNDS = 3;
const MEMORY_SPANS = values.full ? 10_000_000 : 3_000_000;
const MEMORY_CONVERSATIONS = values.full ? 1_000_000 : 300_000;
// Every bounded structure (100,000 entries at most) is full by then: growth after it would be a leak.
const MEMORY_BASELINE_AT = 150_000;
const CONTEXTS = 1000;

/** A synchronous stack context manager: the loops below are synchronous, so this is exact and adds no async-hooks cost to either side. */
class StackContextManager {
  #stack = [];
  active() {
    return this.#stack.length === 0 ? ROOT_CONTEXT : this.#stack[this.#stack.length - 1];
  }
  with(ctx, fn, thisArg, ...args) {
    this.#stack.push(ctx);
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.#stack.pop();
    }
  }
  bind(_ctx, target) {
    return target;
  }
  enable() {
    return this;
  }
  disable() {
    this.#stack = [];
    return this;
  }
}
// Scenarios that start spans the way instrumentations and `startActiveSpan` do, under the context
// manager NodeSDK registers (AsyncLocalStorage): a context and an AsyncLocalStorage.run per span.
const ACTIVE_SPAN_SCENARIOS = new Set(['active', 'activeApp']);
context.setGlobalContextManager(
  ACTIVE_SPAN_SCENARIOS.has(values.scenario) ? new AsyncLocalStorageContextManager().enable() : new StackContextManager(),
);

/** An exporter that drops everything but counts (and keeps the first span), so the run can prove no span was dropped by a full queue. */
function discardingExporter() {
  const exporter = {
    exported: 0,
    first: undefined,
    export: (spans, done) => {
      exporter.first ??= spans[0];
      exporter.exported += spans.length;
      done({ code: 0 });
    },
    shutdown: () => Promise.resolve(),
    forceFlush: () => Promise.resolve(),
  };
  return exporter;
}
const discardLogs = { export: (_records, done) => done({ code: 0 }), shutdown: () => Promise.resolve(), forceFlush: () => Promise.resolve() };

const experiments = new ExperimentSet([
  ExperimentDefinition.parse({
    key: 'support-retrieval',
    version: 2,
    owner: 'bench',
    surface: 'retrieval',
    unit: 'user',
    state: 'running',
    control: 'bm25',
    variations: [
      { key: 'bm25', weight: 1, config: { topK: 5 } },
      { key: 'hybrid', weight: 1, config: { topK: 8 } },
    ],
  }),
]);

const loggerProvider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: discardLogs })] });
const abtel = createAbtel({ experiments, loggerProvider });
// The production set-up on every side: a BatchSpanProcessor (default settings) in front of a
// discarding exporter that counts, so the run can prove no span was dropped by a full queue.
/**
 * A tracer provider with the given processors in front of a batch processor, or with `wrap(batch)`
 * as its one processor (a processor that forwards to the batch processor), and its exporter.
 */
function setUp(before, wrap = undefined, sampled = false) {
  const exporter = discardingExporter();
  const batch = new BatchSpanProcessor(exporter);
  const spanProcessors = wrap ? [wrap(batch)] : [...before, batch];
  // abtel's set-ups also have the sampler the drop-in installs when OTEL_TRACES_SAMPLER is unset:
  // `abtel.sampler()`, the provider's default decisions (parent-based, always on) wrapped; the
  // bare side has the provider's default sampler itself.
  const sampler = sampled ? { sampler: abtel.sampler() } : {};
  return { provider: new BasicTracerProvider({ spanProcessors, ...sampler }), exporter, batch };
}

// Same per-conversation values as abtel stamps, visited in the same order as the contexts, so the
// comparison with the `setAttributes` processor holds the memory access pattern constant and
// differs only by abtel's own work.
const fixedStamps = [];
let nextStamp = 0;
const fixedStamper = {
  onStart: (span) => span.setAttributes(fixedStamps[nextStamp++ % CONTEXTS]),
  onEnd() {},
  forceFlush: async () => {},
  shutdown: async () => {},
};

// Diagnostic set-ups: pieces of abtel's per-span work alone, each in a processor wrapping the
// batch processor as abtel's does, to show where the overhead goes (`--only forward,lookup,stores,minimal`).
// They read abtel's per-conversation state directly, as its processor does: the state is a
// property of abtel's conversation contexts under this key (also their value under it), its stamp
// values in fields v0-v5 (checkStamped proves `minimal` got them).
const STATE_KEY = Symbol.for('@abtel/node.conversation');
/** A tracer provider whose one processor runs `work(span, context)` and forwards to the batch processor. */
const diagnosticSetUp = (work) =>
  setUp([], (batch) => ({
    onStart(span, parentContext) {
      work(span, parentContext);
      batch.onStart(span, parentContext);
    },
    onEnd: (span) => batch.onEnd(span),
    forceFlush: () => batch.forceFlush(),
    shutdown: () => batch.shutdown(),
  }));
/** abtel's processor wrapping the batch processor, as the drop-in sets it up. */
const abtelWrapping = (batch) => abtel.spanProcessor({ next: batch });
let diagnosticSink = false;

const SET_UPS = {
  // Forwarding alone.
  forward: () => diagnosticSetUp(() => {}),
  // Forwarding, the context lookup and one read of the conversation state (its pending-exposure flag).
  lookup: () =>
    diagnosticSetUp((_span, parentContext) => {
      const state = parentContext[STATE_KEY];
      if (state !== undefined) diagnosticSink = state.pendingExposure;
    }),
  // Forwarding and six constant stores into the span's attribute object (no lookup).
  stores: () =>
    diagnosticSetUp((span) => {
      const attributes = span.attributes;
      attributes['gen_ai.conversation.id'] = 'c';
      attributes['abtel.experiment.key'] = 'k';
      attributes['abtel.experiment.variation'] = 'v';
      attributes['abtel.experiment.version'] = 2;
      attributes['abtel.assignment.unit'] = 'user';
      attributes['abtel.assignment.id'] = 'u';
      span._attributesCount += 6;
    }),
  // The floor of a stamping processor: lookup and six stores of the conversation's values, without
  // abtel's checks (span limits, ended span, same-named attributes), exposure check and response-id memory.
  minimal: () =>
    diagnosticSetUp((span, parentContext) => {
      const state = parentContext[STATE_KEY];
      if (state === undefined) return;
      const attributes = span.attributes;
      attributes['gen_ai.conversation.id'] = state.v0;
      attributes['abtel.experiment.key'] = state.v1;
      attributes['abtel.experiment.variation'] = state.v2;
      attributes['abtel.experiment.version'] = state.v3;
      attributes['abtel.assignment.unit'] = state.v4;
      attributes['abtel.assignment.id'] = state.v5;
      span._attributesCount += 6;
    }),
  bare: () => setUp([]),
  // A second, identical bare set-up: the A/A comparison shows the measurement's own bias and spread.
  bareAgain: () => setUp([]),
  // abtel as users set it up: its processor wrapping the exporting one (what the drop-in does)...
  abtel: () => setUp([], abtelWrapping, true),
  // ...the processor alone, with the provider's default sampler as on the bare side...
  processorAlone: () => setUp([], abtelWrapping, false),
  // ...and the standalone form in front of it, for a NodeSDK configured with a list of processors.
  standalone: () => setUp([abtel.spanProcessor()], undefined, true),
  // A processor setting the same six values through the SDK's validating path.
  setAttributes: () => setUp([fixedStamper]),
};

/** A conversation context with its assignment joined (what `withConversation` + `variation()` leave behind). */
async function conversationContext(index) {
  let ctx;
  let pending;
  abtel.withConversation({ conversationId: `conv-${index}`, userId: `user-${index}` }, () => {
    ctx = context.active();
    pending = abtel.experiment('support-retrieval').variation();
  });
  const variation = await pending;
  return { ctx, variation: variation.key };
}

const contexts = [];
// The same conversations in an application without abtel: it keeps its own conversation in the
// API's own contexts (scenario `activeApp` only; every other scenario runs both sides on the
// contexts above, abtel's, which are cheaper to derive and read than the API's: conservative).
const APP_KEY = Symbol.for('bench.app.conversation');
const appContexts = [];
for (let i = 0; i < CONTEXTS; i++) {
  const { ctx, variation } = await conversationContext(i);
  contexts.push(ctx);
  appContexts.push(ROOT_CONTEXT.setValue(APP_KEY, { conversationId: `conv-${i}` }));
  // What abtel must stamp on this conversation's spans (checked below), and what the
  // `setAttributes` processor sets.
  fixedStamps.push({
    'gen_ai.conversation.id': `conv-${i}`,
    'abtel.experiment.key': 'support-retrieval',
    'abtel.experiment.variation': variation,
    'abtel.experiment.version': 2,
    'abtel.assignment.unit': 'user',
    'abtel.assignment.id': `user-${i}`,
  });
}

// Yield to the event loop every 256 spans (both sides alike) so the batch processor exports
// instead of dropping spans from a full queue, as it would in a server handling requests.
const yieldToLoop = () => new Promise((resolve) => setImmediate(resolve));

// What instrumentation-openai sets at the start of a chat span (the realistic scenario's spans).
const INSTRUMENTATION_ATTRIBUTES = {
  'gen_ai.operation.name': 'chat',
  'gen_ai.provider.name': 'openai',
  'gen_ai.system': 'openai',
  'gen_ai.request.model': 'gpt-4o-mini',
  'server.address': 'api.openai.com',
  'server.port': 443,
  'gen_ai.request.max_tokens': 512,
  'gen_ai.request.temperature': 0.2,
};

const endSpan = (span) => span.end();

/** CPU seconds (user + system, all threads: GC included) and wall seconds for `count` spans started in `spanContexts` in turn. */
async function run(provider, count, attributes, burst = 1, active = false, spanContexts = contexts) {
  const tracer = provider.getTracer('bench');
  const options = attributes === undefined ? undefined : { attributes };
  const cpu0 = process.cpuUsage();
  const wall0 = process.hrtime.bigint();
  if (active) {
    // As `startActiveSpan` is used by instrumentations: the span is started, a context with it is
    // made and made active for the callback, which ends it.
    const activeOptions = options ?? {};
    for (let i = 0; i < count; i++) {
      tracer.startActiveSpan('retrieve', activeOptions, spanContexts[Math.floor(i / burst) % CONTEXTS], endSpan);
      if ((i & 255) === 255) await yieldToLoop();
    }
  } else {
    for (let i = 0; i < count; i++) {
      tracer.startSpan('retrieve', options, spanContexts[Math.floor(i / burst) % CONTEXTS]).end();
      if ((i & 255) === 255) await yieldToLoop();
    }
  }
  const cpu = process.cpuUsage(cpu0);
  return { cpu: (cpu.user + cpu.system) / 1e6, wall: Number(process.hrtime.bigint() - wall0) / 1e9 };
}


/** First and third quartiles (linear interpolation, as numpy's default). */
const quartiles = (list) => {
  const sorted = [...list].sort((a, b) => a - b);
  const at = (q) => {
    const position = q * (sorted.length - 1);
    const low = Math.floor(position);
    return sorted[low] + (sorted[Math.min(low + 1, sorted.length - 1)] - sorted[low]) * (position - low);
  };
  return [at(0.25), at(0.75)];
};

/** Throws unless `span` carries exactly the conversation's six stamped values on top of `own`. */
function checkStamped(span, own = {}) {
  const expected = { ...own, ...fixedStamps[0] };
  const actual = { ...span.attributes };
  if (JSON.stringify(Object.entries(actual).sort()) !== JSON.stringify(Object.entries(expected).sort())) {
    throw new Error(`the first span is not stamped as expected: ${JSON.stringify(actual)}`);
  }
}

const SCENARIOS = {
  aa: { label: 'bare SDK against a second bare SDK (A/A: the bias and spread of the measurement itself)', baseline: 'bare', candidate: 'bareAgain' },
  empty: { label: 'spans without attributes of their own (the pessimistic case)', baseline: 'bare', candidate: 'abtel' },
  instrumented: {
    label: 'spans carrying 8 instrumentation-openai start attributes (a realistic gen_ai span)',
    baseline: 'bare',
    candidate: 'abtel',
    attributes: INSTRUMENTATION_ATTRIBUTES,
  },
  exposed: {
    label: 'spans without attributes of their own in conversations already exposed (the steady state after a conversation\'s first gen_ai span)',
    baseline: 'bare',
    candidate: 'abtel',
    exposed: true,
  },
  bursts: {
    label: 'spans without attributes of their own, 8 in a row per conversation (an agent turn: server span, retrieval, model call, tools), exposure out',
    baseline: 'bare',
    candidate: 'abtel',
    exposed: true,
    burst: 8,
  },
  active: {
    label:
      'spans without attributes of their own started with startActiveSpan under the AsyncLocalStorage context manager (how NodeSDK apps and instrumentations start spans)',
    baseline: 'bare',
    candidate: 'abtel',
    active: true,
  },
  activeApp: {
    label:
      'spans started with startActiveSpan under the AsyncLocalStorage context manager, the bare side on the API\'s own contexts (the same application without abtel, keeping its conversation in a context of its own): what an application sees',
    baseline: 'bare',
    candidate: 'abtel',
    active: true,
    appBaseline: true,
  },
  processorAlone: {
    label: 'spans without attributes of their own, abtel processor only (the provider\'s own default sampler, as on the bare side)',
    baseline: 'bare',
    candidate: 'processorAlone',
  },
  processorAloneInstrumented: {
    label: 'spans carrying 8 instrumentation-openai start attributes, abtel processor only (the provider\'s own default sampler, as on the bare side)',
    baseline: 'bare',
    candidate: 'processorAlone',
    attributes: INSTRUMENTATION_ATTRIBUTES,
  },
  standalone: {
    label: 'spans without attributes of their own, abtel processor standalone in front of the exporting one (two processors in the provider)',
    baseline: 'bare',
    candidate: 'standalone',
  },
  setAttributes: {
    label: 'abtel vs a processor calling span.setAttributes with the same 6 per-conversation values (baseline is not the bare SDK)',
    baseline: 'setAttributes',
    candidate: 'abtel',
  },
  // Diagnostics (only with --only): where the overhead goes.
  forward: { label: 'diagnostic: a processor that only forwards to the batch processor', baseline: 'bare', candidate: 'forward', diagnostic: true, stamps: false },
  lookup: { label: 'diagnostic: forwarding + the conversation state lookup', baseline: 'bare', candidate: 'lookup', diagnostic: true, stamps: false },
  stores: { label: 'diagnostic: forwarding + six constant attribute stores', baseline: 'bare', candidate: 'stores', diagnostic: true, stamps: false },
  minimal: { label: 'diagnostic: forwarding + lookup + six stores of the conversation values, no checks', baseline: 'bare', candidate: 'minimal', diagnostic: true },
};

/**
 * Ranks (1-based, in the sorted sample) of a distribution-free confidence interval of the median:
 * the largest k with P(Binomial(n, 1/2) <= k - 1) <= (1 - level) / 2 gives [x(k), x(n + 1 - k)].
 * For n = 41 and 95 %: the 14th and the 28th value.
 */
function medianIntervalRanks(n, level = 0.95) {
  // 2 ** -n stays a normal double up to n = 1022.
  if (n > 1000) throw new Error(`--rounds ${n}: at most 1000 rounds`);
  let cumulative = 0;
  let coefficient = 1; // C(n, i), built up from C(n, 0)
  let k = 0;
  for (let i = 0; i < n; i++) {
    cumulative += coefficient / 2 ** n;
    if (cumulative > (1 - level) / 2) break;
    k = i + 1;
    coefficient = (coefficient * (n - i)) / (i + 1);
  }
  return k === 0 ? undefined : [k, n + 1 - k];
}

/** The confidence interval of the median of `list` (undefined when there are too few values for the level). */
function medianInterval(list, level = 0.95) {
  const ranks = medianIntervalRanks(list.length, level);
  if (ranks === undefined) return undefined;
  const sorted = [...list].sort((a, b) => a - b);
  return [sorted[ranks[0] - 1], sorted[ranks[1] - 1]];
}

/** Empties the batch queues and collects garbage, so a timed run pays for no work left by the run before it. */
async function settle(...setUps) {
  for (const { batch } of setUps) await batch.forceFlush();
  globalThis.gc?.();
}

/**
 * Paired rounds in ABBA order (one side first in even rounds, the other in odd ones), each
 * timed run after `settle`; medians of the per-round ratios (candidate / baseline) with their 95 %
 * confidence interval. Warm-up rounds are run and discarded first.
 */
async function compare({ baseline, candidate, attributes, exposed, burst = 1, active = false, stamps = true, appBaseline = false }, candidateFirst) {
  const baselineContexts = appBaseline ? appContexts : contexts;
  // Conversations whose exposure is out (after their first gen_ai span): spans skip the gen_ai check.
  if (exposed) for (const ctx of contexts) abtel.markExposed(undefined, ctx);
  // Which set-up is created first and timed first in even rounds alternates between processes,
  // so that neither side owns the first-seen hidden classes and inline-cache entries everywhere.
  let base;
  let cand;
  if (candidateFirst) {
    cand = SET_UPS[candidate]();
    base = SET_UPS[baseline]();
  } else {
    base = SET_UPS[baseline]();
    cand = SET_UPS[candidate]();
  }
  // Warm-up (JIT, inline caches, heap sizing) on both sides, discarded; then the check that the
  // candidate really stamps.
  for (let i = 0; i < WARM_UP_ROUNDS; i++) {
    await run(base.provider, SPANS_PER_ROUND, attributes, burst, active, baselineContexts);
    await run(cand.provider, SPANS_PER_ROUND, attributes, burst, active);
  }
  await cand.batch.forceFlush();
  if (candidate !== 'bareAgain' && stamps) checkStamped(cand.exporter.first, attributes);
  if (diagnosticSink === 7) throw new Error('unreachable: keeps the lookup diagnostic\'s read alive');
  const cpuRatios = [];
  const wallRatios = [];
  const baselineRates = [];
  const candidateRates = [];
  const timed = async (setUp) => {
    await settle(base, cand);
    return run(setUp.provider, SPANS_PER_ROUND, attributes, burst, active, setUp === base ? baselineContexts : contexts);
  };
  for (let round = 0; round < ROUNDS; round++) {
    let b;
    let a;
    if ((round % 2 === 0) !== candidateFirst) {
      b = await timed(base);
      a = await timed(cand);
    } else {
      a = await timed(cand);
      b = await timed(base);
    }
    cpuRatios.push(a.cpu / b.cpu);
    wallRatios.push(a.wall / b.wall);
    baselineRates.push(SPANS_PER_ROUND / b.cpu);
    candidateRates.push(SPANS_PER_ROUND / a.cpu);
  }
  await base.batch.forceFlush();
  await cand.batch.forceFlush();
  const expected = (ROUNDS + WARM_UP_ROUNDS) * SPANS_PER_ROUND;
  if (base.exporter.exported !== expected || cand.exporter.exported !== expected) {
    throw new Error(`spans were dropped: ${baseline} exported ${base.exporter.exported}, ${candidate} ${cand.exporter.exported}, of ${expected} each`);
  }
  await base.provider.shutdown();
  await cand.provider.shutdown();
  return { cpuRatios, wallRatios, baselineRates, candidateRates };
}

/** One scenario's result from the rounds of all its processes, pooled. */
function summarize({ label, baseline, candidate }, processes) {
  const pooled = (key) => processes.flatMap((result) => result[key]);
  const cpuRatios = pooled('cpuRatios');
  return {
    scenario: label,
    baseline,
    candidate,
    processes: processes.length,
    rounds: cpuRatios.length,
    baselineSpansPerCpuSecond: Math.round(median(pooled('baselineRates'))),
    abtelSpansPerCpuSecond: Math.round(median(pooled('candidateRates'))),
    cpuTimeRatioMedian: +median(cpuRatios).toFixed(4),
    // Distribution-free 95 % confidence interval of that median (order statistics).
    cpuTimeRatioMedianCI95: medianInterval(cpuRatios).map((ratio) => +ratio.toFixed(4)),
    // The spread of the per-round ratios: how far one round can be trusted on this machine.
    cpuTimeRatioQuartiles: quartiles(cpuRatios).map((ratio) => +ratio.toFixed(4)),
    // Each process's own median: V8 makes its inlining decisions per process, and they differ.
    cpuTimeRatioMedianPerProcess: processes.map((result) => +median(result.cpuRatios).toFixed(4)),
    wallTimeRatioMedian: +median(pooled('wallRatios')).toFixed(4),
    cpuRatios: cpuRatios.map((ratio) => +ratio.toFixed(4)),
  };
}

if (values.scenario !== undefined) {
  // One scenario in this process; the parent reads the JSON line.
  const scenario = SCENARIOS[values.scenario];
  if (scenario === undefined) throw new Error(`unknown scenario ${values.scenario} (known: ${Object.keys(SCENARIOS).join(', ')})`);
  console.log(JSON.stringify(await compare(scenario, values['candidate-first'])));
  await loggerProvider.shutdown();
  process.exit(0);
}

/** Whether the goal holds for the median, and whether it holds for the whole confidence interval of the median. */
function goalVerdict({ cpuTimeRatioMedian, cpuTimeRatioMedianCI95: [, upper] }) {
  if (upper <= 1.05) return 'met, with the whole 95% interval below';
  return cpuTimeRatioMedian <= 1.05 ? 'met by the median, not by the upper end of its 95% interval' : 'NOT met';
}

const roundsPerProcess = Math.ceil(ROUNDS / PROCESSES);
console.log(
  `span start+end, ${roundsPerProcess * PROCESSES} paired rounds of ${SPANS_PER_ROUND.toLocaleString('en')} spans (${PROCESSES} processes per scenario, ${roundsPerProcess} rounds each), BatchSpanProcessor + discarding exporter on both sides`,
);
const scenarioResults = [];
const chosen = values.only === undefined ? Object.keys(SCENARIOS).filter((name) => !SCENARIOS[name].diagnostic) : values.only.split(',');
for (const name of chosen) {
  if (SCENARIOS[name] === undefined) throw new Error(`--only: unknown scenario ${name} (known: ${Object.keys(SCENARIOS).join(', ')})`);
  const processes = [];
  for (let p = 0; p < PROCESSES; p++) {
    const child = spawnSync(
      process.execPath,
      [
        '--expose-gc',
        fileURLToPath(import.meta.url),
        '--scenario',
        name,
        '--rounds',
        String(roundsPerProcess),
        '--spans',
        String(SPANS_PER_ROUND),
        ...(p % 2 === 1 ? ['--candidate-first'] : []),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    if (child.status !== 0) throw new Error(`scenario ${name} failed (exit ${child.status})`);
    processes.push(JSON.parse(child.stdout.trim().split('\n').at(-1)));
  }
  const result = summarize(SCENARIOS[name], processes);
  scenarioResults.push(result);
  console.log(`  ${result.scenario}`);
  console.log(`    ${result.baseline} ${(result.baselineSpansPerCpuSecond / 1e6).toFixed(3)} M spans/CPU-s, ${result.candidate} ${(result.abtelSpansPerCpuSecond / 1e6).toFixed(3)} M spans/CPU-s (medians)`);
  console.log(
    `    ratio ${result.candidate}/${result.baseline}: CPU time median ${result.cpuTimeRatioMedian.toFixed(4)} (95% CI ${result.cpuTimeRatioMedianCI95.map((q) => q.toFixed(3)).join('-')}, quartiles ${result.cpuTimeRatioQuartiles.map((q) => q.toFixed(3)).join('-')}, per process ${result.cpuTimeRatioMedianPerProcess.map((q) => q.toFixed(3)).join(', ')}), wall time ${result.wallTimeRatioMedian.toFixed(4)}` +
      (result.baseline === 'bare' && result.candidate !== 'bareAgain' && !SCENARIOS[name].diagnostic ? ` (goal <= 1.05: ${goalVerdict(result)})` : ''),
  );
}

if (values['no-memory']) {
  await loggerProvider.shutdown();
  process.exit(0);
}

// Memory: every conversation is new (routed, stored, stamped, exposed once at its gen_ai span).
const memory = () => {
  globalThis.gc?.();
  const usage = process.memoryUsage();
  return { heapUsedMB: +(usage.heapUsed / 2 ** 20).toFixed(1), rssMB: +(usage.rss / 2 ** 20).toFixed(1) };
};
const spansPerConversation = MEMORY_SPANS / MEMORY_CONVERSATIONS;
const stamped = SET_UPS.abtel().provider;
const tracer = stamped.getTracer('bench');
const warmupConversations = MEMORY_BASELINE_AT;
let before;
const memoryStart = process.hrtime.bigint();
for (let c = 0; c < MEMORY_CONVERSATIONS; c++) {
  if (c === warmupConversations) before = memory();
  const { ctx } = await conversationContext(c);
  const chat = tracer.startSpan('chat gpt-4o-mini', { attributes: { 'gen_ai.operation.name': 'chat' } }, ctx);
  chat.setAttribute('gen_ai.response.id', `chatcmpl-${c}`);
  chat.end();
  for (let s = 1; s < spansPerConversation; s++) tracer.startSpan('retrieve', undefined, ctx).end();
  if ((c & 15) === 15) await yieldToLoop();
  if (process.stdout.isTTY && c % 50_000 === 0) process.stdout.write(`\r  memory run: ${c.toLocaleString('en')} / ${MEMORY_CONVERSATIONS.toLocaleString('en')} conversations`);
}
const memorySeconds = Number(process.hrtime.bigint() - memoryStart) / 1e9;
const after = memory();
if (process.stdout.isTTY) process.stdout.write('\r\x1b[K');
console.log(
  `memory over ${MEMORY_SPANS.toLocaleString('en')} spans across ${MEMORY_CONVERSATIONS.toLocaleString('en')} conversations (${values.full ? 'full' : 'reduced; --full for 10 M / 1 M'}), ${memorySeconds.toFixed(1)} s:`,
);
console.log(`  after ${warmupConversations.toLocaleString('en')} conversations: heap ${before.heapUsedMB} MB, RSS ${before.rssMB} MB`);
console.log(`  at the end:                heap ${after.heapUsedMB} MB, RSS ${after.rssMB} MB (heap growth ${(after.heapUsedMB - before.heapUsedMB).toFixed(1)} MB)`);

const result = {
  benchmark: 'node',
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  // Other processes compete for the cores; CPU-time ratios are less sensitive to that than wall time.
  loadAverageAtEnd: loadavg().map((value) => +value.toFixed(1)),
  throughput: {
    rounds: roundsPerProcess * PROCESSES,
    processesPerScenario: PROCESSES,
    spansPerRound: SPANS_PER_ROUND,
    stampedAttributes: 6,
    exporter: 'BatchSpanProcessor (defaults) with a discarding exporter, both sides; no span dropped',
    isolation: `each scenario in ${PROCESSES} processes of its own (rounds pooled) with only its two set-ups`,
    measure: 'CPU time of the process (user + system, GC threads included) per round; wall time also reported',
    order: `ABBA (in half of the processes the baseline is created first and timed first in even rounds, in the other half the candidate), ${WARM_UP_ROUNDS} warm-up rounds discarded, batch queues flushed and a full GC before every timed run`,
    statistic: 'median of the per-round CPU-time ratios, with a distribution-free 95% confidence interval of the median (binomial order statistics)',
    goal: 'time ratio <= 1.05',
    scenarios: scenarioResults,
  },
  memory: {
    mode: values.full ? 'full' : 'reduced',
    spans: MEMORY_SPANS,
    conversations: MEMORY_CONVERSATIONS,
    seconds: +memorySeconds.toFixed(1),
    afterWarmup: { conversations: warmupConversations, ...before },
    atEnd: after,
    heapGrowthMB: +(after.heapUsedMB - before.heapUsedMB).toFixed(1),
    bounds: 'exposure dedupe 100,000 (experiment, unit) pairs; sticky MemoryAssignmentStore 100,000 entries; response-id map 10,000',
  },
};
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results/node.json'), `${JSON.stringify(result, null, 2)}\n`);
await stamped.shutdown();
await loggerProvider.shutdown();
