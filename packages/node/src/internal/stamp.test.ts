import { context, diag, ROOT_CONTEXT, type Attributes, type Tracer } from '@opentelemetry/api';
import { BasicTracerProvider, type Span, type SpanLimits } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { createAbtel } from '../abtel.js';
import { Layout, SpanStamp, stampSpan, type StampValues } from './stamp.js';
import { withState } from './context.js';
import { ConversationState } from './state.js';

const STAMP: Attributes = {
  'gen_ai.conversation.id': 'conv-1',
  'abtel.experiment.key': 'support-retrieval',
  'abtel.experiment.variation': 'hybrid',
  'abtel.experiment.version': 2,
  'abtel.assignment.unit': 'user',
  'abtel.assignment.id': 'user-1',
  'abtel.experiments': ['support-retrieval=hybrid', 'support-persona=warm'],
};

/** A real SDK span (the SDK's own Span class) of `tracer`, with the given start attributes. */
function startOn(tracer: Tracer, attributes?: Attributes): Span {
  return tracer.startSpan('retrieve', attributes === undefined ? undefined : { attributes }, ROOT_CONTEXT) as unknown as Span;
}

/** A real SDK span under a provider of its own with the given limits, and start attributes. */
function sdkSpan(limits: SpanLimits | undefined, attributes?: Attributes): Span {
  return startOn(new BasicTracerProvider(limits === undefined ? {} : { spanLimits: limits }).getTracer('test'), attributes);
}

/** Everything about a span's attributes an exporter or a later setAttribute can see. */
function observable(span: Span) {
  return {
    attributes: { ...span.attributes },
    order: Object.keys(span.attributes),
    dropped: span.droppedAttributesCount,
    count: (span as unknown as { _attributesCount: number })._attributesCount,
  };
}

/** Stamps `span` and tells whether `stampSpan` wrote directly (true) or called `span.setAttributes`. */
function stampedDirectly(span: Span, stamp: SpanStamp): boolean {
  let direct = true;
  const original = span.setAttributes.bind(span);
  span.setAttributes = (attributes) => {
    direct = false;
    return original(attributes);
  };
  stampSpan(span, stamp);
  return direct;
}

/**
 * Stamps one span with `stampSpan` and an identical one with the SDK's `setAttributes`, then
 * adds `extra` attributes to both (to exercise the count limit after stamping) and compares.
 * Returns whether `stampSpan` took the direct path (it did not call setAttributes).
 */
function compareWithSetAttributes(stampAttributes: Attributes, limits: SpanLimits | undefined, own?: Attributes, extra = 0): { direct: boolean } {
  const stamp = new SpanStamp(stampAttributes);
  const viaStamp = sdkSpan(limits, own);
  const viaSdk = sdkSpan(limits, own);
  const direct = stampedDirectly(viaStamp, stamp);
  viaSdk.setAttributes(stampAttributes);
  expect(observable(viaStamp)).toEqual(observable(viaSdk));
  for (let i = 0; i < extra; i++) {
    viaStamp.setAttribute(`extra.${i}`, i);
    viaSdk.setAttribute(`extra.${i}`, i);
    // Overwriting a stamped value is not a new attribute on either side.
    viaStamp.setAttribute('abtel.experiment.version', 3);
    viaSdk.setAttribute('abtel.experiment.version', 3);
  }
  expect(observable(viaStamp)).toEqual(observable(viaSdk));
  viaStamp.end();
  viaSdk.end();
  expect(observable(viaStamp)).toEqual(observable(viaSdk));
  return { direct };
}

const ownAttributes = (n: number): Attributes => Object.fromEntries(Array.from({ length: n }, (_, i) => [`own.${i}`, `value-${i}`]));

