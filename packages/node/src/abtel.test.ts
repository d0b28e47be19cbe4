import { context, diag, DiagLogLevel, trace, type DiagLogger } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { assign, isAbtelError, MemoryAssignmentStore, parseExperiments, type AssignmentStore } from '@abtel/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, installContextManager, plain, type Harness } from '../test/helpers/harness.js';
import { personaDefinition, retrievalDefinition } from '../test/helpers/definitions.js';
import { createAbtel } from './abtel.js';

const experiments = parseExperiments([
  { file: 'persona.yaml', content: personaDefinition() },
  { file: 'retrieval.yaml', content: retrievalDefinition() },
]);
const persona = experiments.require('support-persona');
const retrieval = experiments.require('support-retrieval');

/** The variation @abtel/core assigns deterministically (the independent expectation). */
function expected(def: typeof persona, unitId: string): string {
  return assign(def, { id: unitId }).variation as string;
}

let disableContext: () => void;
const diagMessages: { level: string; message: string }[] = [];
const capture: DiagLogger = {
  error: (message) => diagMessages.push({ level: 'error', message }),
  warn: (message) => diagMessages.push({ level: 'warn', message }),
  info: () => undefined,
  debug: () => undefined,
  verbose: () => undefined,
};

beforeAll(() => {
  disableContext = installContextManager();
  diag.setLogger(capture, DiagLogLevel.WARN);
});
afterAll(() => {
  disableContext();
  diag.disable();
});

let h: Harness;
beforeEach(() => {
  diagMessages.length = 0;
  h = createHarness({ experiments });
});
afterEach(async () => {
  await h.shutdown();
});

function tracer() {
  return h.tracerProvider.getTracer('test');
}

