import { context, diag, ROOT_CONTEXT, type Context } from '@opentelemetry/api';
import { parseExperiments } from '@abtel/core';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAbtel } from './abtel.js';
import { isGenAiSpan } from './span-processor.js';
import { withState } from './internal/context.js';
import { ConversationState } from './internal/state.js';
import { createHarness, installContextManager, plain } from '../test/helpers/harness.js';
import { personaDefinition } from '../test/helpers/definitions.js';

const experiments = parseExperiments([{ file: 'persona.yaml', content: personaDefinition() }]);

let disableContext: () => void;
beforeAll(() => {
  disableContext = installContextManager();
});
afterAll(() => disableContext());

describe('abtel.spanProcessor({ next }): one processor wrapping the exporting one', () => {
  it('stamps, emits the exposure at the first gen_ai span and finds the span of a response id, like the standalone form', async () => {
    const results = [];
    for (const chained of [false, true]) {
      const h = createHarness({ experiments, chained });
      const tracer = h.tracerProvider.getTracer('test');
      await h.abtel.withConversation({ conversationId: 'conv-next', attributes: { plan: 'pro' } }, async () => {
        await h.abtel.experiment('support-persona').variation();
        tracer.startSpan('retrieve').end();
        const chat = tracer.startSpan('chat gpt-4o-mini', { attributes: { 'gen_ai.operation.name': 'chat' } });
        chat.setAttribute('gen_ai.response.id', 'chatcmpl-next');
        chat.end();
      });
      h.abtel.recordEvaluation({ responseId: 'chatcmpl-next', conversationId: 'conv-next', name: 'helpfulness', score: 1, judge: { model: 'judge', version: '1' }, sampleRate: 1, source: 'offline' });
      const spans = h.spans();
      const chat = spans.find((span) => span.name.startsWith('chat'))!;
      const [exposure] = h.events('abtel.exposure');
      const [evaluation] = h.events('gen_ai.evaluation.result');
      results.push({
        spans: spans.map((span) => ({ name: span.name, attributes: plain(span.attributes) })),
        exposureParentIsChat: exposure?.spanContext?.spanId === chat.spanContext().spanId,
        exposures: h.events('abtel.exposure').length,
        evaluationParentIsChat: evaluation?.spanContext?.spanId === chat.spanContext().spanId,
      });
      await h.shutdown();
    }
    const [standalone, chained] = results;
    expect(chained).toEqual(standalone);
    expect(chained).toMatchObject({ exposureParentIsChat: true, exposures: 1, evaluationParentIsChat: true });
    expect(chained!.spans).toHaveLength(2);
    expect(chained!.spans[0]!.attributes).toMatchObject({ 'gen_ai.conversation.id': 'conv-next', 'abtel.experiment.key': 'support-persona' });
  });

  it('forwards every call to next (onEnding only when next has it), also after a stamping error', async () => {
    const calls: string[] = [];
    const errors: string[] = [];
    // Inside a conversation, so the processor does read the span (and fails on it).
    const inConversation = withState(ROOT_CONTEXT, new ConversationState({ conversationId: 'conv-hostile' }));
    const next: SpanProcessor = {
      onStart: (_span: Span, parent: Context) => calls.push(`start:${parent === inConversation}`),
      onEnding: () => calls.push('ending'),
      onEnd: (span: ReadableSpan) => calls.push(`end:${span === hostile}`),
      forceFlush: async () => {
        calls.push('flush');
      },
      shutdown: async () => {
        calls.push('shutdown');
      },
    };
    const abtel = createAbtel({ experiments });
    const processor = abtel.spanProcessor({ next });
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('hostile');
        },
      },
    ) as unknown as Span;
    const silence = diag.setLogger({ error: (message) => errors.push(message), warn() {}, info() {}, debug() {}, verbose() {} });
    try {
      processor.onStart(hostile, inConversation);
      processor.onEnding?.(hostile);
      processor.onEnd(hostile as unknown as ReadableSpan);
      await processor.forceFlush();
      await processor.shutdown();
    } finally {
      diag.disable();
    }
    expect(silence).toBe(true);
    expect(calls).toEqual(['start:true', 'ending', 'end:true', 'flush', 'shutdown']);
    expect(errors).toHaveLength(2);
    expect(abtel.spanProcessor({ next: { ...next, onEnding: undefined } }).onEnding).toBeUndefined();
    expect(abtel.spanProcessor().onEnding).toBeUndefined();
    expect(context.active()).toBe(ROOT_CONTEXT);
  });
});

describe('isGenAiSpan', () => {
  it('recognises gen_ai spans by operation attribute or conventional name, and nothing else', () => {
    const check = (name: string, attributes: Record<string, string> = {}) => isGenAiSpan({ name, attributes });
    for (const name of ['chat gpt-4o-mini', 'embeddings text-embedding-3-small', 'text_completion x', 'generate_content gemini', 'create_agent a', 'invoke_agent a']) {
      expect(check(name), name).toBe(true);
    }
    for (const name of ['retrieve', '', 'chat', 'chatter box', 'GET /v1/chat', 'éclair chat x', '\u{1F600} chat x', 'Chat gpt-4o']) {
      expect(check(name), name).toBe(false);
    }
    expect(check('llm call', { 'gen_ai.operation.name': 'chat' })).toBe(true);
  });
});