describe('stampSpan writes exactly what span.setAttributes writes', () => {
  it('on a span without attributes (default limits), directly', () => {
    expect(compareWithSetAttributes(STAMP, undefined, undefined, 200)).toEqual({ direct: true });
  });

  it('on a span with its own attributes, one of them also stamped (the stamp wins, in place), directly', () => {
    const own = { ...ownAttributes(8), 'gen_ai.conversation.id': 'from-instrumentation' };
    expect(compareWithSetAttributes(STAMP, undefined, own, 200)).toEqual({ direct: true });
  });

  it('on a span with many own attributes, up to and across the count limit', () => {
    // 121 + 7 = 128 fits exactly: direct; then the extra attributes are dropped the same way.
    expect(compareWithSetAttributes(STAMP, undefined, ownAttributes(121), 10)).toEqual({ direct: true });
    // 122 + 7 could cross 128: setAttributes decides which stamped values are dropped.
    expect(compareWithSetAttributes(STAMP, undefined, ownAttributes(122), 10)).toEqual({ direct: false });
    expect(compareWithSetAttributes(STAMP, undefined, ownAttributes(128), 3)).toEqual({ direct: false });
    expect(compareWithSetAttributes(STAMP, { attributeCountLimit: 3 }, undefined, 3)).toEqual({ direct: false });
    expect(compareWithSetAttributes(STAMP, { attributeCountLimit: 0 }, undefined, 1)).toEqual({ direct: false });
  });

  it('with a value-length limit: direct when nothing is truncated, else the SDK truncates', () => {
    expect(compareWithSetAttributes(STAMP, { attributeValueLengthLimit: 24 }, undefined, 2)).toEqual({ direct: true });
    expect(compareWithSetAttributes(STAMP, { attributeValueLengthLimit: 5 }, undefined, 2)).toEqual({ direct: false });
  });

  it('skips null and undefined values as setAttribute does, and leaves invalid values to the SDK', () => {
    const withHoles = { ...STAMP, 'abtel.assignment.id': undefined, 'abtel.assignment.migrated': null } as unknown as Attributes;
    expect(compareWithSetAttributes(withHoles, undefined, ownAttributes(2), 2)).toEqual({ direct: true });
    const invalid = { ...STAMP, 'gen_ai.conversation.id': { nested: true }, '': 'empty key' } as unknown as Attributes;
    expect(compareWithSetAttributes(invalid, undefined, undefined, 2)).toEqual({ direct: false });
  });

  it('changes nothing on an ended span (as setAttribute does)', () => {
    const stamp = new SpanStamp(STAMP);
    const span = sdkSpan(undefined, ownAttributes(1));
    span.end();
    const before = observable(span);
    const silence = diag.setLogger({ error() {}, warn() {}, info() {}, debug() {}, verbose() {} });
    try {
      stampSpan(span, stamp);
    } finally {
      diag.disable();
    }
    expect(silence).toBe(true);
    expect(observable(span)).toEqual(before);
  });

  it('gives every span its own attribute object, and shares only frozen arrays', () => {
    const stamp = new SpanStamp(STAMP);
    const first = sdkSpan(undefined);
    const second = sdkSpan(undefined);
    stampSpan(first, stamp);
    stampSpan(second, stamp);
    expect(first.attributes).not.toBe(second.attributes);
    first.setAttribute('only.first', 1);
    expect(second.attributes['only.first']).toBeUndefined();
    expect(Object.isFrozen(first.attributes['abtel.experiments'])).toBe(true);
    expect(Object.isFrozen(stamp.spanAttributes())).toBe(true);
  });
});