/** Starts and ends a span the way instrumentation-openai does (operation name set at start). */
function chatSpan(responseId?: string) {
  const span = tracer().startSpan('chat gpt-4o-mini', { attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o-mini' } });
  if (responseId !== undefined) span.setAttribute('gen_ai.response.id', responseId);
  span.end();
  return span;
}

describe('stamping spans', () => {
  it('stamps spans started in the conversation with the contract attributes, and nothing outside it', async () => {
    tracer().startSpan('outside').end();
    await h.abtel.withConversation({ conversationId: 'conv-1' }, async () => {
      tracer().startSpan('before assignment').end();
      const variation = await h.abtel.experiment<{ name: string; tone: string }>('support-persona').variation();
      expect(variation.key).toBe(expected(persona, 'conv-1'));
      expect(variation.config).toEqual(persona.variations.find((v) => v.key === variation.key)?.config);
      expect(variation).toMatchObject({ inExperiment: true, exposed: true, reason: 'assigned' });
      tracer().startSpan('retrieve').end();
    });
    const byName = Object.fromEntries(h.spans().map((span) => [span.name, plain(span.attributes)]));
    expect(byName['outside']).toEqual({});
    expect(byName['before assignment']).toEqual({ 'gen_ai.conversation.id': 'conv-1' });
    expect(byName['retrieve']).toEqual({
      'gen_ai.conversation.id': 'conv-1',
      'abtel.experiment.key': 'support-persona',
      'abtel.experiment.variation': expected(persona, 'conv-1'),
      'abtel.experiment.version': 3,
      'abtel.assignment.unit': 'conversation',
    });
  });

  it('lists several experiments in abtel.experiments and names a non-conversation unit in abtel.assignment.id', async () => {
    await h.abtel.withConversation({ conversationId: 'conv-2', userId: 'user-9' }, async () => {
      await h.abtel.experiment('support-persona').variation();
      await h.abtel.experiment('support-retrieval').variation();
      tracer().startSpan('work').end();
    });
    const [span] = h.spans();
    expect(plain(span!.attributes)).toEqual({
      'gen_ai.conversation.id': 'conv-2',
      'abtel.experiment.key': 'support-persona',
      'abtel.experiment.variation': expected(persona, 'conv-2'),
      'abtel.experiment.version': 3,
      'abtel.assignment.unit': 'conversation',
      'abtel.experiments': [`support-persona=${expected(persona, 'conv-2')}`, `support-retrieval=${expected(retrieval, 'user-9')}`],
      // Each experiment's own unit id, in the same order: the conversation for the persona, the user for retrieval.
      'abtel.assignment.ids': ['support-persona=conv-2', 'support-retrieval=user-9'],
    });
    await h.abtel.withConversation({ conversationId: 'conv-3', userId: 'user-9' }, async () => {
      await h.abtel.experiment('support-retrieval').variation();
      tracer().startSpan('user unit').end();
    });
    expect(plain(h.spans().find((s) => s.name === 'user unit')!.attributes)).toEqual({
      'gen_ai.conversation.id': 'conv-3',
      'abtel.experiment.key': 'support-retrieval',
      'abtel.experiment.variation': expected(retrieval, 'user-9'),
      'abtel.experiment.version': 1,
      'abtel.assignment.unit': 'user',
      'abtel.assignment.id': 'user-9',
    });
  });

  it('keeps describing the first experiment assigned when an earlier experiment is routed again', async () => {
    await h.abtel.withConversation({ conversationId: 'conv-4', userId: 'user-4' }, async () => {
      await h.abtel.experiment('support-persona').variation();
      await h.abtel.experiment('support-retrieval').variation();
      await h.abtel.experiment('support-persona').variation();
      tracer().startSpan('after re-routing').end();
    });
    const attributes = plain(h.spans().find((s) => s.name === 'after re-routing')!.attributes);
    expect(attributes['abtel.experiment.key']).toBe('support-persona');
    expect(attributes['abtel.experiment.variation']).toBe(expected(persona, 'conv-4'));
    expect(attributes['abtel.experiments']).toEqual([`support-persona=${expected(persona, 'conv-4')}`, `support-retrieval=${expected(retrieval, 'user-4')}`]);
    expect(attributes['abtel.assignment.ids']).toEqual(['support-persona=conv-4', 'support-retrieval=user-4']);
  });

  it('names each active experiment\'s unit in abtel.assignment.ids, in the order of abtel.experiments, from the span after the second assignment on', async () => {
    await h.abtel.withConversation({ conversationId: 'conv-5', userId: 'user-5' }, async () => {
      await h.abtel.experiment('support-retrieval').variation();
      tracer().startSpan('one experiment').end();
      await h.abtel.experiment('support-persona').variation();
      tracer().startSpan('two experiments').end();
    });
    const byName = Object.fromEntries(h.spans().map((span) => [span.name, plain(span.attributes)]));
    // One experiment: no list at all (neither abtel.experiments nor abtel.assignment.ids).
    expect(byName['one experiment']).toEqual({
      'gen_ai.conversation.id': 'conv-5',
      'abtel.experiment.key': 'support-retrieval',
      'abtel.experiment.variation': expected(retrieval, 'user-5'),
      'abtel.experiment.version': 1,
      'abtel.assignment.unit': 'user',
      'abtel.assignment.id': 'user-5',
    });
    // The user-level experiment came first: abtel.assignment.id is the user, and the persona's
    // unit (the conversation) is only in abtel.assignment.ids.
    expect(byName['two experiments']).toEqual({
      'gen_ai.conversation.id': 'conv-5',
      'abtel.experiment.key': 'support-retrieval',
      'abtel.experiment.variation': expected(retrieval, 'user-5'),
      'abtel.experiment.version': 1,
      'abtel.assignment.unit': 'user',
      'abtel.assignment.id': 'user-5',
      'abtel.experiments': [`support-retrieval=${expected(retrieval, 'user-5')}`, `support-persona=${expected(persona, 'conv-5')}`],
      'abtel.assignment.ids': ['support-retrieval=user-5', 'support-persona=conv-5'],
    });
  });

  it('serves the control without joining when the context lacks the unit id, and says why through diag', async () => {
    await h.abtel.withConversation({ conversationId: 'conv-4' }, async () => {
      const variation = await h.abtel.experiment('support-retrieval').variation();
      expect(variation).toEqual({ key: 'bm25', config: { topK: 5 }, inExperiment: false, exposed: false, reason: 'no_unit' });
      tracer().startSpan('x').end();
    });
    expect(plain(h.spans()[0]!.attributes)).toEqual({ 'gen_ai.conversation.id': 'conv-4' });
    expect(diagMessages.some((m) => m.level === 'warn' && m.message.includes('randomises by user'))).toBe(true);
  });

  it('keeps the assignment sticky across conversations of one user through the store', async () => {
    const store = new MemoryAssignmentStore();
    const first = createHarness({ experiments, store });
    const changed = parseExperiments([{ file: 'r.yaml', content: retrievalDefinition({ variations: [{ key: 'bm25', weight: 1, config: {} }, { key: 'hybrid', weight: 1000, config: {} }] }) }]);
    const second = createHarness({ experiments: changed, store });
    // Find a user the original weights put on bm25; the new weights would almost surely move them.
    const user = Array.from({ length: 200 }, (_, i) => `u-${i}`).find((id) => expected(retrieval, id) === 'bm25')!;
    const a = await first.abtel.withConversation({ conversationId: 'c-a', userId: user }, () => first.abtel.experiment('support-retrieval').variation());
    const b = await second.abtel.withConversation({ conversationId: 'c-b', userId: user }, () => second.abtel.experiment('support-retrieval').variation());
    expect(a.key).toBe('bm25');
    expect(b).toMatchObject({ key: 'bm25', reason: 'sticky' });
    await first.shutdown();
    await second.shutdown();
  });
});

describe('exposure', () => {
  it('is emitted once per (experiment, unit) at the first gen_ai span, parented to it, with the interop and segment attributes', async () => {
    let variationKey = '';
    await h.abtel.withConversation({ conversationId: 'conv-10', attributes: { plan: 'pro', channel: 'web' } }, async () => {
      variationKey = (await h.abtel.experiment('support-persona').variation()).key;
      tracer().startSpan('not gen_ai').end();
      expect(h.events('abtel.exposure')).toHaveLength(0);
      const first = chatSpan();
      chatSpan();
      const exposures = h.events('abtel.exposure');
      expect(exposures).toHaveLength(1);
      expect(exposures[0]!.spanContext?.spanId).toBe(first.spanContext().spanId);
      expect(exposures[0]!.spanContext?.traceId).toBe(first.spanContext().traceId);
    });
    // A new withConversation for the same conversation id does not expose it again.
    await h.abtel.withConversation({ conversationId: 'conv-10' }, async () => {
      await h.abtel.experiment('support-persona').variation();
      chatSpan();
    });
    const exposures = h.events('abtel.exposure');
    expect(exposures).toHaveLength(1);
    expect(plain(exposures[0]!.attributes)).toEqual({
      'gen_ai.conversation.id': 'conv-10',
      'abtel.experiment.key': 'support-persona',
      'abtel.experiment.variation': variationKey,
      'abtel.experiment.version': 3,
      'abtel.assignment.unit': 'conversation',
      'feature_flag.key': 'support-persona',
      'feature_flag.result.variant': variationKey,
      'feature_flag.result.reason': 'split',
      'feature_flag.context.id': 'conv-10',
      'feature_flag.provider.name': 'abtel',
      // Only declared segments: `channel` is not one; `locale` is declared but absent.
      'abtel.segment.plan': 'pro',
    });
  });

  it('recognises gen_ai spans by their conventional name too', async () => {
    await h.abtel.withConversation({ conversationId: 'conv-11' }, async () => {
      await h.abtel.experiment('support-persona').variation();
      tracer().startSpan('embeddings text-embedding-3-small').end();
    });
    expect(h.events('abtel.exposure')).toHaveLength(1);
  });

  it('is not emitted for paused routing, even at gen_ai spans or with markExposed', async () => {
    const paused = createHarness({ experiments: parseExperiments([{ file: 'p.yaml', content: personaDefinition({ state: 'paused' }) }]) });
    await paused.abtel.withConversation({ conversationId: 'conv-12' }, async () => {
      const variation = await paused.abtel.experiment('support-persona').variation();
      expect(variation).toMatchObject({ key: 'classic', exposed: false });
      paused.tracerProvider.getTracer('t').startSpan('chat m', { attributes: { 'gen_ai.operation.name': 'chat' } }).end();
      paused.abtel.markExposed();
    });
    expect(paused.events('abtel.exposure')).toHaveLength(0);
    await paused.shutdown();
  });

  it('follows lifecycle routing: a rolled-back treatment conversation is migrated, stamped as such and not exposed again', async () => {
    const store = new MemoryAssignmentStore();
    const running = createHarness({ experiments, store });
    const rolledBack = createHarness({ experiments: parseExperiments([{ file: 'p.yaml', content: personaDefinition({ state: 'rolled_back' }) }]), store });
    const conversation = Array.from({ length: 100 }, (_, i) => `conv-rb-${i}`).find((id) => expected(persona, id) === 'warm')!;
    await running.abtel.withConversation({ conversationId: conversation }, () => running.abtel.experiment('support-persona').variation());
    await rolledBack.abtel.withConversation({ conversationId: conversation }, async () => {
      const variation = await rolledBack.abtel.experiment('support-persona').variation();
      expect(variation).toMatchObject({ key: 'classic', exposed: false, reason: 'rolled_back_migrated' });
      rolledBack.tracerProvider.getTracer('t').startSpan('chat m', { attributes: { 'gen_ai.operation.name': 'chat' } }).end();
    });
    expect(plain(rolledBack.spans()[0]!.attributes)).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.conversation.id': conversation,
      'abtel.experiment.key': 'support-persona',
      'abtel.experiment.variation': 'classic',
      'abtel.experiment.version': 3,
      'abtel.assignment.unit': 'conversation',
      'abtel.assignment.migrated': true,
    });
    expect(rolledBack.events('abtel.exposure')).toHaveLength(0);
    await running.shutdown();
    await rolledBack.shutdown();
  });

  it('can be marked explicitly with markExposed, still once', async () => {
    await h.abtel.withConversation({ conversationId: 'conv-13' }, async () => {
      await h.abtel.experiment('support-persona').variation();
      h.abtel.markExposed('support-persona');
      h.abtel.markExposed();
      chatSpan();
    });
    expect(h.events('abtel.exposure')).toHaveLength(1);
  });

  it('says why markExposed exposed nothing: an unknown experiment, or none assigned in the conversation yet', async () => {
    await h.abtel.withConversation({ conversationId: 'conv-13b' }, async () => {
      h.abtel.markExposed('support-persone');
      h.abtel.markExposed('support-persona');
      h.abtel.markExposed();
      await h.abtel.experiment('support-persona').variation();
      // Now there is something to expose: no warning.
      h.abtel.markExposed('support-persona');
    });
    expect(h.events('abtel.exposure')).toHaveLength(1);
    expect(diagMessages).toEqual([
      { level: 'warn', message: '@abtel/node: markExposed("support-persone"): no experiment "support-persone" is defined (known: support-persona, support-retrieval)' },
      {
        level: 'warn',
        message: '@abtel/node: markExposed("support-persona"): conversation "conv-13b" has no assignment for it yet; call experiment("support-persona").variation() first',
      },
      { level: 'warn', message: '@abtel/node: markExposed(): conversation "conv-13b" has no assignment yet; call experiment(key).variation() first' },
    ]);
  });

  it('keeps its dedupe memory bounded (an evicted pair can be exposed again)', async () => {
    const small = createHarness({ experiments, exposureDedupeSize: 2 });
    const exposeIn = (id: string) =>
      small.abtel.withConversation({ conversationId: id }, async () => {
        await small.abtel.experiment('support-persona').variation();
        small.abtel.markExposed();
      });
    for (const id of ['a', 'b', 'a', 'c', 'a', 'd', 'b']) await exposeIn(id);
    // a, b, c, d are new; the repeated a is remembered (recently used); b was evicted by c/d.
    expect(small.events('abtel.exposure').map((r) => r.attributes['gen_ai.conversation.id'])).toEqual(['a', 'b', 'c', 'd', 'b']);
    await small.shutdown();
  });
});

