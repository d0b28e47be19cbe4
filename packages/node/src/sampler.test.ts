import {
  context,
  diag,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Span,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type Sampler,
  type SamplingResult,
} from '@opentelemetry/sdk-trace-base';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { assign, parseExperiments } from '@abtel/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, installContextManager, plain, type Harness, type HarnessOptions } from '../test/helpers/harness.js';
import { personaDefinition, retrievalDefinition } from '../test/helpers/definitions.js';
import { FixedIds, traceIds } from '../test/helpers/ids.js';
import { AbtelSampler, createAbtel } from './index.js';

const experiments = parseExperiments([
  { file: 'persona.yaml', content: personaDefinition() },
  { file: 'retrieval.yaml', content: retrievalDefinition() },
]);
const persona = experiments.require('support-persona');

/** What `sampler` decides for a root span of `traceId` (the SDK's own classes, independently of abtel). */
function decides(sampler: Sampler, traceId: string): SamplingDecision {
  return sampler.shouldSample(ROOT_CONTEXT, traceId, 'x', SpanKind.INTERNAL, {}, []).decision;
}

let disableContext: () => void;
beforeAll(() => {
  disableContext = installContextManager();
});
afterAll(() => disableContext());

const harnesses: Harness[] = [];
function harness(options: HarnessOptions & { events?: 'logs' | 'spans' }): Harness {
  const created = createHarness({ experiments, chained: true, ...options });
  harnesses.push(created);
  return created;
}
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((created) => created.shutdown()));
});

