/**
 * A one-line progress bar on a TTY stream; silent when the stream is not a terminal (CI logs,
 * pipes), where only the step summaries are printed.
 */
export class ProgressBar {
  readonly #stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  #label = '';
  #lastDraw = 0;
  #active = false;

  constructor(stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }) {
    this.#stream = stream;
  }

  /** Starts (or switches) the bar to a new label. */
  start(label: string): void {
    this.#label = label;
    this.#lastDraw = 0;
  }

  /** Draws `done/total`, at most every 50 ms unless finished. */
  update(done: number, total: number): void {
    if (!this.#stream.isTTY) return;
    const now = Date.now();
    if (done < total && now - this.#lastDraw < 50) return;
    this.#lastDraw = now;
    const width = Math.max(10, Math.min(40, (this.#stream.columns ?? 80) - this.#label.length - 24));
    const ratio = total > 0 ? Math.min(1, done / total) : 0;
    const filled = Math.round(ratio * width);
    this.#stream.write(`\r${this.#label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}\u001b[K`);
    this.#active = true;
  }

  /** Clears the bar line so the next printed line starts clean. */
  clear(): void {
    if (this.#stream.isTTY && this.#active) this.#stream.write('\r\u001b[K');
    this.#active = false;
  }
}