describe('memory sizes', () => {
  it('remembers the assignment ids of the last conversationMemorySize conversations for outcomes recorded after their context', async () => {
    const small = createHarness({ experiments, conversationMemorySize: 2 });
    const assignIn = (id: string) =>
      small.abtel.withConversation({ conversationId: id, userId: `user-${id}` }, () => small.abtel.experiment('support-retrieval').variation());
    for (const id of ['a', 'b', 'c']) await assignIn(id);
    const outcomeIds = () => small.events('abtel.outcome').map((r) => [r.attributes['gen_ai.conversation.id'], r.attributes['abtel.assignment.ids']]);
    // a was evicted by c; b and c are remembered.
    for (const id of ['a', 'b', 'c']) small.abtel.recordOutcome({ conversationId: id, name: 'resolved', value: 1 });
    expect(outcomeIds()).toEqual([
      ['a', undefined],
      ['b', ['support-retrieval=user-b']],
      ['c', ['support-retrieval=user-c']],
    ]);
    // Resizing through configure starts a memory of the new size; other options keep theirs.
    small.abtel.configure({ conversationMemorySize: 1 });
    for (const id of ['d', 'e']) await assignIn(id);
    for (const id of ['c', 'd', 'e']) small.abtel.recordOutcome({ conversationId: id, name: 'later', value: 1 });
    expect(outcomeIds().slice(3)).toEqual([
      ['c', undefined],
      ['d', undefined],
      ['e', ['support-retrieval=user-e']],
    ]);
    await small.shutdown();
  });

  it('rejects a size that is not a positive integer with a usage error naming the option, and configure then changes nothing', async () => {
    for (const [name, value, shown] of [
      ['conversationMemorySize', 0, '0'],
      ['exposureDedupeSize', 2.5, '2.5'],
      ['responseIdCacheSize', '100', '"100"'],
      ['conversationMemorySize', -1, '-1'],
      ['conversationMemorySize', 10n, '10'],
      ['exposureDedupeSize', Symbol('size'), 'Symbol(size)'],
    ] as const) {
      let caught: unknown;
      try {
        createAbtel({ [name]: value } as never);
      } catch (error) {
        caught = error;
      }
      expect(isAbtelError(caught, 'usage'), `${name}=${shown}`).toBe(true);
      expect((caught as Error).message).toBe(`${name} must be a positive integer (got ${shown}); leave it out for the default ${name === 'exposureDedupeSize' ? 100000 : 10000}`);
    }
    const instance = createHarness({ experiments, conversationMemorySize: 5 });
    await instance.abtel.withConversation({ conversationId: 'kept', userId: 'user-kept' }, () => instance.abtel.experiment('support-retrieval').variation());
    expect(() => instance.abtel.configure({ conversationMemorySize: 0 })).toThrow(/conversationMemorySize must be a positive integer/);
    instance.abtel.recordOutcome({ conversationId: 'kept', name: 'resolved', value: 1 });
    expect(instance.events('abtel.outcome')[0]!.attributes['abtel.assignment.ids']).toEqual(['support-retrieval=user-kept']);
    await instance.shutdown();
  });
});