describe('later spans of one stamp (the fast path) write exactly what span.setAttributes writes', () => {
  it('across spans with and without attributes of their own, near the count limit, and after the span ended', () => {
    const provider = new BasicTracerProvider({ spanLimits: { attributeCountLimit: 20 } });
    const tracer = provider.getTracer('test');
    const stamp = new SpanStamp(STAMP);
    const size = Object.keys(STAMP).length;
    // Own attribute counts: the first span checks the limits; later ones take the fast path,
    // which must still hand over to setAttributes once the stamp could cross the limit.
    for (const own of [0, 0, 3, 0, 20 - size, 20 - size + 1, 0, 19, 2]) {
      const attributes = own === 0 ? undefined : ownAttributes(own);
      const viaStamp = startOn(tracer, attributes);
      const viaSdk = startOn(tracer, attributes);
      stampSpan(viaStamp, stamp);
      viaSdk.setAttributes(STAMP);
      expect(observable(viaStamp), `${own} own attributes`).toEqual(observable(viaSdk));
    }
    const ended = startOn(tracer);
    ended.end();
    stampSpan(ended, stamp);
    expect(ended.attributes).toEqual({});
  });

  it('on the fast path, also counts exactly when attributes were written around setAttribute (count 0, object not empty)', () => {
    const tracer = new BasicTracerProvider().getTracer('test');
    const stamp = new SpanStamp(STAMP);
    // The first span establishes the limits; the next ones take the fast path.
    stampSpan(startOn(tracer), stamp);
    for (const written of [{ 'abtel.experiment.key': 'x' }, { 'own.direct': 1 }, { 'abtel.assignment.id': 'u', 'gen_ai.conversation.id': 'c' }]) {
      const viaStamp = startOn(tracer);
      const viaSdk = startOn(tracer);
      Object.assign(viaStamp.attributes, written);
      Object.assign(viaSdk.attributes, written);
      stampSpan(viaStamp, stamp);
      viaSdk.setAttributes(STAMP);
      expect(observable(viaStamp), JSON.stringify(written)).toEqual(observable(viaSdk));
    }
  });

  it('does not reuse limits checked under another tracer provider', () => {
    const stamp = new SpanStamp(STAMP);
    const roomy = sdkSpan(undefined);
    stampSpan(roomy, stamp);
    // A provider whose value-length limit truncates: the SDK decides (and truncates).
    const tight = sdkSpan({ attributeValueLengthLimit: 5 });
    const reference = sdkSpan({ attributeValueLengthLimit: 5 });
    stampSpan(tight, stamp);
    reference.setAttributes(STAMP);
    expect(observable(tight)).toEqual(observable(reference));
    expect(tight.attributes['abtel.experiment.key']).toBe('suppo');
  });

  it('a stamp made after its provider was checked writes directly from its first span, and only when its values fit', () => {
    const tracer = new BasicTracerProvider({ spanLimits: { attributeValueLengthLimit: 12 } }).getTracer('test');
    const short = { 'gen_ai.conversation.id': 'conv-1', 'abtel.experiment.key': 'persona' };
    // The first stamp under these limits checks them on the slow path.
    stampSpan(startOn(tracer), new SpanStamp(short));
    for (const [attributes, expectDirect] of [
      [{ ...short, 'gen_ai.conversation.id': 'conv-2' }, true],
      // 'support-retrieval' is longer than the limit: the SDK truncates, never the direct write.
      [{ ...short, 'abtel.experiment.key': 'support-retrieval' }, false],
    ] as const) {
      const stamp = new SpanStamp(attributes);
      for (let i = 0; i < 2; i++) {
        const viaStamp = startOn(tracer);
        const viaSdk = startOn(tracer);
        const direct = stampedDirectly(viaStamp, stamp);
        viaSdk.setAttributes(attributes);
        expect(observable(viaStamp), JSON.stringify(attributes)).toEqual(observable(viaSdk));
        expect(direct, `${JSON.stringify(attributes)}, span ${i + 1}`).toBe(expectDirect);
      }
    }
  });

  it('stays exact when spans of two providers with different limits alternate', () => {
    const stamp = new SpanStamp(STAMP);
    const roomy = new BasicTracerProvider().getTracer('roomy');
    const tight = new BasicTracerProvider({ spanLimits: { attributeValueLengthLimit: 5, attributeCountLimit: 4 } }).getTracer('tight');
    for (const tracer of [roomy, tight, roomy, roomy, tight, tight, roomy]) {
      const viaStamp = startOn(tracer);
      const viaSdk = startOn(tracer);
      stampSpan(viaStamp, stamp);
      viaSdk.setAttributes(STAMP);
      expect(observable(viaStamp)).toEqual(observable(viaSdk));
    }
  });

  it('a conversation state restamps after an assignment joins', () => {
    const state = new ConversationState({ conversationId: 'conv-join' });
    const before = sdkSpan(undefined);
    stampSpan(before, state);
    stampSpan(sdkSpan(undefined), state); // now on the fast path
    state.join({
      experiment: 'support-persona',
      variation: 'warm',
      version: 3,
      unit: 'conversation',
      unitId: 'conv-join',
      exposed: true,
      reason: 'SPLIT',
      providerName: 'abtel',
      migrated: false,
      segments: {},
    });
    const after = sdkSpan(undefined);
    stampSpan(after, state);
    expect(plainAttributes(before)).toEqual({ 'gen_ai.conversation.id': 'conv-join' });
    expect(plainAttributes(after)).toEqual({
      'gen_ai.conversation.id': 'conv-join',
      'abtel.experiment.key': 'support-persona',
      'abtel.experiment.variation': 'warm',
      'abtel.experiment.version': 3,
      'abtel.assignment.unit': 'conversation',
    });
    expect((after as unknown as { _attributesCount: number })._attributesCount).toBe(5);
  });
});

const plainAttributes = (span: Span) => ({ ...span.attributes });

