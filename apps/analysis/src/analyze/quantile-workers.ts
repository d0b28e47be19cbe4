/**
 * Quantile bootstraps on worker threads. The unit-clustered bootstrap of a quantile metric is the
 * most expensive step of a report (hundreds of resamples over every call of both arms), and it
 * runs in JavaScript while DuckDB's threads sit idle; started as soon as the quantile metric's
 * samples are read, it overlaps the remaining queries, and two comparisons run on two cores.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Comparison, UnitValues } from './inference.js';

/** Per-unit values as one typed array and unit offsets (copied to a worker without per-value cost). */
export interface PackedUnitValues {
  readonly values: Float64Array;
  /** Unit u holds values[offsets[u]] … values[offsets[u + 1] - 1]. */
  readonly offsets: Int32Array;
}

export interface QuantileJob {
  readonly id: number;
  readonly baseline: PackedUnitValues;
  readonly variant: PackedUnitValues;
  readonly quantile: number;
}

export type QuantileJobResult = { readonly id: number; readonly result: Comparison } | { readonly id: number; readonly error: string };

/**
 * Packs per-unit values for a worker.
 * @example
 * packUnitValues([[1, 2], [3]]); // { values: Float64Array [1, 2, 3], offsets: Int32Array [0, 2, 3] }
 */
export function packUnitValues(units: UnitValues): PackedUnitValues {
  const offsets = new Int32Array(units.length + 1);
  for (let u = 0; u < units.length; u++) offsets[u + 1] = offsets[u]! + units[u]!.length;
  const values = new Float64Array(offsets[units.length]!);
  for (let u = 0; u < units.length; u++) values.set(units[u]!, offsets[u]!);
  return { values, offsets };
}

/**
 * The per-unit arrays of packed values.
 * @example
 * unpackUnitValues(packUnitValues([[1, 2], [3]])); // [[1, 2], [3]]
 */
export function unpackUnitValues(packed: PackedUnitValues): number[][] {
  const units: number[][] = [];
  for (let u = 0; u + 1 < packed.offsets.length; u++) units.push(Array.from(packed.values.subarray(packed.offsets[u]!, packed.offsets[u + 1]!)));
  return units;
}

/** Above this many events in one comparison, comparisons run one at a time (memory: one bootstrap's arrays at a time). */
const PARALLEL_EVENT_LIMIT = 4_000_000;

/** A small pool of bootstrap workers. */
export class QuantileWorkers {
  private readonly pending = new Map<number, { worker: Worker; resolve: (result: Comparison | undefined) => void }>();
  /** The last baseline packed (the control arm is compared with each variant in turn), released on close. */
  private lastPacked: { units: UnitValues; packed: PackedUnitValues } | undefined;
  private nextId = 0;
  private closed = false;

  private constructor(private readonly workers: Worker[]) {
    for (const worker of workers) {
      worker.on('message', (reply: QuantileJobResult) => this.settle(reply.id, 'result' in reply ? reply.result : undefined));
      // A failed worker only loses the head start: its jobs are computed on the main thread.
      worker.on('error', () => this.failWorker(worker));
      worker.on('exit', () => this.failWorker(worker));
    }
  }

  /**
   * Starts up to `count` workers (never more than the machine's cores), or returns undefined when
   * workers are not available (running from TypeScript sources, where there is no compiled worker).
   * @example
   * const pool = QuantileWorkers.start(2);
   * const result = await pool?.compare(control.samples, treatment.samples, 0.95);
   */
  static start(count: number): QuantileWorkers | undefined {
    const url = new URL('./bootstrap-worker.js', import.meta.url);
    if (count < 1 || url.protocol !== 'file:' || !existsSync(fileURLToPath(url))) return undefined;
    try {
      // No inherited execArgv: the worker is plain compiled JavaScript, whatever loader, condition
      // or eval flags the host process was started with (a test runner's, say).
      const workers = Array.from({ length: Math.min(count, availableParallelism()) }, () => new Worker(url, { execArgv: [] }));
      return new QuantileWorkers(workers);
    } catch {
      return undefined;
    }
  }

  /**
   * Runs `compareQuantiles(baseline, variant, quantile)` on a worker. Resolves to undefined when
   * the worker failed or the inputs are invalid (the main thread then computes it and reports the
   * error the usual way).
   */
  compare(baseline: UnitValues, variant: UnitValues, quantile: number): Promise<Comparison | undefined> {
    if (this.closed || this.workers.length === 0) return Promise.resolve(undefined);
    const baselinePacked = this.pack(baseline);
    const variantPacked = packUnitValues(variant);
    const events = baselinePacked.values.length + variantPacked.values.length;
    const id = this.nextId++;
    const worker = events > PARALLEL_EVENT_LIMIT ? this.workers[0]! : this.workers[id % this.workers.length]!;
    const job: QuantileJob = { id, baseline: baselinePacked, variant: variantPacked, quantile };
    return new Promise((resolve) => {
      this.pending.set(id, { worker, resolve });
      worker.postMessage(job);
    });
  }

  /** Stops every worker; pending comparisons resolve to undefined. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.lastPacked = undefined;
    for (const id of [...this.pending.keys()]) this.settle(id, undefined);
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }

  private pack(units: UnitValues): PackedUnitValues {
    if (this.lastPacked?.units !== units) this.lastPacked = { units, packed: packUnitValues(units) };
    return this.lastPacked.packed;
  }

  private settle(id: number, result: Comparison | undefined): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    entry.resolve(result);
  }

  private failWorker(worker: Worker): void {
    for (const [id, entry] of [...this.pending]) if (entry.worker === worker) this.settle(id, undefined);
  }
}