describe('outcomes and evaluations', () => {
  it('records outcomes with or without a context, booleans as 1/0', async () => {
    h.abtel.recordOutcome({ conversationId: 'conv-20', name: 'resolved', value: true, experimentKey: 'support-persona' });
    h.abtel.recordOutcome({ conversationId: 'conv-20', name: 'csat', value: 4.5, attributes: { 'app.channel': 'email' } });
    const span = tracer().startSpan('handler');
    await h.abtel.withConversation({ conversationId: 'conv-21' }, () =>
      context.with(trace.setSpan(context.active(), span), () => h.abtel.recordOutcome({ name: 'escalated', value: false })),
    );
    span.end();
    const outcomes = h.events('abtel.outcome');
    expect(outcomes.map((r) => plain(r.attributes))).toEqual([
      { 'gen_ai.conversation.id': 'conv-20', 'abtel.outcome.name': 'resolved', 'abtel.outcome.value': 1, 'abtel.experiment.key': 'support-persona' },
      { 'app.channel': 'email', 'gen_ai.conversation.id': 'conv-20', 'abtel.outcome.name': 'csat', 'abtel.outcome.value': 4.5 },
      { 'gen_ai.conversation.id': 'conv-21', 'abtel.outcome.name': 'escalated', 'abtel.outcome.value': 0 },
    ]);
    expect(outcomes[0]!.spanContext).toBeUndefined();
    expect(outcomes[2]!.spanContext?.spanId).toBe(span.spanContext().spanId);
  });

  it('names the unit of every experiment of the conversation in abtel.assignment.ids on outcomes and evaluations, in and after its context', async () => {
    const judge = { model: 'judge', version: '1' };
    await h.abtel.withConversation({ conversationId: 'conv-60', userId: 'user-60' }, async () => {
      h.abtel.recordOutcome({ name: 'before', value: 1 });
      await h.abtel.experiment('support-persona').variation();
      await h.abtel.experiment('support-retrieval').variation();
      h.abtel.recordOutcome({ name: 'resolved', value: true });
      h.abtel.recordOutcome({ name: 'upgraded', value: true, experimentKey: 'support-retrieval' });
      // Ids the caller knows better are kept.
      h.abtel.recordOutcome({ name: 'given', value: 1, attributes: { 'abtel.assignment.ids': ['support-retrieval=user-x'] } });
      // Another conversation's outcome from inside this context: that conversation's units, not these.
      h.abtel.recordOutcome({ conversationId: 'conv-61', name: 'other', value: 1 });
      h.abtel.recordEvaluation({ responseId: 'chatcmpl-60', name: 'helpfulness', score: 0.5, judge, sampleRate: 1, source: 'online' });
    });
    // After the context: the conversations this process assigned are remembered.
    h.abtel.recordOutcome({ conversationId: 'conv-60', name: 'converted', value: false });
    h.abtel.recordEvaluation({ responseId: 'chatcmpl-60', conversationId: 'conv-60', name: 'tone', score: 1, judge, sampleRate: 1, source: 'human' });
    // A judge that knows only the response id: no conversation, no ids (the analysis finds both through the call).
    h.abtel.recordEvaluation({ responseId: 'chatcmpl-60', name: 'accuracy', score: 1, judge, sampleRate: 1, source: 'offline' });
    // A conversation this process never assigned (another service's): the conversation id alone.
    h.abtel.recordOutcome({ conversationId: 'conv-62', name: 'converted', value: true });
    const ids = ['support-persona=conv-60', 'support-retrieval=user-60'];
    const idsOf = (record: { attributes: object }) => plain(record.attributes as never)['abtel.assignment.ids'];
    expect(h.events('abtel.outcome').map((r) => [plain(r.attributes)['abtel.outcome.name'], idsOf(r)])).toEqual([
      ['before', undefined],
      ['resolved', ids],
      ['upgraded', ids],
      ['given', ['support-retrieval=user-x']],
      ['other', undefined],
      ['converted', ids],
      ['converted', undefined],
    ]);
    expect(plain(h.events('abtel.outcome')[2]!.attributes)).toEqual({
      'gen_ai.conversation.id': 'conv-60',
      'abtel.outcome.name': 'upgraded',
      'abtel.outcome.value': 1,
      'abtel.experiment.key': 'support-retrieval',
      'abtel.assignment.ids': ids,
    });
    expect(h.events('gen_ai.evaluation.result').map((r) => [plain(r.attributes)['gen_ai.evaluation.name'], idsOf(r)])).toEqual([
      ['helpfulness', ids],
      ['tone', ids],
      ['accuracy', undefined],
    ]);
  });

  it('drops invalid outcomes through diag instead of throwing', () => {
    expect(() => h.abtel.recordOutcome({ name: 'resolved', value: true })).not.toThrow();
    expect(() => h.abtel.recordOutcome({ conversationId: 'c', name: 'x', value: Number.NaN })).not.toThrow();
    expect(() => h.abtel.recordOutcome(null as never)).not.toThrow();
    expect(() => h.abtel.recordOutcome(undefined as never)).not.toThrow();
    expect(() => h.abtel.recordOutcome({ conversationId: 'c', name: 'revenue', value: 1e308 })).not.toThrow();
    expect(() => h.abtel.recordOutcome({ conversationId: 'c', name: 'x', value: 1, attributes: 'oops' as never })).not.toThrow();
    expect(h.events('abtel.outcome')).toHaveLength(0);
    expect(diagMessages.filter((m) => m.level === 'error').map((m) => m.message)).toEqual([
      '@abtel/node: recordOutcome dropped an outcome: outcome "resolved" has no conversationId and no conversation is active; pass conversationId',
      '@abtel/node: recordOutcome dropped an outcome: outcome "x": value must be a finite number or a boolean (got NaN)',
      '@abtel/node: recordOutcome dropped an outcome: expected an object { conversationId, name, value }',
      '@abtel/node: recordOutcome dropped an outcome: expected an object { conversationId, name, value }',
      '@abtel/node: recordOutcome dropped an outcome: outcome "revenue": value 1e+308 is a whole number beyond ±2^53, which OTLP cannot carry exactly (whole numbers travel as int64); send it in larger units (e.g. thousands)',
      '@abtel/node: recordOutcome dropped an outcome: outcome "x": attributes must be an object of attribute values (got string)',
    ]);
  });

  it('records whole numbers up to ±2^53 and fractions', () => {
    h.abtel.recordOutcome({ conversationId: 'c', name: 'big', value: Number.MAX_SAFE_INTEGER });
    h.abtel.recordOutcome({ conversationId: 'c', name: 'small', value: Number.MIN_SAFE_INTEGER });
    h.abtel.recordOutcome({ conversationId: 'c', name: 'ratio', value: -2.5e-300 });
    expect(h.events('abtel.outcome').map((r) => plain(r.attributes)['abtel.outcome.value'])).toEqual([Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, -2.5e-300]);
  });

  it('parents evaluations to the evaluated span, given or found by response id', async () => {
    const judged = chatSpan('chatcmpl-77');
    const judge = { model: 'gpt-4o-mini', version: 'rubric-2' };
    h.abtel.recordEvaluation({ responseId: 'chatcmpl-77', conversationId: 'conv-30', name: 'helpfulness', score: 0.75, label: 'good', explanation: 'on topic', judge, sampleRate: 0.1, source: 'online' });
    h.abtel.recordEvaluation({ span: judged.spanContext(), conversationId: 'conv-30', name: 'tone', label: 'warm', judge, sampleRate: 1, source: 'human' });
    const evaluations = h.events('gen_ai.evaluation.result');
    expect(evaluations).toHaveLength(2);
    for (const record of evaluations) expect(record.spanContext?.spanId).toBe(judged.spanContext().spanId);
    expect(plain(evaluations[0]!.attributes)).toEqual({
      'gen_ai.evaluation.name': 'helpfulness',
      'gen_ai.evaluation.score.value': 0.75,
      'gen_ai.evaluation.score.label': 'good',
      'gen_ai.evaluation.explanation': 'on topic',
      'gen_ai.response.id': 'chatcmpl-77',
      'gen_ai.conversation.id': 'conv-30',
      'abtel.evaluation.judge.model': 'gpt-4o-mini',
      'abtel.evaluation.judge.version': 'rubric-2',
      'abtel.evaluation.sample_rate': 0.1,
      'abtel.evaluation.source': 'online',
    });
    h.abtel.recordEvaluation({ responseId: 'r', name: 'x', score: 1, judge, sampleRate: 0, source: 'online' });
    h.abtel.recordEvaluation({ responseId: 'r', name: 'x', score: 1, judge, sampleRate: 1, source: 'robot' as never });
    expect(h.events('gen_ai.evaluation.result')).toHaveLength(2);
    expect(diagMessages.filter((m) => m.level === 'error')).toHaveLength(2);
  });

  it('drops an evaluation it cannot locate or carry, and says which field is wrong', () => {
    const judge = { model: 'gpt-4o-mini', version: 'rubric-2' };
    const base = { conversationId: 'conv-31', name: 'helpfulness', judge, sampleRate: 1, source: 'online' as const };
    expect(() => {
      h.abtel.recordEvaluation({ ...base, span: {} as never, score: 1 });
      h.abtel.recordEvaluation({ ...base, span: 'span-1' as never, score: 1 });
      h.abtel.recordEvaluation({ ...base, responseId: 'r-1', label: 3 as never });
      h.abtel.recordEvaluation({ ...base, responseId: 'r-1', score: 1, explanation: { why: 'x' } as never });
      h.abtel.recordEvaluation({ ...base, responseId: 'r-1', score: -1e300 });
    }).not.toThrow();
    expect(h.events('gen_ai.evaluation.result')).toHaveLength(0);
    expect(diagMessages.filter((m) => m.level === 'error').map((m) => m.message.replace('@abtel/node: recordEvaluation dropped an evaluation: ', ''))).toEqual([
      'evaluation "helpfulness": span is neither a span nor a valid span context (pass the span object, span.spanContext(), or responseId)',
      'evaluation "helpfulness": span is neither a span nor a valid span context (pass the span object, span.spanContext(), or responseId)',
      'evaluation "helpfulness": label must be a string (got number)',
      'evaluation "helpfulness": explanation must be a string (got object)',
      'evaluation "helpfulness": score -1e+300 is a whole number beyond ±2^53, which OTLP cannot carry exactly (whole numbers travel as int64); send it in larger units (e.g. thousands)',
    ]);
  });

  it('records an evaluation whose call is not found and whose conversation is unknown, and says that no variation can be credited with it', () => {
    const judge = { model: 'gpt-4o-mini', version: 'rubric-2' };
    h.abtel.recordEvaluation({ responseId: 'chatcmpl-never-seen', name: 'helpfulness', score: 1, judge, sampleRate: 1, source: 'online' });
    // With the conversation known, an unknown response id is no problem: the score counts for the conversation's units.
    h.abtel.recordEvaluation({ responseId: 'chatcmpl-never-seen', conversationId: 'conv-33', name: 'helpfulness', score: 1, judge, sampleRate: 1, source: 'online' });
    expect(h.events('gen_ai.evaluation.result').map((r) => r.attributes['gen_ai.conversation.id'])).toEqual([undefined, 'conv-33']);
    expect(diagMessages).toEqual([
      {
        level: 'warn',
        message:
          '@abtel/node: recordEvaluation "helpfulness": the evaluated call was not found (no recent span has gen_ai.response.id chatcmpl-never-seen) and no conversation is known; ' +
          'the score is recorded, but no variation can be credited with it. Pass conversationId',
      },
    ]);
  });

  it('falls back to the response id when the span given is not a valid span context', () => {
    const judged = chatSpan('chatcmpl-78');
    const judge = { model: 'gpt-4o-mini', version: 'rubric-2' };
    h.abtel.recordEvaluation({ span: {} as never, responseId: 'chatcmpl-78', conversationId: 'conv-32', name: 'tone', score: 1, judge, sampleRate: 1, source: 'online' });
    const [evaluation] = h.events('gen_ai.evaluation.result');
    expect(evaluation?.spanContext?.spanId).toBe(judged.spanContext().spanId);
    expect(diagMessages.filter((m) => m.level === 'warn').map((m) => m.message)).toEqual([
      '@abtel/node: recordEvaluation "tone": span is not a valid span or span context; locating the call by responseId',
    ]);
  });
});

