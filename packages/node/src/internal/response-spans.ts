import { diag, type SpanContext } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ATTR_GEN_AI_RESPONSE_ID } from '@abtel/core';
import { BoundedMap } from './bounded.js';

/** Started gen_ai spans held at most before their response ids are read (and never more). */
export const MAX_NOTED_SPANS = 1024;

/**
 * Which span produced each `gen_ai.response.id` (bounded, least recently used out), learnt with no
 * work at span end: gen_ai spans (one per model call, few among all spans) are noted when they
 * start, and their response ids are read once they have ended, when the noted list is full or when
 * `recordEvaluation` asks. A span processor's `onEnd` then forwards to the exporting processor and
 * nothing else; reading an attribute of every ending span there cost more than its lookup (the
 * extra code in the SDK's `span.end()` made V8 stop inlining the SDK's own time helpers, and every
 * span allocated their intermediate arrays).
 *
 * Memory: at most `MAX_NOTED_SPANS` spans are held (ended ones until the next read); spans still
 * running when the list is full stay noted, except that if most of the list never ends (spans an
 * application forgot to end) the oldest half is dropped, with a debug message.
 * @example
 * const responses = new ResponseSpans(10_000);
 * responses.noteStarted(chatSpan); // in onStart, for gen_ai spans
 * responses.get('chatcmpl-123'); // after the span ended: its span context
 */
export class ResponseSpans {
  readonly #ids: BoundedMap<string, SpanContext>;
  // A queue in start order: `#noted[#head]` is the oldest span not read yet.
  #noted: (ReadableSpan | undefined)[] = [];
  #head = 0;
  readonly #maxNoted: number;

  constructor(capacity: number, maxNoted = MAX_NOTED_SPANS) {
    this.#ids = new BoundedMap(capacity);
    this.#maxNoted = maxNoted;
  }

  /**
   * Notes a started gen_ai span; its response id is read after it has ended. Model calls mostly
   * end in the order they started, so the oldest noted spans are read here already, while they are
   * likely still in the CPU cache (one or two per call: bounded work, and the queue stays short).
   */
  noteStarted(span: ReadableSpan): void {
    this.#noted.push(span);
    for (let i = 0; i < 2 && this.#head < this.#noted.length - 1; i++) {
      const oldest = this.#noted[this.#head];
      if (!isEnded(oldest)) break;
      this.#noted[this.#head++] = undefined;
      this.#read(oldest!);
    }
    if (this.#noted.length - this.#head >= this.#maxNoted) this.#readEnded();
    else if (this.#head >= this.#maxNoted) this.#compact();
  }

  /** Remembers `responseId` directly (for spans that were not noted at start). */
  set(responseId: string, spanContext: SpanContext): void {
    this.#ids.set(responseId, spanContext);
  }

  /** The span context that produced `responseId`, if that span ended and is still remembered. */
  get(responseId: string): SpanContext | undefined {
    this.#readEnded();
    return this.#ids.get(responseId);
  }

  /** Number of noted spans not read yet (for tests). */
  get notedCount(): number {
    return this.#noted.length - this.#head;
  }

  #read(span: ReadableSpan): void {
    try {
      const responseId = span.attributes[ATTR_GEN_AI_RESPONSE_ID];
      if (typeof responseId === 'string') this.#ids.set(responseId, span.spanContext());
    } catch {
      // A span that fails to answer is dropped: it cannot be an evaluation's parent.
    }
  }

  /** Drops the read part of the queue. */
  #compact(): void {
    this.#noted = this.#noted.slice(this.#head);
    this.#head = 0;
  }

  /** Reads every ended span in the queue, keeping the running ones. */
  #readEnded(): void {
    const running: ReadableSpan[] = [];
    for (let i = this.#head; i < this.#noted.length; i++) {
      const span = this.#noted[i]!;
      if (isEnded(span)) this.#read(span);
      else running.push(span);
    }
    if (running.length >= this.#maxNoted / 2) {
      const dropped = running.length - Math.floor(this.#maxNoted / 4);
      diag.debug(`@abtel/node: ${running.length} gen_ai spans started but not ended; forgetting the oldest ${dropped} (their response ids cannot be found by recordEvaluation)`);
      running.splice(0, dropped);
    }
    this.#noted = running;
    this.#head = 0;
  }
}

/** Whether a noted span has ended; a span that throws when asked counts as ended (and is read, which fails quietly). */
function isEnded(span: ReadableSpan | undefined): boolean {
  try {
    return span?.ended !== false;
  } catch {
    return true;
  }
}
