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
  // The values in the order of `keys` (arrays frozen), and the writers compiled for those names.
  readonly #values: readonly AttributeValue[];
  readonly #writers: Writers;

  constructor(attributes: Attributes) {
    const keys: string[] = [];
    const values: AttributeValue[] = [];
    let valid = true;
    let longest = 0;
    for (const [key, value] of Object.entries(attributes)) {
      // setAttribute ignores null and undefined values without a word.
      if (value === null || value === undefined) continue;
      // An invalid name or value stays in, so the SDK's setAttribute path rejects it with its warning.
      // `__proto__` too: assigning it would replace the attribute object's prototype.
      if (key.length === 0 || key === '__proto__' || !isAttributeValue(value)) valid = false;
      const stored = (Array.isArray(value) ? Object.freeze([...value]) : value) as AttributeValue;
      keys.push(key);
      values.push(stored);
      longest = Math.max(longest, longestStringIn(stored));
    }
    const frozen: Attributes = {};
    for (let i = 0; i < keys.length; i++) frozen[keys[i]!] = values[i];
    this.attributes = Object.freeze(frozen);
    this.keys = Object.freeze(keys);
    this.#values = Object.freeze(values);
    // An invalid stamp is never written directly; it gets the uncompiled writers.
    this.#writers = valid ? writersFor(this.keys) : loopWriters(this.keys);
    this.writableDirectly = valid;
    this.longestString = longest;
  }

  /**
   * Adds the attributes to `target`, which must have none of them yet (the SDK span's own empty
   * attribute object): in place, so a stamped span allocates no attribute object of its own.
   */
  writeInto(target: Record<string, unknown>): void {
    this.#writers.write(target, this.#values);
  }

  /** Writes the attributes into `target`, overwriting same-named ones; returns how many were new there. */
  assignTo(target: Record<string, unknown>): number {
    return this.#writers.assign(target, this.#values, hasOwn);
  }
}

/** Writes values (in the order of one list of names) into an attribute object. */
interface Writers {
  /** Into an object that has none of the names yet. */
  write(target: Record<string, unknown>, values: readonly unknown[]): void;
  /** Into any attribute object; returns how many names were new there. */
  assign(target: Record<string, unknown>, values: readonly unknown[], has: typeof hasOwn): number;
}

// A stamp's names come from a handful of layouts (the contract's attributes, with or without
// `abtel.assignment.id` / `abtel.experiments`), shared by every conversation; the cache holds one
// compiled pair of writers per layout. Bounded: beyond it, layouts get the loop writers.
const MAX_LAYOUTS = 64;
const layouts = new Map<string, Writers>();

/**
 * Writers specialised for `keys`. Compiled with the names as string literals: a store to a
 * literal name is a monomorphic, cached hidden-class transition for V8, while a store whose name
 * is read from an array or a loop variable took about 100 ns more per span (measured on the SDK's
 * span). Names are embedded with JSON.stringify (a valid, fully escaped JavaScript string
 * literal), values are passed in, so no input is ever evaluated as code. Falls back to loop
 * writers (same result, slower) when code generation is disabled (`--disallow-code-generation-from-strings`).
 */
function writersFor(keys: readonly string[]): Writers {
  const layout = keys.join('\u0000');
  const cached = layouts.get(layout);
  if (cached !== undefined) return cached;
  const writers = compileWriters(keys) ?? loopWriters(keys);
  if (layouts.size < MAX_LAYOUTS) layouts.set(layout, writers);
  return writers;
}

function compileWriters(keys: readonly string[]): Writers | undefined {
  try {
    const names = keys.map((key) => JSON.stringify(key));
    const writeBody = names.map((name, i) => `t[${name}] = v[${i}];`).join('\n');
    const assignBody = names.map((name, i) => `if (!h.call(t, ${name})) a++;\nt[${name}] = v[${i}];`).join('\n');
    const write = new Function('t', 'v', `'use strict';\n${writeBody}`) as Writers['write'];
    const assign = new Function('t', 'v', 'h', `'use strict';\nlet a = 0;\n${assignBody}\nreturn a;`) as Writers['assign'];
    return { write, assign };
  } catch {
    return undefined;
  }
}

function loopWriters(keys: readonly string[]): Writers {
  return {
    write(target, values) {
      for (let i = 0; i < keys.length; i++) target[keys[i]!] = values[i];
    },
    assign(target, values, has) {
      let added = 0;
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        if (!has.call(target, key)) added++;
        target[key] = values[i];
      }
      return added;
    },
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
      // The span has no attributes yet (most spans): its own empty object receives them.
      stamp.writeInto(current);
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
