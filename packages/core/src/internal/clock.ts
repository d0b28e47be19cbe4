/**
 * A coarse wall clock for bookkeeping on the hot path (sticky-assignment TTLs and activity
 * times). `Date.now()` costs a clock read per call, which on some virtual machines is a system
 * call of over 100 ns — more than the rest of a sticky lookup. This clock re-reads the time every
 * 1,024 calls and every 250 ms while the event loop runs (an unref'd timer, started on first use,
 * never on import), so its error is bounded by both.
 */
const REFRESH_MS = 250;
const REFRESH_CALLS = 1023;

let current = 0;
let calls = 0;
let timer: ReturnType<typeof setInterval> | undefined;

/** Epoch milliseconds, accurate to about 250 ms. */
export function coarseNow(): number {
  if (timer === undefined) {
    timer = setInterval(() => {
      current = Date.now();
    }, REFRESH_MS);
    timer.unref?.();
    current = Date.now();
  } else if ((++calls & REFRESH_CALLS) === 0) {
    current = Date.now();
  }
  return current;
}
