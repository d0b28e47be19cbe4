#!/usr/bin/env node
// Span start+end throughput of the real OpenTelemetry SDK with the abtel span processor stamping
// 6 attributes (gen_ai.conversation.id, abtel.experiment.key/variation/version,
// abtel.assignment.unit/id) against the bare SDK with the same discarding exporter, measured in
// the same run: paired rounds in alternating order, medians. Then memory over many spans across
// many conversations (each conversation routed, stamped and exposed once at a gen_ai span):
// heap and RSS after a warm-up and at the end, after a forced GC.
//
// Usage: node --expose-gc node.bench.mjs [--rounds 15] [--spans 200000] [--full]
//   default memory run: 1,000,000 spans across 100,000 conversations;
//   --full: 10,000,000 spans across 1,000,000 conversations (about 1-2 minutes on 2 cores).
// Writes results/node.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ExperimentDefinition, ExperimentSet } from '@abtel/core';
import { createAbtel } from '@abtel/node';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '15' },
    spans: { type: 'string', default: '200000' },
    full: { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(values.rounds);
const SPANS_PER_ROUND = Number(values.spans);
const MEMORY_SPANS = values.full ? 10_000_000 : 1_000_000;
const MEMORY_CONVERSATIONS = values.full ? 1_000_000 : 100_000;
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
context.setGlobalContextManager(new StackContextManager());

/** An exporter that drops everything but counts, so the run can prove no span was dropped by a full queue. */
function discardingExporter() {
  const exporter = {
    exported: 0,
    export: (spans, done) => {
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
// The production set-up on both sides: a BatchSpanProcessor (default settings) in front of the exporter.
const bareExporter = discardingExporter();
const abtelExporter = discardingExporter();
const bareBatch = new BatchSpanProcessor(bareExporter);
const abtelBatch = new BatchSpanProcessor(abtelExporter);
const bare = new BasicTracerProvider({ spanProcessors: [bareBatch] });
const stamped = new BasicTracerProvider({ spanProcessors: [abtel.spanProcessor(), abtelBatch] });

/** A conversation context with its assignment joined (what `withConversation` + `variation()` leave behind). */
async function conversationContext(index) {
  let ctx;
  let pending;
  abtel.withConversation({ conversationId: `conv-${index}`, userId: `user-${index}` }, () => {
    ctx = context.active();
    pending = abtel.experiment('support-retrieval').variation();
  });
  await pending;
  return ctx;
}

const contexts = [];
for (let i = 0; i < CONTEXTS; i++) contexts.push(await conversationContext(i));

// Yield to the event loop every 256 spans (both sides alike) so the batch processor exports
// instead of dropping spans from a full queue, as it would in a server handling requests.
const yieldToLoop = () => new Promise((resolve) => setImmediate(resolve));

async function run(provider, count) {
  const tracer = provider.getTracer('bench');
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    tracer.startSpan('retrieve', undefined, contexts[i % CONTEXTS]).end();
    if ((i & 255) === 255) await yieldToLoop();
  }
  return Number(process.hrtime.bigint() - start) / 1e9;
}

// Check the stamping really happens (and is exactly the six attributes) before timing it.
{
  let captured;
  const spy = { onStart() {}, onEnd: (span) => (captured = span), forceFlush: async () => {}, shutdown: async () => {} };
  const check = new BasicTracerProvider({ spanProcessors: [abtel.spanProcessor(), spy] });
  check.getTracer('bench').startSpan('retrieve', undefined, contexts[0]).end();
  const keys = Object.keys(captured.attributes).sort();
  const expected = ['abtel.assignment.id', 'abtel.assignment.unit', 'abtel.experiment.key', 'abtel.experiment.variation', 'abtel.experiment.version', 'gen_ai.conversation.id'];
  if (JSON.stringify(keys) !== JSON.stringify(expected)) throw new Error(`expected the six stamped attributes, got ${keys.join(', ')}`);
}

// Warm-up (JIT) on both sides.
await run(bare, SPANS_PER_ROUND);
await run(stamped, SPANS_PER_ROUND);

const median = (list) => {
  const sorted = [...list].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const bareRates = [];
const abtelRates = [];
const ratios = [];
for (let round = 0; round < ROUNDS; round++) {
  globalThis.gc?.();
  // Alternate the order so neither side always runs on a freshly collected heap.
  let bareSeconds;
  let abtelSeconds;
  if (round % 2 === 0) {
    bareSeconds = await run(bare, SPANS_PER_ROUND);
    abtelSeconds = await run(stamped, SPANS_PER_ROUND);
  } else {
    abtelSeconds = await run(stamped, SPANS_PER_ROUND);
    bareSeconds = await run(bare, SPANS_PER_ROUND);
  }
  bareRates.push(SPANS_PER_ROUND / bareSeconds);
  abtelRates.push(SPANS_PER_ROUND / abtelSeconds);
  ratios.push(abtelSeconds / bareSeconds);
}
await bareBatch.forceFlush();
await abtelBatch.forceFlush();
const expectedSpans = (ROUNDS + 1) * SPANS_PER_ROUND;
if (bareExporter.exported !== expectedSpans || abtelExporter.exported !== expectedSpans) {
  throw new Error(`spans were dropped: bare exported ${bareExporter.exported}, abtel ${abtelExporter.exported}, expected ${expectedSpans} each`);
}
const overhead = median(ratios);
const bareRate = median(bareRates);
const abtelRate = median(abtelRates);
console.log(`span start+end, ${ROUNDS} paired rounds of ${SPANS_PER_ROUND.toLocaleString('en')} spans`);
console.log(`  bare SDK:          ${(bareRate / 1e6).toFixed(3)} M spans/s (median)`);
console.log(`  + abtel processor: ${(abtelRate / 1e6).toFixed(3)} M spans/s (median)`);
console.log(`  time ratio abtel/bare: ${overhead.toFixed(4)} (median of paired rounds; goal <= 1.05) ${overhead <= 1.05 ? 'PASS' : 'MISS'}`);

// Memory: every conversation is new (routed, stored, stamped, exposed once at its gen_ai span).
const memory = () => {
  globalThis.gc?.();
  const usage = process.memoryUsage();
  return { heapUsedMB: +(usage.heapUsed / 2 ** 20).toFixed(1), rssMB: +(usage.rss / 2 ** 20).toFixed(1) };
};
const spansPerConversation = MEMORY_SPANS / MEMORY_CONVERSATIONS;
const tracer = stamped.getTracer('bench');
const warmupConversations = Math.floor(MEMORY_CONVERSATIONS / 5);
let before;
const memoryStart = process.hrtime.bigint();
for (let c = 0; c < MEMORY_CONVERSATIONS; c++) {
  if (c === warmupConversations) before = memory();
  const ctx = await conversationContext(c);
  tracer.startSpan('chat gpt-4o-mini', { attributes: { 'gen_ai.operation.name': 'chat' } }, ctx).end();
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
  throughput: {
    rounds: ROUNDS,
    spansPerRound: SPANS_PER_ROUND,
    stampedAttributes: 6,
    exporter: 'BatchSpanProcessor (defaults) with a discarding exporter, both sides; no span dropped',
    bareSpansPerSecond: Math.round(bareRate),
    abtelSpansPerSecond: Math.round(abtelRate),
    timeRatioMedian: +overhead.toFixed(4),
    ratios: ratios.map((ratio) => +ratio.toFixed(4)),
    goal: 'time ratio <= 1.05',
    met: overhead <= 1.05,
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
await bare.shutdown();
await loggerProvider.shutdown();