describe('span-event mode', () => {
  it('records exposures on the gen_ai span and outcomes on a span of their own when none is active', async () => {
    const spansMode = createHarness({ experiments, events: 'spans' });
    await spansMode.abtel.withConversation({ conversationId: 'conv-40', attributes: { locale: 'de' } }, async () => {
      await spansMode.abtel.experiment('support-persona').variation();
      spansMode.tracerProvider.getTracer('t').startSpan('chat m', { attributes: { 'gen_ai.operation.name': 'chat' } }).end();
    });
    spansMode.abtel.recordOutcome({ conversationId: 'conv-40', name: 'resolved', value: true });
    expect(spansMode.logs()).toHaveLength(0);
    const chat = spansMode.spans().find((s) => s.name === 'chat m')!;
    expect(chat.events.map((e) => e.name)).toEqual(['abtel.exposure']);
    expect(chat.events[0]!.attributes?.['abtel.segment.locale']).toBe('de');
    const own = spansMode.spans().find((s) => s.name === 'abtel.outcome')!;
    expect(own.events.map((e) => [e.name, plain(e.attributes ?? {})])).toEqual([
      // Recorded after the context: its units are those this process remembers for conv-40.
      ['abtel.outcome', { 'gen_ai.conversation.id': 'conv-40', 'abtel.outcome.name': 'resolved', 'abtel.outcome.value': 1, 'abtel.assignment.ids': ['support-persona=conv-40'] }],
    ]);
    await spansMode.shutdown();
  });
});