describe('attribute writers', () => {
  // Names that need escaping in a JavaScript string literal, and one that would be code if it were not escaped.
  const awkward = ['plain', 'quote"name', "apostrophe'name", 'back\\slash', 'new\nline', 'separator\u2028here', '"]; globalThis.injected = true; //', '${template}'];
  const many = Array.from({ length: 11 }, (_, i) => `key.${i}`);

  for (const keys of [awkward, many, ['only.one'], []]) {
    it(`compiled and loop writers agree for ${keys.length} names`, () => {
      const values = keys.map((_, i) => (i % 2 === 0 ? `value-${i}` : i));
      const stamp: StampValues = { v0: values[0], v1: values[1], v2: values[2], v3: values[3], v4: values[4], v5: values[5], v6: values[6], v7: values[7], rest: values.slice(8) };
      for (const compile of [true, false]) {
        const layout = new Layout(keys, compile);
        const written: Record<string, unknown> = {};
        layout.write(written, stamp);
        expect(Object.keys(written)).toEqual(keys);
        expect(Object.values(written)).toEqual(values);
        const existing: Record<string, unknown> = keys.length > 0 ? { [keys[0]!]: 'old', other: 1 } : { other: 1 };
        const added = layout.assign(existing, stamp, Object.prototype.hasOwnProperty);
        expect(added).toBe(Math.max(0, keys.length - 1));
        expect(existing).toEqual({ ...Object.fromEntries(keys.map((key, i) => [key, values[i]])), other: 1 });
      }
      expect((globalThis as { injected?: boolean }).injected).toBeUndefined();
    });
  }

  it('counts a name inherited from the prototype as new, as setAttribute does', () => {
    const layout = new Layout(['toString', 'fresh'], true);
    const target: Record<string, unknown> = {};
    const stamp: StampValues = { v0: 'a', v1: 'b', v2: undefined, v3: undefined, v4: undefined, v5: undefined, v6: undefined, v7: undefined, rest: [] };
    expect(layout.assign(target, stamp, Object.prototype.hasOwnProperty)).toBe(2);
    expect(target).toEqual({ toString: 'a', fresh: 'b' });
  });
});

describe('the span processor never throws on an unusual span', () => {
  let restore: (() => void) | undefined;
  afterEach(() => restore?.());

  it('stamps spans of another shape through setAttributes, and survives ones that throw or lack it', () => {
    const errors: string[] = [];
    diag.setLogger({ error: (message) => errors.push(message), warn() {}, info() {}, debug() {}, verbose() {} });
    restore = () => diag.disable();
    const processor = createAbtel({}).spanProcessor();
    const state = new ConversationState({ conversationId: 'conv-odd' });
    const parent = withState(ROOT_CONTEXT, state);

    // A span that only implements the API (no SDK internals): stamped through setAttributes.
    const set: Attributes = {};
    const apiOnly = { name: 'retrieve', attributes: {}, setAttributes: (attributes: Attributes) => Object.assign(set, attributes) };
    processor.onStart(apiOnly as unknown as Span, parent);
    expect(set).toEqual({ 'gen_ai.conversation.id': 'conv-odd' });

    // SDK-looking fields with the wrong types: setAttributes path as well.
    const wrongTypes = { ...apiOnly, _attributesCount: '0', _ended: false, _spanLimits: {}, _attributeValueLengthLimit: Infinity };
    processor.onStart(wrongTypes as unknown as Span, parent);

    // Accessors that throw, a frozen attribute object, a missing setAttributes, a Proxy that throws on everything.
    const throwing = Object.defineProperty({ name: 'retrieve' }, '_attributesCount', {
      get() {
        throw new Error('boom');
      },
    });
    const frozen = { name: 'retrieve', attributes: Object.freeze({}), _attributesCount: 0, _ended: false, _spanLimits: {}, _attributeValueLengthLimit: Infinity };
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('hostile');
        },
      },
    );
    for (const span of [throwing, frozen, {}, hostile, { name: 'chat x', attributes: null }]) {
      expect(() => processor.onStart(span as unknown as Span, parent)).not.toThrow();
      expect(() => processor.onEnd(span as unknown as Span)).not.toThrow();
    }
    // Failures were reported through diag, not thrown.
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((message) => message.startsWith('@abtel/node:'))).toBe(true);
    // The context manager is untouched by any of this.
    expect(context.active()).toBe(ROOT_CONTEXT);
  });
});
