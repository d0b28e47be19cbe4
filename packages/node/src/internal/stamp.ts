import type { Attributes, AttributeValue } from '@opentelemetry/api';
import { isAttributeValue } from '@opentelemetry/core';
import type { Span } from '@opentelemetry/sdk-trace-base';

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * The attributes stamped on every span of one conversation, validated once when the conversation
 * or its assignments change instead of on every span (the SDK's `Span.setAttribute` re-validates
 * each value on each call, which cost more than everything else abtel does per span).
 * `ConversationState` extends it, so a span start reads one per-conversation object.
 * @example
 * const stamp = new SpanStamp({ 'gen_ai.conversation.id': 'conv-1', 'abtel.experiment.key': 'support-persona' });
 * stampSpan(span, stamp); // in the span processor's onStart
 */
export class SpanStamp {
  // Hot fields first, values inline: a span start reads this one object (and the shared layout),
  // not a values array and a names array per conversation. With spans allocated at a high rate
  // the per-conversation objects are rarely still in the CPU cache, so every extra object read is
  // a cache miss on the span's path (measured: 1,000 conversations in turn cost about 10 % of a
  // bare span more than a single one, with the attributes in a separate object). So everything a
  // span start reads sits in the first 96 bytes of the object (header, two fields, six values,
  // the pending-exposure flag): no private methods (they would add a brand field in front), the
  // attribute count read from the shared layout.
  // The value-length limit a direct write of the current values needs (their longest string);
  // BLOCKED before the first `restamp` and while they are invalid, so that `writeFast` declines
  // before reading them.
  #needsLength = BLOCKED;
  #layout: Layout = EMPTY_LAYOUT;
  // The values, in the order of the layout's names; public only for the compiled writers, which
  // read them by name (two arguments per call keep the inlined call sites small).
  /** @internal */ v0: unknown = undefined;
  /** @internal */ v1: unknown = undefined;
  /** @internal */ v2: unknown = undefined;
  /** @internal */ v3: unknown = undefined;
  /** @internal */ v4: unknown = undefined;
  /** @internal */ v5: unknown = undefined;
  /**
   * For `ConversationState`: whether an exposure is still due, kept current where the assignments
   * or the exposures change. The span processor reads it at every span start (before the gen_ai
   * check), so it follows the values (a field of the subclass would sit on a further cache line).
   * @internal
   */
  protected pendingExposure = false;
  /** @internal */ v6: unknown = undefined;
  /** @internal */ v7: unknown = undefined;
  /** @internal */ rest: readonly unknown[] = NO_VALUES;
  #longest = 0;
  #writable = true;
  #attributes: Readonly<Attributes> = NO_ATTRIBUTES;

  /** `attributes`: what to stamp; omitted by subclasses, which call `restamp` once their state is set. */
  constructor(attributes?: Attributes) {
    if (attributes !== undefined) this.restamp(attributes);
  }

  /**
   * Replaces the values. Called where they change (a conversation starts, an assignment joins
   * it), never from the span path: V8 would inline the computation into the SDK's span
   * constructor, having seen it run at the first span of every conversation.
   */
  protected restamp(attributes: Attributes): void {
    const keys: string[] = [];
    const values: unknown[] = [];
    let valid = true;
    let longest = 0;
    for (const [key, value] of Object.entries(attributes)) {
      // setAttribute ignores null and undefined values without a word.
      if (value === null || value === undefined) continue;
      // An invalid name or value stays in, so the SDK's setAttribute path rejects it with its warning.
      // `__proto__` too: assigning it would replace the attribute object's prototype.
      if (key.length === 0 || key === '__proto__' || !isAttributeValue(value)) valid = false;
      const stored = Array.isArray(value) ? Object.freeze([...value]) : value;
      keys.push(key);
      values.push(stored);
      longest = Math.max(longest, longestStringIn(stored));
    }
    // An invalid stamp is never written directly; it gets uncompiled writers of its own.
    this.#layout = valid ? layoutOf(keys) : new Layout(keys, false);
    this.rest = Object.freeze(values.slice(INLINE_VALUES));
    this.v0 = values[0];
    this.v1 = values[1];
    this.v2 = values[2];
    this.v3 = values[3];
    this.v4 = values[4];
    this.v5 = values[5];
    this.v6 = values[6];
    this.v7 = values[7];
    this.#longest = longest;
    this.#writable = valid;
    this.#needsLength = valid ? longest : BLOCKED;
    const frozen: Attributes = {};
    for (let i = 0; i < keys.length; i++) frozen[keys[i]!] = values[i] as AttributeValue;
    this.#attributes = Object.freeze(frozen);
  }

  /** The attributes (frozen; arrays frozen too). What `span.setAttributes` receives on the slow path. */
  spanAttributes(): Readonly<Attributes> {
    return this.#attributes;
  }