const CHAT_ATTRIBUTES = { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o-mini' };

/**
 * One conversation as the drop-in sees it: the assignment, then the app's spans (created by
 * `spans`, in the conversation context), then an outcome.
 */
async function conversation(h: Harness, conversationId: string, spans: (tracer: Tracer) => void): Promise<string> {
  return h.abtel.withConversation({ conversationId, attributes: { plan: 'pro' } }, async () => {
    const variation = await h.abtel.experiment('support-persona').variation();
    spans(h.tracerProvider.getTracer('app'));
    h.abtel.recordOutcome({ name: 'resolved', value: true });
    return variation.key;
  });
}

const chat = (tracer: Tracer, parent?: Context): Span => {
  const span = tracer.startSpan('chat gpt-4o-mini', { attributes: CHAT_ATTRIBUTES }, parent);
  span.end();
  return span;
};

/** The exposures of one conversation. */
function exposuresOf(h: Harness, conversationId: string): ReadableLogRecord[] {
  return h.events('abtel.exposure').filter((record) => record.attributes['gen_ai.conversation.id'] === conversationId);
}

describe('abtel.sampler(inner): exposures whatever the sampling', () => {
  it('always_off: every conversation gets exactly one exposure (none without the wrapper), with the whole contract', async () => {
    const conversations = Array.from({ length: 20 }, (_, index) => `off-${index}`);
    const bare = harness({ sampler: () => new AlwaysOffSampler() });
    for (const id of conversations) await conversation(bare, id, (tracer) => chat(tracer));
    // The defect, for reference: no span is recorded, so the processor never sees the chat span.
    expect(bare.events('abtel.outcome')).toHaveLength(20);
    expect(bare.events('abtel.exposure')).toHaveLength(0);

    const h = harness({ sampler: (abtel) => abtel.sampler(new AlwaysOffSampler()) });
    const variations = new Map<string, string>();
    for (const id of conversations) variations.set(id, await conversation(h, id, (tracer) => chat(tracer)));
    expect(h.spans()).toHaveLength(0);
    expect(h.events('abtel.outcome')).toHaveLength(20);
    expect(h.events('abtel.exposure')).toHaveLength(20);
    for (const id of conversations) {
      const [exposure, ...more] = exposuresOf(h, id);
      expect(more).toHaveLength(0);
      expect(variations.get(id)).toBe(assign(persona, { id }).variation);
      // The same record the processor emits at a recorded span.
      expect(plain(exposure!.attributes)).toEqual({
        'gen_ai.conversation.id': id,
        'abtel.experiment.key': 'support-persona',
        'abtel.experiment.variation': variations.get(id),
        'abtel.experiment.version': 3,
        'abtel.assignment.unit': 'conversation',
        'feature_flag.key': 'support-persona',
        'feature_flag.result.variant': variations.get(id),
        'feature_flag.result.reason': 'split',
        'feature_flag.context.id': id,
        'feature_flag.provider.name': 'abtel',
        'abtel.segment.plan': 'pro',
      });
      // A root chat span dropped: there is no span to reference.
      expect(exposure!.spanContext).toBeUndefined();
    }
  });

  it('always_off: the exposure references the span the dropped gen_ai span would have had as parent', async () => {
    const h = harness({ sampler: (abtel) => abtel.sampler(new AlwaysOffSampler()) });
    let parent: SpanContext | undefined;
    await conversation(h, 'off-parent', (tracer) => {
      const turn = tracer.startSpan('handle turn');
      parent = turn.spanContext();
      tracer.startSpan('retrieve', {}, trace.setSpan(context.active(), turn)).end();
      expect(h.events('abtel.exposure')).toHaveLength(0); // not a gen_ai span
      chat(tracer, trace.setSpan(context.active(), turn));
      turn.end();
    });
    const [exposure] = exposuresOf(h, 'off-parent');
    expect(exposure!.spanContext).toEqual({ traceId: parent!.traceId, spanId: parent!.spanId, traceFlags: TraceFlags.NONE });
  });

  it('traceidratio 0.25: 40 of 40 conversations exposed, the sampled ones at their chat span', async () => {
    const ids = traceIds('ratio', 40);
    const ratio = new TraceIdRatioBasedSampler(0.25);
    const sampledIds = new Set(ids.filter((id) => decides(ratio, id) === SamplingDecision.RECORD_AND_SAMPLED));
    // The fixed ids give a mix (5 of 40 here), so both paths run.
    expect(sampledIds.size).toBe(5);

    const bare = harness({ sampler: () => new TraceIdRatioBasedSampler(0.25), idGenerator: new FixedIds(ids) });
    for (let index = 0; index < 40; index += 1) await conversation(bare, `ratio-${index}`, (tracer) => chat(tracer));
    expect(bare.events('abtel.exposure')).toHaveLength(5);

    const h = harness({ sampler: (abtel) => abtel.sampler(new TraceIdRatioBasedSampler(0.25)), idGenerator: new FixedIds(ids) });
    const chats = new Map<string, Span>();
    for (let index = 0; index < 40; index += 1) await conversation(h, `ratio-${index}`, (tracer) => chats.set(`ratio-${index}`, chat(tracer)));
    expect(h.spans()).toHaveLength(5);
    expect(h.events('abtel.outcome')).toHaveLength(40);
    expect(h.events('abtel.exposure')).toHaveLength(40);
    for (const [id, span] of chats) {
      const [exposure, ...more] = exposuresOf(h, id);
      expect(more).toHaveLength(0);
      if (sampledIds.has(span.spanContext().traceId)) {
        expect(h.spans().some((recorded) => recorded.spanContext().spanId === span.spanContext().spanId)).toBe(true);
        expect(exposure!.spanContext?.spanId).toBe(span.spanContext().spanId);
        expect(exposure!.spanContext?.traceId).toBe(span.spanContext().traceId);
      } else {
        expect(exposure!.spanContext).toBeUndefined();
      }
    }
  });

  it('parent-based: follows the turn span; an unsampled local or remote parent is what the exposure references', async () => {
    const ids = traceIds('parent', 30);
    const root = new TraceIdRatioBasedSampler(0.5);
    const h = harness({ sampler: (abtel) => abtel.sampler(new ParentBasedSampler({ root })), idGenerator: new FixedIds(ids) });
    const turns = new Map<string, SpanContext>();
    const chats = new Map<string, SpanContext>();
    for (let index = 0; index < 30; index += 1) {
      const id = `parent-${index}`;
      await conversation(h, id, (tracer) => {
        const turn = tracer.startSpan('handle turn');
        turns.set(id, turn.spanContext());
        chats.set(id, chat(tracer, trace.setSpan(context.active(), turn)).spanContext());
        turn.end();
      });
    }
    const sampled = [...turns].filter(([, turn]) => decides(root, turn.traceId) === SamplingDecision.RECORD_AND_SAMPLED).map(([id]) => id);
    expect(sampled.length).toBe(15);
    expect(h.spans()).toHaveLength(2 * 15);
    expect(h.events('abtel.exposure')).toHaveLength(30);
    for (const [id, turn] of turns) {
      const [exposure, ...more] = exposuresOf(h, id);
      expect(more).toHaveLength(0);
      const at = sampled.includes(id) ? chats.get(id)! : turn;
      expect([exposure!.spanContext?.traceId, exposure!.spanContext?.spanId]).toEqual([at.traceId, at.spanId]);
    }

    // A request that arrives with an unsampled traceparent: the gen_ai span is dropped by the
    // parent-based rule, and the exposure references the caller's span.
    const remote: SpanContext = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: TraceFlags.NONE, isRemote: true };
    await h.abtel.withConversation({ conversationId: 'parent-remote' }, async () => {
      await h.abtel.experiment('support-persona').variation();
      chat(h.tracerProvider.getTracer('app'), trace.setSpanContext(context.active(), remote));
    });
    const [exposure] = exposuresOf(h, 'parent-remote');
    expect([exposure!.spanContext?.traceId, exposure!.spanContext?.spanId]).toEqual([remote.traceId, remote.spanId]);
  });

  it('without an inner sampler: the default parent-based decisions, and the exposure of a dropped gen_ai span', async () => {
    const h = harness({ sampler: (abtel) => abtel.sampler() });
    const tracer = h.tracerProvider.getTracer('app');
    const remote = (traceFlags: number): SpanContext => ({ traceId: 'c'.repeat(32), spanId: 'd'.repeat(16), traceFlags, isRemote: true });
    const spans: Span[] = [];
    await h.abtel.withConversation({ conversationId: 'default-dropped' }, async () => {
      await h.abtel.experiment('support-persona').variation();
      spans.push(chat(tracer, trace.setSpanContext(context.active(), remote(TraceFlags.NONE))));
    });
    await h.abtel.withConversation({ conversationId: 'default-sampled' }, async () => {
      await h.abtel.experiment('support-persona').variation();
      spans.push(chat(tracer, trace.setSpanContext(context.active(), remote(TraceFlags.SAMPLED))));
      spans.push(chat(tracer));
    });
    expect(spans.map((span) => span.spanContext().traceFlags)).toEqual([TraceFlags.NONE, TraceFlags.SAMPLED, TraceFlags.SAMPLED]);
    // The dropped span's exposure references the caller's span; the sampled one's its own chat span.
    const [dropped] = exposuresOf(h, 'default-dropped');
    expect([dropped!.spanContext?.traceId, dropped!.spanContext?.spanId]).toEqual(['c'.repeat(32), 'd'.repeat(16)]);
    const sampled = exposuresOf(h, 'default-sampled');
    expect(sampled).toHaveLength(1);
    expect(sampled[0]!.spanContext?.spanId).toBe(spans[1]!.spanContext().spanId);
    expect(createAbtel({ experiments }).sampler().toString()).toBe(`AbtelSampler{${new ParentBasedSampler({ root: new AlwaysOnSampler() }).toString()}}`);
  });

  it('emits no second exposure when some gen_ai spans of a conversation are sampled and others not', async () => {
    // Drops the spans whose name says so: turns of one conversation sampled differently.
    const byName: Sampler = {
      shouldSample: (_context, _traceId, name) => ({
        decision: name.includes('dropped') ? SamplingDecision.NOT_RECORD : SamplingDecision.RECORD_AND_SAMPLED,
      }),
      toString: () => 'ByName',
    };
    const h = harness({ sampler: (abtel) => abtel.sampler(byName) });
    const chatNamed = (name: string) => h.tracerProvider.getTracer('app').startSpan(name, { attributes: CHAT_ATTRIBUTES }).end();

    // Dropped first, then sampled (in the same context and in a later turn's context).
    await h.abtel.withConversation({ conversationId: 'mixed-1', userId: 'user-1' }, async () => {
      await h.abtel.experiment('support-persona').variation();
      await h.abtel.experiment('support-retrieval').variation();
      chatNamed('chat dropped');
      chatNamed('chat kept');
      chatNamed('chat dropped again');
    });
    await h.abtel.withConversation({ conversationId: 'mixed-1', userId: 'user-1' }, async () => {
      await h.abtel.experiment('support-persona').variation();
      chatNamed('chat kept');
    });
    // Sampled first, then dropped.
    await h.abtel.withConversation({ conversationId: 'mixed-2' }, async () => {
      await h.abtel.experiment('support-persona').variation();
      chatNamed('chat kept');
      chatNamed('chat dropped');
    });
    const keys = (id: string) => exposuresOf(h, id).map((record) => record.attributes['abtel.experiment.key']);
    // Both experiments of the first conversation, once each, from the dropped span (no span to reference).
    expect(keys('mixed-1')).toEqual(['support-persona', 'support-retrieval']);
    expect(exposuresOf(h, 'mixed-1').map((record) => record.spanContext)).toEqual([undefined, undefined]);
    expect(keys('mixed-2')).toEqual(['support-persona']);
    const kept = h.spans().filter((span) => span.attributes['gen_ai.conversation.id'] === 'mixed-2');
    expect(exposuresOf(h, 'mixed-2')[0]!.spanContext?.spanId).toBe(kept[0]!.spanContext().spanId);
    expect(h.events('abtel.exposure')).toHaveLength(3);
  });

  it('leaves every decision to the inner sampler, and says which in toString()', () => {
    const abtel = createAbtel({ experiments });
    const inner = new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.3) });
    const wrapped = abtel.sampler(inner);
    expect(wrapped).toBeInstanceOf(AbtelSampler);
    const parents: Context[] = [
      ROOT_CONTEXT,
      ...[TraceFlags.SAMPLED, TraceFlags.NONE].flatMap((traceFlags) =>
        [true, false].map((isRemote) => trace.setSpanContext(ROOT_CONTEXT, { traceId: '1'.repeat(32), spanId: '2'.repeat(16), traceFlags, isRemote })),
      ),
    ];
    const attributes: Attributes = CHAT_ATTRIBUTES;
    const results: [SamplingResult, SamplingResult][] = [];
    for (const traceId of traceIds('unchanged', 50)) {
      for (const parent of parents) {
        results.push([
          wrapped.shouldSample(parent, traceId, 'chat gpt-4o-mini', SpanKind.CLIENT, attributes, []),
          inner.shouldSample(parent, traceId, 'chat gpt-4o-mini', SpanKind.CLIENT, attributes, []),
        ]);
      }
    }
    for (const [mine, theirs] of results) expect(mine).toEqual(theirs);
    expect(new Set(results.map(([mine]) => mine.decision))).toEqual(new Set([SamplingDecision.NOT_RECORD, SamplingDecision.RECORD_AND_SAMPLED]));
    expect(String(wrapped)).toBe(`AbtelSampler{${inner.toString()}}`);
    expect(String(abtel.sampler(new AlwaysOnSampler()))).toBe('AbtelSampler{AlwaysOnSampler}');
  });

  it('never throws for its own work: an emit failure is reported through diag and the decision stands', async () => {
    const errors: string[] = [];
    diag.setLogger({ error: (message) => errors.push(message), warn() {}, info() {}, debug() {}, verbose() {} });
    try {
      const failing = createAbtel({
        experiments,
        loggerProvider: {
          getLogger: () => {
            throw new Error('logger unavailable');
          },
        },
      });
      const sampler = failing.sampler(new AlwaysOffSampler());
      const decision = await failing.withConversation({ conversationId: 'failing' }, async () => {
        await failing.experiment('support-persona').variation();
        return sampler.shouldSample(context.active(), '3'.repeat(32), 'chat m', SpanKind.CLIENT, CHAT_ATTRIBUTES, []);
      });
      expect(decision).toEqual({ decision: SamplingDecision.NOT_RECORD });
      expect(errors).toEqual(['@abtel/node: emitting the exposure at an unsampled span failed: logger unavailable']);
    } finally {
      diag.disable();
    }
  });
});

