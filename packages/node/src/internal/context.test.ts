import { createContextKey, propagation, ROOT_CONTEXT, trace, type Context } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { baggageWithState } from './baggage.js';
import { spanStateOf, stateOf, withState } from './context.js';
import { ConversationState } from './state.js';

const STATE_KEY = Symbol.for('@abtel/node.conversation');
const A = createContextKey('test.a');
const B = createContextKey('test.b');

const conversation = (id: string): ConversationState => new ConversationState({ conversationId: id });

/** Every value of `keys` in `ctx`, for comparing two contexts key by key. */
const valuesIn = (ctx: Context, keys: symbol[]): unknown[] => keys.map((key) => ctx.getValue(key));

/** A `Context` that keeps its values some other way than the API's own class (no `_currentContext`). */
class ChainedContext implements Context {
  constructor(
    private readonly parent: Context | undefined,
    private readonly key?: symbol,
    private readonly value?: unknown,
    private readonly deleted = false,
  ) {}
  getValue(key: symbol): unknown {
    if (key === this.key) return this.deleted ? undefined : this.value;
    return this.parent?.getValue(key);
  }
  setValue(key: symbol, value: unknown): Context {
    return new ChainedContext(this, key, value);
  }
  deleteValue(key: symbol): Context {
    return new ChainedContext(this, key, undefined, true);
  }
}

describe('conversation contexts', () => {
  it('keep every value of the context they were made from, and add the state', () => {
    const span = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 });
    const outer = trace.setSpan(ROOT_CONTEXT.setValue(A, 'a'), span);
    const state = conversation('conv-1');
    const ctx = withState(outer, state);
    expect(ctx.getValue(A)).toBe('a');
    expect(trace.getSpan(ctx)).toBe(span);
    expect(ctx.getValue(STATE_KEY)).toBe(state);
    // The state as a property (what a span start reads): the API's own contexts were recognised
    // and copied. Fails if a new API version keeps its values differently (then the state is
    // still found by key, more slowly: see the next tests).
    expect((ctx as unknown as Record<symbol, unknown>)[STATE_KEY]).toBe(state);
    expect(stateOf(ctx)).toBe(state);
    expect(spanStateOf(ctx)).toBe(state);
    // The context it was made from is unchanged.
    expect(outer.getValue(STATE_KEY)).toBeUndefined();
    expect(stateOf(outer)).toBeUndefined();
  });

  it('derive contexts with the same results as the API context class, operation by operation', () => {
    const state = conversation('conv-1');
    const other = conversation('conv-2');
    // The same operations on a plain API context and on a conversation context (state aside).
    const operations: ((ctx: Context) => Context)[] = [
      (ctx) => ctx.setValue(A, 1),
      (ctx) => ctx.setValue(B, 'two'),
      (ctx) => ctx.setValue(A, 3),
      (ctx) => ctx.deleteValue(B),
      (ctx) => ctx.deleteValue(createContextKey('test.never-set')),
      (ctx) => ctx.setValue(B, undefined),
    ];
    let plain: Context = ROOT_CONTEXT.setValue(STATE_KEY, state);
    let ours: Context = withState(ROOT_CONTEXT, state);
    const history: [Context, Context][] = [[plain, ours]];
    for (const operation of operations) {
      plain = operation(plain);
      ours = operation(ours);
      history.push([plain, ours]);
    }
    // Every context along the way, not only the last: deriving never changes a parent.
    for (const [p, o] of history) {
      expect(valuesIn(o, [A, B, STATE_KEY])).toEqual(valuesIn(p, [A, B, STATE_KEY]));
      expect(stateOf(o)).toBe(state);
    }
    // Replacing and deleting the state itself: the property follows the value.
    const replaced = ours.setValue(STATE_KEY, other);
    expect(stateOf(replaced)).toBe(other);
    expect(spanStateOf(replaced)).toBe(other);
    expect(stateOf(ours)).toBe(state);
    const deleted = replaced.deleteValue(STATE_KEY);
    expect(deleted.getValue(STATE_KEY)).toBeUndefined();
    expect(stateOf(deleted)).toBeUndefined();
    expect(spanStateOf(deleted)).toBeUndefined();
    expect(deleted.getValue(A)).toBe(3);
  });

  it('nest: an inner conversation replaces the outer one, which its own context keeps', () => {
    const outer = withState(ROOT_CONTEXT.setValue(A, 'a'), conversation('outer'));
    const inner = withState(outer.setValue(B, 'b'), conversation('inner'));
    expect(stateOf(inner)?.conversationId).toBe('inner');
    expect(stateOf(outer)?.conversationId).toBe('outer');
    expect(valuesIn(inner, [A, B])).toEqual(['a', 'b']);
  });

  it('fall back to the key for a context of another implementation', () => {
    const state = conversation('conv-1');
    const ctx = withState(new ChainedContext(undefined, A, 'a'), state);
    expect(ctx).toBeInstanceOf(ChainedContext);
    expect(ctx.getValue(A)).toBe('a');
    expect(stateOf(ctx)).toBe(state);
    expect(spanStateOf(ctx.setValue(B, 'b'))).toBe(state);
  });

  it('leave the state of an upstream service (baggage) to contexts that carry none of their own', () => {
    const ctx = propagation.setBaggage(ROOT_CONTEXT, baggageWithState(undefined, conversation('conv-up')));
    expect(spanStateOf(ctx)?.conversationId).toBe('conv-up');
    // A local conversation wins over baggage.
    const local = withState(ctx, conversation('conv-local'));
    expect(spanStateOf(local)?.conversationId).toBe('conv-local');
  });
});