  /** Number of attributes. */
  get size(): number {
    return this.#layout.size;
  }

  /** Length of the longest string (alone or in an array): the direct write needs a value-length limit at least this long. */
  get longestString(): number {
    return this.#longest;
  }

  /**
   * True when every name and value passes the SDK's own checks (non-empty name, non-null valid
   * attribute value), so writing them directly stores exactly what `setAttribute` would store.
   */
  get writableDirectly(): boolean {
    return this.#writable;
  }

  /**
   * The whole per-span fast path, kept small on purpose (V8 inlines it into the SDK's span
   * constructor, and every byte inlined there counts against the budget that otherwise inlines
   * the SDK's own helpers): the SDK's span under limits already checked for the current values.
   * Returns false, having changed nothing, when `stampSpan` has to decide.
   */
  writeFast(span: SdkSpanFields): boolean {
    if (span._spanLimits !== trusted.limits || this.#needsLength > trusted.lengthLimit || span._ended !== false) return false;
    const count = span._attributesCount;
    const layout = this.#layout;
    if (typeof count !== 'number' || !(count + layout.size <= trusted.countLimit)) return false;
    // Same-named attributes are overwritten and new ones counted, as setAttribute does: also right
    // for a span without attributes (the usual case), where each check is one the compiled code
    // answers from the object's hidden class, cheaper than proving the object empty first.
    span._attributesCount = count + layout.assign(span.attributes as Record<string, unknown>, this, hasOwn);
    return true;
  }

  /**
   * Adds the attributes to `target`, which must have none of them yet (the SDK span's own empty
   * attribute object): in place, so a stamped span allocates no attribute object of its own.
   */
  writeInto(target: Record<string, unknown>): void {
    this.#layout.write(target, this);
  }

  /** Writes the attributes into `target`, overwriting same-named ones; returns how many were new there. */
  assignTo(target: Record<string, unknown>): number {
    return this.#layout.assign(target, this, hasOwn);
  }
}

// A unique object no span can have as its limits.
const NOT_CHECKED_YET: unknown = Object.freeze({});
// Above any attribute count or string length; still a V8 small integer (a field that once holds
// Infinity makes V8 box every value of it).
const BLOCKED = 2 ** 30 - 1;

/**
 * The span-limits object (one per tracer provider, merged from its configuration at construction
 * and never changed by the SDK) that `writeDirectly` last found a direct write safe under, with
 * its count and value-length limits (capped below BLOCKED). The span's value-length limit is
 * derived from that object, so the checks hold for every span under it; the count limit is
 * compared with each span's count.
 */
const trusted = { limits: NOT_CHECKED_YET as unknown, countLimit: 0, lengthLimit: 0 };

function trust(limits: unknown, countLimit: number, lengthLimit: number): void {
  trusted.limits = limits;
  trusted.countLimit = Math.min(Math.floor(countLimit), BLOCKED - 1);
  trusted.lengthLimit = Math.min(Math.floor(lengthLimit), BLOCKED - 1);
}

const NO_VALUES: readonly unknown[] = Object.freeze([]);
const NO_ATTRIBUTES: Readonly<Attributes> = Object.freeze({});

/** Values passed to the writers one by one; the rest in an array. */
const INLINE_VALUES = 8;

/** What the writers read: up to eight values by name, the rest in an array. */
export interface StampValues {
  v0: unknown;
  v1: unknown;
  v2: unknown;
  v3: unknown;
  v4: unknown;
  v5: unknown;
  v6: unknown;
  v7: unknown;
  rest: readonly unknown[];
}

type WriteFn = (t: Record<string, unknown>, s: StampValues) => void;
type AssignFn = (t: Record<string, unknown>, s: StampValues, has: typeof hasOwn) => number;

/**
 * One list of attribute names and the writers for it. A stamp's names come from a handful of
 * layouts (the contract's attributes, with or without `abtel.assignment.id` / `abtel.experiments` +
 * `abtel.assignment.ids`),
 * shared by every conversation.
 *
 * The writers are compiled with the names as string literals: a store to a literal name is a
 * monomorphic, cached hidden-class transition for V8, while a store whose name is read from an
 * array took about 100 ns more per span (measured on the SDK's span). Names are embedded with
 * JSON.stringify (a valid, fully escaped JavaScript string literal) and values are passed in, so
 * no input is ever evaluated as code. Without code generation (`--disallow-code-generation-from-strings`)
 * the same result comes from a loop, more slowly.
 * @example
 * const layout = new Layout(['gen_ai.conversation.id', 'abtel.experiment.key'], true);
 * layout.write(span.attributes, stamp); // stamp.v0 = 'conv-1', stamp.v1 = 'support-persona'
 */
export class Layout {
  readonly keys: readonly string[];
  /** Number of names (read at every span start, so a field rather than `keys.length`). */
  readonly size: number;
  readonly write: WriteFn;
  readonly assign: AssignFn;

