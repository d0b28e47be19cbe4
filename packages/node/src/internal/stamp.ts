import type { Attributes, AttributeValue } from '@opentelemetry/api';
import { isAttributeValue } from '@opentelemetry/core';
import type { Span } from '@opentelemetry/sdk-trace-base';

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * The attributes stamped on every span of one conversation, validated once when the conversation
 * or its assignments change instead of on every span (the SDK's `Span.setAttribute` re-validates
 * each value on each call, which cost more than everything else abtel does per span).
 * @example
 * const stamp = new SpanStamp({ 'gen_ai.conversation.id': 'conv-1', 'abtel.experiment.key': 'support-persona' });
 * stampSpan(span, stamp); // in the span processor's onStart
 */
export class SpanStamp {
  /** The attributes (frozen; arrays frozen too). What `span.setAttributes` receives on the slow path. */
  readonly attributes: Readonly<Attributes>;
  /** Attribute names, in insertion order. */
  readonly keys: readonly string[];
  /**
   * True when every name and value passes the SDK's own checks (non-empty name, non-null valid
   * attribute value), so writing them directly stores exactly what `setAttribute` would store.
   */
  readonly writableDirectly: boolean;
  /** Length of the longest string (alone or in an array): the direct write needs a value-length limit at least this long. */
  readonly longestString: number;
  // Same content as `attributes`, but NOT frozen: V8 copies an extensible plain object with
  // `{ ...template }` in one step (object-clone fast path) and Object.assign from it faster too,
  // while a frozen source falls off those paths (measured: about 10 % of a bare span's cost).
  // Never handed out, so nothing can change it.
  readonly #template: Attributes;

  constructor(attributes: Attributes) {
    const template: Attributes = {};
    let valid = true;
    let longest = 0;
    for (const [key, value] of Object.entries(attributes)) {
      // setAttribute ignores null and undefined values without a word.
      if (value === null || value === undefined) continue;
      // An invalid name or value stays in, so the SDK's setAttribute path rejects it with its warning.
      if (key.length === 0 || !isAttributeValue(value)) valid = false;
      const stored = Array.isArray(value) ? Object.freeze([...value]) : value;
      template[key] = stored as AttributeValue;
      longest = Math.max(longest, longestStringIn(stored));
    }
    this.#template = template;
    this.attributes = Object.freeze({ ...template });
    this.keys = Object.freeze(Object.keys(template));
    this.writableDirectly = valid;
    this.longestString = longest;
  }

  /** A fresh, extensible copy of the attributes (arrays shared: they are frozen). */
  copy(): Attributes {
    return { ...this.#template };
  }

  /** Writes the attributes into `target`, overwriting same-named ones; returns how many were new there. */
  assignTo(target: object): number {
    const template = this.#template;
    let added = 0;
    for (const key in template) if (!hasOwn.call(target, key)) added += 1;
    // From the extensible template: Object.assign from a frozen source is measurably slower.
    Object.assign(target, template);
    return added;
  }
}

function longestStringIn(value: unknown): number {
  if (typeof value === 'string') return value.length;
  if (!Array.isArray(value)) return 0;
  let longest = 0;
  for (const element of value) if (typeof element === 'string' && element.length > longest) longest = element.length;
  return longest;
}

/**
 * The fields of the SDK's span (`SpanImpl` of `@opentelemetry/sdk-trace-base` 2.x) that
 * `Span.setAttribute` reads and writes. Typed `unknown` on purpose: every one is checked before use.
 */
interface SdkSpanFields {
  attributes: unknown;
  _attributesCount: unknown;
  _ended: unknown;
  _attributeValueLengthLimit: unknown;
  _spanLimits: unknown;
}

/**
 * Writes the stamp's attributes into `span`, with exactly the result of
 * `span.setAttributes(stamp.attributes)`: same attribute object content, same attribute count,
 * same count-limit behaviour. Throws only if `span` lacks `setAttributes` (the caller catches).
 * @example
 * stampSpan(span, new SpanStamp({ 'gen_ai.conversation.id': 'conv-1' }));
 */
export function stampSpan(span: Span, stamp: SpanStamp): void {
  if (stamp.writableDirectly && writeDirectly(span as unknown as SdkSpanFields, stamp)) return;
  span.setAttributes(stamp.attributes);
}

/**
 * The fast path: when `span` is the SDK's span in the shape this was written against, store the
 * (already validated) values the way `setAttribute` would, minus its per-value validation.
 * Returns false, having changed nothing, whenever the result could differ from `setAttribute`'s:
 * an ended span, an unexpected shape (another span class, another SDK version), a count limit
 * the stamp could cross (then `setAttribute` decides which values are dropped), or a value-length
 * limit that would truncate (or that the SDK warns about).
 */
function writeDirectly(span: SdkSpanFields, stamp: SpanStamp): boolean {
  try {
    const count = span._attributesCount;
    if (typeof count !== 'number' || span._ended !== false) return false;
    const limits = span._spanLimits as { attributeCountLimit?: unknown } | null | undefined;
    if (typeof limits !== 'object' || limits === null) return false;
    const countLimit = limits.attributeCountLimit;
    if (countLimit !== undefined && !(typeof countLimit === 'number' && count + stamp.keys.length <= countLimit)) return false;
    const lengthLimit = span._attributeValueLengthLimit;
    if (typeof lengthLimit !== 'number' || !(lengthLimit > 0) || stamp.longestString > lengthLimit) return false;
    const current = span.attributes as Record<string, unknown> | null;
    if (typeof current !== 'object' || current === null) return false;
    if (count === 0 && isEmpty(current)) {
      // The span has no attributes yet (most spans): a fresh copy replaces its empty object.
      const fresh = stamp.copy();
      span.attributes = fresh;
      if (span.attributes !== fresh) return false; // not a plain writable field after all
      span._attributesCount = stamp.keys.length;
      return true;
    }
    // The span has attributes already: overwrite same-named ones and count new ones, as
    // setAttribute does (it too writes with a plain `attributes[key] = value`).
    span._attributesCount = count + stamp.assignTo(current);
    return true;
  } catch {
    // Some accessor behaved unexpectedly; setAttributes decides.
    return false;
  }
}

function isEmpty(object: object): boolean {
  for (const key in object) if (hasOwn.call(object, key)) return false;
  return true;
}
