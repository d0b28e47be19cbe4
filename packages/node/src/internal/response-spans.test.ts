import { diag, DiagLogLevel } from '@opentelemetry/api';
import { BasicTracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { ResponseSpans } from './response-spans.js';

const tracer = new BasicTracerProvider().getTracer('test');

function chat(responseId?: string) {
  const span = tracer.startSpan('chat gpt-4o-mini', { attributes: { 'gen_ai.operation.name': 'chat' } });
  if (responseId !== undefined) span.setAttribute('gen_ai.response.id', responseId);
  return span as unknown as ReadableSpan & { end(): void; spanContext(): ReturnType<ReadableSpan['spanContext']> };
}

afterEach(() => diag.disable());

describe('ResponseSpans', () => {
  it('finds the span of a response id once the span has ended, not before', () => {
    const responses = new ResponseSpans(10);
    const span = chat('chatcmpl-1');
    responses.noteStarted(span);
    expect(responses.get('chatcmpl-1')).toBeUndefined();
    span.end();
    expect(responses.get('chatcmpl-1')).toEqual(span.spanContext());
    expect(responses.notedCount).toBe(0);
    expect(responses.get('chatcmpl-2')).toBeUndefined();
  });

  it('reads spans that ended in start order as new ones are noted, so the queue stays short', () => {
    const responses = new ResponseSpans(1000, 64);
    const spans = [];
    for (let i = 0; i < 500; i++) {
      const span = chat(`seq-${i}`);
      responses.noteStarted(span);
      expect(responses.notedCount).toBeLessThanOrEqual(2);
      span.end();
      spans.push(span);
    }
    for (const i of [0, 250, 499]) expect(responses.get(`seq-${i}`)).toEqual(spans[i]!.spanContext());
  });

  it('reads ended spans when the noted list is full, keeping running ones', () => {
    const responses = new ResponseSpans(100, 8);
    const running = chat('running');
    responses.noteStarted(running);
    const ended = [];
    for (let i = 0; i < 7; i++) {
      const span = chat(`r-${i}`);
      responses.noteStarted(span);
      span.end();
      ended.push(span);
    }
    // The eighth note filled the list: the six spans that had ended were read; the running one and
    // the one just noted (not ended yet at that moment) were kept.
    expect(responses.notedCount).toBe(2);
    running.end();
    expect(responses.get('r-3')).toEqual(ended[3]!.spanContext());
    expect(responses.get('r-6')).toEqual(ended[6]!.spanContext());
    expect(responses.get('running')).toEqual(running.spanContext());
  });

  it('stays bounded when spans never end: the oldest half of the noted list is forgotten, with a debug message', () => {
    const messages: string[] = [];
    diag.setLogger({ debug: (message: string) => messages.push(message), error() {}, warn() {}, info() {}, verbose() {} }, DiagLogLevel.DEBUG);
    const responses = new ResponseSpans(100, 16);
    const leaked = [];
    for (let i = 0; i < 1000; i++) {
      const span = chat(`leak-${i}`);
      leaked.push(span);
      responses.noteStarted(span);
      expect(responses.notedCount).toBeLessThan(16);
    }
    const forgetting = messages.filter((message) => message.includes('gen_ai spans started but not ended'));
    expect(forgetting.length).toBeGreaterThan(0);
    expect(forgetting[0]).toMatch(/^@abtel\/node: 16 gen_ai spans started but not ended; forgetting the oldest 12 /);
    // The most recent ones are still noted and found once they end.
    leaked.at(-1)!.end();
    expect(responses.get('leak-999')).toEqual(leaked.at(-1)!.spanContext());
    leaked[0]!.end();
    expect(responses.get('leak-0')).toBeUndefined();
  });

  it('drops a span that throws when read, without throwing', () => {
    const responses = new ResponseSpans(10);
    const hostile = new Proxy({}, { get: () => { throw new Error('hostile'); } }) as ReadableSpan;
    responses.noteStarted(hostile);
    expect(() => responses.get('x')).not.toThrow();
    expect(responses.notedCount).toBe(0);
  });

  it('keeps at most `capacity` response ids, least recently used out', () => {
    const responses = new ResponseSpans(2);
    for (const id of ['a', 'b', 'c']) {
      const span = chat(id);
      responses.noteStarted(span);
      span.end();
    }
    expect(responses.get('a')).toBeUndefined();
    expect(responses.get('b')).toBeDefined();
    expect(responses.get('c')).toBeDefined();
  });
});
