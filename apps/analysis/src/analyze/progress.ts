/**
 * A one-line progress bar on stderr for long scans. It draws only on a TTY; the caller decides
 * whether to use it at all (never with `--format json`, whose stdout may be piped to a parser
 * while stderr is still a terminal the user wants quiet).
 */

/** Where the bar draws. */
export interface ProgressSink {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/**
 * Creates a progress callback and a `done()` that clears the line.
 * @example
 * const bar = progressBar(process.stderr);
 * bar.update({ phase: 'reading files', done: 3, total: 10 });
 * bar.done();
 */
export function progressBar(sink: ProgressSink): { update(progress: { phase: string; done: number; total: number }): void; done(): void } {
  if (!sink.isTTY) return { update: () => undefined, done: () => undefined };
  let drawn = false;
  let last = 0;
  return {
    update({ phase, done, total }) {
      const now = Date.now();
      // Redrawing faster than a terminal refreshes only costs time.
      if (now - last < 50 && done < total) return;
      last = now;
      const width = 24;
      const share = total > 0 ? Math.min(1, done / total) : 0;
      const filled = Math.round(share * width);
      const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.round(share * 100)}% ${phase}`;
      const columns = sink.columns ?? 80;
      sink.write(`\r\u001b[2K${line.slice(0, columns - 1)}`);
      drawn = true;
    },
    done() {
      if (drawn) sink.write('\r\u001b[2K');
      drawn = false;
    },
  };
}
