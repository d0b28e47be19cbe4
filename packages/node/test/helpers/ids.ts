import { createHash } from 'node:crypto';
import type { IdGenerator } from '@opentelemetry/sdk-trace-base';

/**
 * `count` trace ids that are the same in every run (`sha256("<seed>-<index>")`), so that sampling
 * decisions over them are reproducible.
 * @example
 * const ids = traceIds('ratio', 40);
 */
export function traceIds(seed: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => createHash('sha256').update(`${seed}-${index}`).digest('hex').slice(0, 32));
}

/**
 * An id generator that hands out the given trace ids in order (and throws when they run out), and
 * span ids from a counter.
 * @example
 * new BasicTracerProvider({ idGenerator: new FixedIds(traceIds('ratio', 40)) });
 */
export class FixedIds implements IdGenerator {
  #traces: string[];
  #spans = 0;
  constructor(traces: readonly string[]) {
    this.#traces = [...traces];
  }
  generateTraceId(): string {
    const next = this.#traces.shift();
    if (next === undefined) throw new Error('out of trace ids');
    return next;
  }
  generateSpanId(): string {
    this.#spans += 1;
    return this.#spans.toString(16).padStart(16, '0');
  }
}