describe('log records', () => {
  it('stamps log records emitted in the conversation, keeping their own attributes', async () => {
    await h.abtel.withConversation({ conversationId: 'conv-50' }, async () => {
      await h.abtel.experiment('support-persona').variation();
      h.loggerProvider.getLogger('app').emit({ eventName: 'gen_ai.user.message', attributes: { 'gen_ai.conversation.id': 'kept' } });
      h.loggerProvider.getLogger('app').emit({ body: 'hello' });
    });
    const [first, second] = h.logs().filter((r) => r.instrumentationScope.name === 'app');
    expect(plain(first!.attributes)).toEqual({
      'gen_ai.conversation.id': 'kept',
      'abtel.experiment.key': 'support-persona',
      'abtel.experiment.variation': expected(persona, 'conv-50'),
      'abtel.experiment.version': 3,
      'abtel.assignment.unit': 'conversation',
    });
    expect(second!.attributes['gen_ai.conversation.id']).toBe('conv-50');
  });
});

describe('configure', () => {
  it('changes only what it is given: a new store keeps the experiments, the event settings and the exposures already emitted', async () => {
    await h.abtel.withConversation({ conversationId: 'conv-50' }, async () => {
      await h.abtel.experiment('support-persona').variation();
      chatSpan();
    });
    h.abtel.configure({ store: new MemoryAssignmentStore() });
    expect(h.abtel.experiments.all().map((def) => def.key).sort()).toEqual(['support-persona', 'support-retrieval']);
    await h.abtel.withConversation({ conversationId: 'conv-50' }, async () => {
      await h.abtel.experiment('support-persona').variation();
      chatSpan();
    });
    h.abtel.recordOutcome({ conversationId: 'conv-50', name: 'resolved', value: true });
    // Still one exposure for the unit, and events still reach the instance's logger provider.
    expect(h.events('abtel.exposure')).toHaveLength(1);
    expect(h.events('abtel.outcome')).toHaveLength(1);
  });

  it('refuses experiments that are not definitions, naming the fix, and changes nothing', () => {
    expect(() => h.abtel.configure({ experiments: './experiments' as never })).toThrow(
      'experiments must be an ExperimentSet (from loadExperiments) or an array of definitions, got the string "./experiments"; to load a directory, pass experiments: await loadExperiments(path)',
    );
    expect(h.abtel.experiments.all()).toHaveLength(2);
  });
});