describe('abtel.sampler(inner) in span-event mode', () => {
  /** Span events by name, each with the span that carries it. */
  function spanEvents(h: Harness, name: string): { span: ReadableSpan; attributes: Record<string, unknown> }[] {
    return h.spans().flatMap((span) => span.events.filter((event) => event.name === name).map((event) => ({ span, attributes: plain(event.attributes ?? {}) })));
  }

  it('always_off: every exposure and outcome is on a span of its own, which is kept (none without the wrapper)', async () => {
    const bare = harness({ events: 'spans', sampler: () => new AlwaysOffSampler() });
    for (let index = 0; index < 10; index += 1) await conversation(bare, `spans-off-${index}`, (tracer) => chat(tracer));
    expect(bare.spans()).toHaveLength(0);

    const h = harness({ events: 'spans', sampler: (abtel) => abtel.sampler(new AlwaysOffSampler()) });
    let parent: SpanContext | undefined;
    for (let index = 0; index < 10; index += 1) {
      await conversation(h, `spans-off-${index}`, (tracer) => {
        const turn = tracer.startSpan('handle turn');
        if (index === 0) parent = turn.spanContext();
        chat(tracer, trace.setSpan(context.active(), turn));
        turn.end();
      });
    }
    expect(h.spans().map((span) => span.name).sort()).toEqual([...Array<string>(10).fill('abtel.exposure'), ...Array<string>(10).fill('abtel.outcome')]);
    const exposures = spanEvents(h, 'abtel.exposure');
    expect(exposures.map(({ attributes }) => attributes['gen_ai.conversation.id'])).toEqual(Array.from({ length: 10 }, (_, index) => `spans-off-${index}`));
    expect(spanEvents(h, 'abtel.outcome')).toHaveLength(10);
    const first = exposures[0]!.span;
    expect(first.spanContext().traceFlags).toBe(TraceFlags.SAMPLED);
    // The carrier is a child of the span the dropped chat span would have had as parent, and stamped like any span of the conversation.
    expect([first.spanContext().traceId, first.parentSpanContext?.spanId]).toEqual([parent!.traceId, parent!.spanId]);
    expect(first.attributes['abtel.experiment.variation']).toBe(exposures[0]!.attributes['abtel.experiment.variation']);
    // Only the carriers are kept: the application's spans stay dropped.
    expect(h.spans().some((span) => span.name === 'handle turn' || span.name.startsWith('chat'))).toBe(false);
  });

  it('traceidratio 0.25: a sampled conversation has its exposure on its chat span, the others on a kept span of their own', async () => {
    // Chat spans, and the exposure and outcome carriers started as roots, each take a trace id.
    const ids = traceIds('spans-ratio', 120);
    const ratio = new TraceIdRatioBasedSampler(0.25);
    const h = harness({ events: 'spans', sampler: (abtel) => abtel.sampler(ratio), idGenerator: new FixedIds(ids) });
    const chats = new Map<string, Span>();
    for (let index = 0; index < 40; index += 1) await conversation(h, `spans-ratio-${index}`, (tracer) => chats.set(`spans-ratio-${index}`, chat(tracer)));
    const sampled = [...chats].filter(([, span]) => decides(ratio, span.spanContext().traceId) === SamplingDecision.RECORD_AND_SAMPLED).map(([id]) => id);
    expect(sampled.length).toBeGreaterThan(0);
    expect(sampled.length).toBeLessThan(40);
    const exposures = spanEvents(h, 'abtel.exposure');
    expect(exposures).toHaveLength(40);
    expect(spanEvents(h, 'abtel.outcome')).toHaveLength(40);
    for (const [id, span] of chats) {
      const mine = exposures.filter(({ attributes }) => attributes['gen_ai.conversation.id'] === id);
      expect(mine).toHaveLength(1);
      expect(mine[0]!.span.name).toBe(sampled.includes(id) ? 'chat gpt-4o-mini' : 'abtel.exposure');
      if (sampled.includes(id)) expect(mine[0]!.span.spanContext().spanId).toBe(span.spanContext().spanId);
    }
  });

  it('moves an event off a span that is recorded but not sampled (never exported)', async () => {
    const recordOnly: Sampler = {
      shouldSample: (_context, _traceId, name) => ({ decision: name === 'handle turn' ? SamplingDecision.RECORD : SamplingDecision.NOT_RECORD }),
      toString: () => 'RecordOnly',
    };
    const h = harness({ events: 'spans', sampler: (abtel) => abtel.sampler(recordOnly) });
    await h.abtel.withConversation({ conversationId: 'record-only' }, async () => {
      await h.abtel.experiment('support-persona').variation();
      const turn = h.tracerProvider.getTracer('app').startSpan('handle turn');
      expect(turn.isRecording()).toBe(true);
      context.with(trace.setSpan(context.active(), turn), () => h.abtel.recordOutcome({ name: 'resolved', value: 1 }));
      turn.end();
    });
    // The turn span is not exported (RECORD only); the outcome is, on its own span under the turn.
    expect(h.spans().map((span) => [span.name, span.parentSpanContext?.spanId !== undefined])).toEqual([['abtel.outcome', true]]);
  });
});

