/** The collector's counters, exposed at `/metrics.json` and as OTLP metrics. */
import type { Signal } from './writer.js';

/**
 * Why a request was not accepted. Each received request is counted once, as accepted or under one
 * reason, so `received = accepted + Σ rejected` (once every request has been answered).
 */
export type RejectReason =
  | 'invalid_body' // 400: undecodable or not OTLP
  | 'invalid_item' // 200 with partial success: some spans/log records/data points invalid (the rest written)
  | 'too_large' // 413
  | 'unsupported_media_type' // 415
  | 'unauthorized' // 401
  | 'overloaded' // 429
  | 'storage' // 503: the file could not be written
  | 'shutting_down' // 503
  | 'not_found' // 404/405
  | 'aborted' // the client went away before its body arrived (or it was cut off at shutdown)
  | 'internal'; // 500

export interface SignalCounters {
  /** Requests that reached the signal's endpoint. */
  requests: number;
  /** Items (spans, log records, data points) decoded from bodies. */
  itemsReceived: number;
  /** Items written to the file. */
  itemsAccepted: number;
  /** Items not written: rejected individually, or in a request that failed after decoding. */
  itemsRejected: number;
}

export interface CollectorStats {
  readonly startedAt: string;
  readonly uptimeSeconds: number;
  readonly requests: { received: number; accepted: number; rejected: Record<RejectReason, number> };
  readonly signals: Record<Signal, SignalCounters>;
  readonly bytesReceived: number;
  readonly bytesWritten: number;
  readonly linesWritten: number;
  readonly filesRotated: number;
  readonly writeErrors: number;
  readonly tornLinesTerminated: number;
  readonly inflightBytes: number;
  readonly background: { compacted: number; compactedRows: number; compactionFailed: number; gzipped: number; gzipFailed: number; queued: number };
}

/**
 * A fresh set of zeroed counters.
 * @example
 * const counters = newCounters();
 */
export function newCounters() {
  const signal = (): SignalCounters => ({ requests: 0, itemsReceived: 0, itemsAccepted: 0, itemsRejected: 0 });
  return {
    requests: {
      received: 0,
      accepted: 0,
      rejected: {
        invalid_body: 0,
        invalid_item: 0,
        too_large: 0,
        unsupported_media_type: 0,
        unauthorized: 0,
        overloaded: 0,
        storage: 0,
        shutting_down: 0,
        not_found: 0,
        aborted: 0,
        internal: 0,
      } as Record<RejectReason, number>,
    },
    signals: { traces: signal(), logs: signal(), metrics: signal() } as Record<Signal, SignalCounters>,
    bytesReceived: 0,
    background: { compacted: 0, compactedRows: 0, compactionFailed: 0, gzipped: 0, gzipFailed: 0, queued: 0 },
  };
}

export type Counters = ReturnType<typeof newCounters>;
