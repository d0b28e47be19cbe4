import { trace, type Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_GEN_AI_OPERATION_NAME, ATTR_GEN_AI_RESPONSE_ID } from '@abtel/core';
import type { Abtel } from './abtel.js';
import { spanStateOf } from './internal/context.js';
import { reportError } from './internal/safe.js';
import { stampSpan } from './internal/stamp.js';

// Span names of gen_ai client spans (`{operation} {model}`), for instrumentations that name
// spans by the convention but set `gen_ai.operation.name` only later.
const GEN_AI_SPAN_NAME = /^(chat|embeddings|text_completion|generate_content|create_agent|invoke_agent) /;

// First letters of those names: most spans (HTTP, database, app) are rejected without the regex.
// A table indexed by character code: cheaper per span than a Set lookup.
const GEN_AI_FIRST_LETTERS = new Uint8Array(128);
for (const letter of 'cetgi') GEN_AI_FIRST_LETTERS[letter.charCodeAt(0)] = 1;

/**
 * True when `span` is a gen_ai call at start time (attribute or conventional span name).
 * @example
 * isGenAiSpan({ name: 'chat gpt-4o-mini', attributes: {} }); // true
 */
export function isGenAiSpan(span: Pick<ReadableSpan, 'attributes' | 'name'>): boolean {
  if (span.attributes[ATTR_GEN_AI_OPERATION_NAME] !== undefined) return true;
  const name = span.name;
  // Out-of-range reads of a typed array give undefined (falsy): no bounds check needed.
  return GEN_AI_FIRST_LETTERS[name.charCodeAt(0)] === 1 && GEN_AI_SPAN_NAME.test(name);
}

/** Options of `abtel.spanProcessor()` / `abtelSpanProcessor()`. */
export interface AbtelSpanProcessorOptions {
  /**
   * The processor that exports (usually a `BatchSpanProcessor`). When given, the abtel processor
   * forwards every call to it after its own work, so the provider holds one processor instead of
   * two and the SDK's fan-out over processors is paid once per span. Without it, put the abtel
   * processor before the exporting one in the provider's list.
   */
  next?: SpanProcessor;
}

/**
 * Stamps every span started inside a conversation context with the conversation and its
 * assignments, emits pending exposures at the first gen_ai span, and remembers which span
 * produced each `gen_ai.response.id` (bounded) for `recordEvaluation`. Never throws; errors of
 * the `next` processor propagate exactly as they would from the provider's own list.
 * @example
 * // Alone, in front of the exporting processor:
 * new NodeSDK({ spanProcessors: [abtelSpanProcessor(), new BatchSpanProcessor(new OTLPTraceExporter())] });
 * // Or wrapping it (one processor in the chain):
 * new NodeSDK({ spanProcessors: [abtelSpanProcessor({ next: new BatchSpanProcessor(new OTLPTraceExporter()) })] });
 */
export class AbtelSpanProcessor implements SpanProcessor {
  readonly #abtel: Abtel;
  readonly #next: SpanProcessor | undefined;
  /** Undefined unless `next` has it: the SDK then skips the call altogether. */
  readonly onEnding?: (span: Span) => void;

  constructor(abtel: Abtel, options: AbtelSpanProcessorOptions = {}) {
    this.#abtel = abtel;
    const next = options.next;
    this.#next = next;
    if (next?.onEnding !== undefined) this.onEnding = (span) => next.onEnding?.(span);
  }

  onStart(span: Span, parentContext: Context): void {
    try {
      const state = spanStateOf(parentContext);
      if (state !== undefined) {
        stampSpan(span, state);
        // The flag first: once the exposure is out (the usual case), no span needs the gen_ai check.
        if (state.hasPendingExposure && isGenAiSpan(span)) {
          this.#abtel.exposePending(state, trace.setSpan(parentContext, span));
        }
      }
    } catch (error) {
      reportError('stamping a span', error);
    }
    this.#next?.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    try {
      const responseId = span.attributes[ATTR_GEN_AI_RESPONSE_ID];
      if (typeof responseId === 'string') this.#abtel.rememberResponse(responseId, span.spanContext());
    } catch (error) {
      reportError('remembering a response id', error);
    }
    this.#next?.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.#next === undefined ? Promise.resolve() : this.#next.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.#next === undefined ? Promise.resolve() : this.#next.shutdown();
  }
}