  constructor(keys: readonly string[], compile: boolean) {
    this.keys = Object.freeze([...keys]);
    this.size = this.keys.length;
    const compiled = compile ? compileWriters(this.keys) : undefined;
    this.write = compiled?.write ?? loopWrite(this.keys);
    this.assign = compiled?.assign ?? loopAssign(this.keys);
  }
}

const EMPTY_LAYOUT = new Layout([], false);

// Bounded: beyond it, a new layout still works but is compiled for its stamp alone.
const MAX_LAYOUTS = 64;
const layouts = new Map<string, Layout>();

function layoutOf(keys: readonly string[]): Layout {
  const id = keys.join('\u0000');
  let layout = layouts.get(id);
  if (layout === undefined) {
    layout = new Layout(keys, true);
    if (layouts.size < MAX_LAYOUTS) layouts.set(id, layout);
  }
  return layout;
}

/** The value expression of position `i` inside a compiled writer (fields v0..v7 of `s`, then s.rest). */
const valueAt = (i: number): string => (i < INLINE_VALUES ? `s.v${i}` : `s.rest[${i - INLINE_VALUES}]`);

function compileWriters(keys: readonly string[]): { write: WriteFn; assign: AssignFn } | undefined {
  try {
    const names = keys.map((key) => JSON.stringify(key));
    const writeBody = names.map((name, i) => `t[${name}] = ${valueAt(i)};`).join('\n');
    // `in` first (a cached check for V8), hasOwnProperty only when the name is found: exactly
    // setAttribute's own-property test, also with an inherited name of the same spelling.
    const assignBody = names.map((name, i) => `if (!(${name} in t) || !h.call(t, ${name})) a++;\nt[${name}] = ${valueAt(i)};`).join('\n');
    const write = new Function('t', 's', `'use strict';\n${writeBody}`) as WriteFn;
    const assign = new Function('t', 's', 'h', `'use strict';\nlet a = 0;\n${assignBody}\nreturn a;`) as AssignFn;
    return { write, assign };
  } catch {
    return undefined;
  }
}

/** The values of `s` as one list of `count`. */
function valueList(s: StampValues, count: number): unknown[] {
  return [s.v0, s.v1, s.v2, s.v3, s.v4, s.v5, s.v6, s.v7].slice(0, Math.min(count, INLINE_VALUES)).concat(s.rest);
}

function loopWrite(keys: readonly string[]): WriteFn {
  return (target, s) => {
    const values = valueList(s, keys.length);
    for (let i = 0; i < keys.length; i++) target[keys[i]!] = values[i];
  };
}

function loopAssign(keys: readonly string[]): AssignFn {
  return (target, s, has) => {
    const values = valueList(s, keys.length);
    let added = 0;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (!has.call(target, key)) added++;
      target[key] = values[i];
    }
    return added;
  };
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
 * `span.setAttributes(stamp.spanAttributes())`: same attribute object content, same attribute count,
 * same count-limit behaviour. Throws only if `span` lacks `setAttributes` (the caller catches).
 * @example
 * stampSpan(span, new SpanStamp({ 'gen_ai.conversation.id': 'conv-1' }));
 */
export function stampSpan(span: Span, stamp: SpanStamp): void {
  if (stamp.writeFast(span as unknown as SdkSpanFields)) return;
  stampSlowly(span, stamp);
}

/** Everything but the common case: first span of a stamp under some limits, spans with attributes, other span classes. */
function stampSlowly(span: Span, stamp: SpanStamp): void {
  if (stamp.writableDirectly && writeDirectly(span as unknown as SdkSpanFields, stamp)) return;
  span.setAttributes(stamp.spanAttributes());
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
    if (countLimit !== undefined && !(typeof countLimit === 'number' && count + stamp.size <= countLimit)) return false;
    const lengthLimit = span._attributeValueLengthLimit;
    if (typeof lengthLimit !== 'number' || !(lengthLimit > 0) || stamp.longestString > lengthLimit) return false;
    const current = span.attributes as Record<string, unknown> | null;
    if (typeof current !== 'object' || current === null) return false;
    if (count === 0 && isEmpty(current)) {
      // The span has no attributes yet (most spans): its own empty object receives them.
      stamp.writeInto(current);
      span._attributesCount = stamp.size;
    } else {
      // The span has attributes already: overwrite same-named ones and count new ones, as
      // setAttribute does (it too writes with a plain `attributes[key] = value`).
      span._attributesCount = count + stamp.assignTo(current);
    }
    // The limits object belongs to the tracer provider, which merged it from its configuration
    // at construction and never changes it; the span's value-length limit is derived from it.
    // So the checks above hold for every later span under the same limits object, except the
    // count limit, which writeFast checks against each span's count.
    trust(limits, countLimit === undefined ? Infinity : (countLimit as number), lengthLimit);
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