describe('never harm the host', () => {
  it('falls back to stateless assignment when the store fails, and reports it', async () => {
    const broken: AssignmentStore = {
      get: () => Promise.reject(new Error('connection refused')),
      setIfAbsent: () => Promise.reject(new Error('connection refused')),
      touch: () => Promise.reject(new Error('connection refused')),
    };
    const fragile = createHarness({ experiments, store: broken });
    const variation = await fragile.abtel.withConversation({ conversationId: 'conv-60' }, () => fragile.abtel.experiment('support-persona').variation());
    expect(variation.key).toBe(expected(persona, 'conv-60'));
    expect(diagMessages.some((m) => m.level === 'error' && m.message.includes('connection refused'))).toBe(true);
    await fragile.shutdown();
  });

  it('rejects an unknown experiment key with the known keys', async () => {
    await expect(h.abtel.experiment('nope').variation()).rejects.toMatchObject({
      code: 'not_found',
      message: 'experiment "nope" is not defined (known: support-persona, support-retrieval)',
    });
    // With no definitions at all, the two ways to give them: the drop-in's variable, or the instance's options.
    const empty = createHarness({});
    await expect(empty.abtel.experiment('nope').variation()).rejects.toMatchObject({
      code: 'not_found',
      message:
        'experiment "nope" is not defined (known: none; start the app with node --import @abtel/node/register and ABTEL_EXPERIMENTS set, ' +
        'or pass experiments to configureAbtel() or createAbtel())',
    });
    await empty.shutdown();
  });

  it('runs the callback without a context when the conversation id is missing', () => {
    expect(h.abtel.withConversation({ conversationId: '' }, () => 42)).toBe(42);
    expect(h.abtel.withConversation({ conversationId: 42 as never }, () => 43)).toBe(43);
    expect(diagMessages.map((m) => m.message)).toEqual([
      '@abtel/node: withConversation needs a non-empty string conversationId (got an empty string); running without a conversation context',
      '@abtel/node: withConversation needs a non-empty string conversationId (got number); running without a conversation context',
    ]);
  });

  it('keeps the global providers untouched (nothing registered on import or creation)', () => {
    expect(trace.getTracerProvider().constructor.name).toBe('ProxyTracerProvider');
    expect(logs.getLoggerProvider().constructor.name).toMatch(/Noop|Proxy/);
  });
});
