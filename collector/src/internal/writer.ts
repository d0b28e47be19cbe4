/**
 * One append-only file stream per signal, named like the OpenTelemetry Collector's `file` exporter
 * with rotation: the open file is `<signal>.jsonl`; a rotated file is renamed to
 * `<signal>-<UTC timestamp>.jsonl` (timestamp before the extension, lumberjack's format
 * `2006-01-02T15-04-05.000`).
 *
 * Invariants:
 * - A line is written whole or not at all: lines are appended in batches with one `writev`; a
 *   failed or short write is cut back (`ftruncate`) to the last whole line before it is reported.
 * - `append` resolves only after the bytes were handed to the operating system (`write(2)`
 *   returned), so an acknowledged request survives a crash of this process; with
 *   `fsync: 'always'` it also waited for `fdatasync`, so it survives a power loss.
 */
import { constants, createReadStream, createWriteStream } from 'node:fs';
import { open, readdir, rename, stat, statfs, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { makeDirectory } from '@abtel/core';

export type Signal = 'traces' | 'logs' | 'metrics';
export type FsyncPolicy = 'none' | 'always' | 'interval';
export type Layout = 'flat' | 'date';

export interface WriterOptions {
  readonly dir: string;
  readonly signal: Signal;
  /** Rotate before the file would grow past this many bytes (0: never by size). */
  readonly maxBytes: number;
  /** Rotate a non-empty file this long after its first line was written (0: never by age). */
  readonly maxAgeMs: number;
  readonly layout: Layout;
  readonly fsync: FsyncPolicy;
  readonly fsyncIntervalMs: number;
  /** Called (off the request path) with the path of each file after it was rotated. */
  readonly onRotated: (path: string) => void;
  readonly log: (message: string) => void;
}

/** Storage probes allowed per window while unhealthy; more requests in the window get the last answer. */
const PROBES_PER_WINDOW = 5;
const PROBE_WINDOW_MS = 1000;

/** A write to the data directory failed; the request is answered 503. */
export class StorageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
  }
}

interface Pending {
  readonly chunk: Buffer;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** `2026-11-22T05-30-00.000`: lumberjack's backup time format, in UTC. */
export function rotationStamp(date: Date): string {
  return date.toISOString().slice(0, 23).replace(/:/g, '-');
}

export class SignalWriter {
  readonly activePath: string;
  private handle: FileHandle | undefined;
  private size = 0;
  private openedAt = 0;
  /**
   * When the open file got its first line (0 while it is empty): the age that `maxAgeMs` bounds.
   * Counting from the open instead rotated a file written to long after start-up at once, and
   * every restart reset the age of a file that already held lines.
   */
  private firstLineAt = 0;
  private openedDay = '';
  /** Identity of the open file, to notice when its path no longer leads to it. */
  private openedDev = 0;
  private openedIno = 0;
  private queue: Pending[] = [];
  private writing = false;
  private rotateRequested = false;
  private probeRequested = false;
  /** The storage probe under way: callers meanwhile wait for its answer instead of queueing another. */
  private probing: Promise<boolean> | undefined;
  /** Start of the current probe window and the probes run in it (see `probe`). */
  private probeWindowStart = 0;
  private probesInWindow = 0;
  /** Size of the batch whose write failed last: the probe wants room for at least that much. */
  private failedBytes = 0;
  private dirty = false;
  private closed = false;
  private lastStamp = 0;
  private idle: Promise<void> = Promise.resolve();
  private wakeIdle: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Counters read by the stats endpoint. */
  readonly counters = { bytesWritten: 0, linesWritten: 0, filesRotated: 0, writeErrors: 0, tornLinesTerminated: 0 };
  healthy = true;
  lastError: string | undefined;

  constructor(private readonly options: WriterOptions) {
    this.activePath = join(options.dir, `${options.signal}.jsonl`);
    const tick = Math.max(50, Math.min(1000, options.maxAgeMs > 0 ? options.maxAgeMs / 4 : 1000, options.fsync === 'interval' ? options.fsyncIntervalMs : 1000));
    this.timer = setInterval(() => this.onTick(), tick);
    this.timer.unref();
  }

  /** Opens the active file now, so that a misconfigured directory is reported at start. */
  async open(): Promise<void> {
    await this.ensureOpen();
  }

  /**
   * Appends one whole line (must end with `\n`); resolves once it is written.
   * @throws StorageError when the line could not be written (nothing of it is in the file).
   */
  append(chunk: Buffer): Promise<void> {
    if (this.closed) return Promise.reject(new StorageError(`${this.options.signal} writer is closed`));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ chunk, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  /**
   * While unhealthy: checks whether writing works again (opens the file at its path, recreating the
   * directory, and writes one byte to a hidden probe file beside it), so readiness recovers without
   * waiting for a client request. Resolves with the health afterwards.
   *
   * Every /readyz asks while unhealthy, and a load balancer or a misconfigured probe may ask
   * hundreds of times a second: callers during a probe share its answer, and beyond
   * `PROBES_PER_WINDOW` probes in a `PROBE_WINDOW_MS` window the last answer stands until the
   * window ends. A few checks in a row (an operator fixing the disk, then asking) still each look
   * at the disk, and a recovery is noticed within a window at worst.
   */
  probe(): Promise<boolean> {
    if (this.healthy || this.closed) return Promise.resolve(this.healthy);
    if (this.probing) return this.probing;
    const now = Date.now();
    if (now - this.probeWindowStart >= PROBE_WINDOW_MS) {
      this.probeWindowStart = now;
      this.probesInWindow = 0;
    }
    if (this.probesInWindow >= PROBES_PER_WINDOW) return Promise.resolve(false);
    this.probesInWindow += 1;
    const probing = (async () => {
      this.probeRequested = true;
      if (!this.writing) void this.drain();
      await this.whenIdle();
      return this.healthy;
    })().finally(() => {
      this.probing = undefined;
    });
    this.probing = probing;
    return probing;
  }

  /** Bytes waiting to be written. */
  pendingBytes(): number {
    let total = 0;
    for (const entry of this.queue) total += entry.chunk.length;
    return total;
  }

  /** Rotates the active file now if it holds data (used at shutdown by nobody; by tests and age). */
  async rotateNow(): Promise<void> {
    this.rotateRequested = true;
    if (!this.writing) void this.drain();
    await this.whenIdle();
  }

  /** Writes what is queued, then closes the file. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.whenIdle();
    await this.release().catch(() => undefined);
  }

  /** Lets go of the open file: synced first when the fsync policy wants lines not yet synced on disk, then closed. */
  private async release(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    if (!handle) return;
    if (this.dirty && this.options.fsync !== 'none') await handle.datasync().catch(() => undefined);
    this.dirty = false;
    await handle.close();
  }

  private whenIdle(): Promise<void> {
    return this.writing ? this.idle : Promise.resolve();
  }

  private onTick(): void {
    const { maxAgeMs, layout, fsync } = this.options;
    const now = Date.now();
    if (this.size > 0 && ((maxAgeMs > 0 && this.firstLineAt > 0 && now - this.firstLineAt >= maxAgeMs) || (layout === 'date' && utcDay(now) !== this.openedDay))) {
      this.rotateRequested = true;
      if (!this.writing) void this.drain();
    }
    if (!this.healthy && !this.writing) void this.probe();
    if (fsync === 'interval' && this.dirty && !this.writing && this.handle) {
      this.dirty = false;
      this.handle.datasync().catch((error: unknown) => this.options.log(`fsync of ${this.activePath} failed: ${describeError(error)}`));
    }
  }

  private async drain(): Promise<void> {
    this.writing = true;
    this.idle = new Promise<void>((resolve) => (this.wakeIdle = resolve));
    try {
      while (this.queue.length > 0 || this.rotateRequested || this.probeRequested) {
        if (this.probeRequested) {
          this.probeRequested = false;
          // A batch written meanwhile settles health by itself.
          if (!this.healthy && this.queue.length === 0) await this.checkWritable();
          continue;
        }
        if (this.rotateRequested) {
          this.rotateRequested = false;
          if (this.size > 0) await this.rotate().catch((error: unknown) => this.options.log(`rotation of ${this.activePath} failed: ${describeError(error)}`));
          continue;
        }
        const batch = this.queue;
        this.queue = [];
        await this.writeBatch(batch);
      }
    } finally {
      this.writing = false;
      this.wakeIdle?.();
    }
  }

  private async writeBatch(batch: Pending[]): Promise<void> {
    let bytes = 0;
    for (const entry of batch) bytes += entry.chunk.length;
    try {
      await this.ensureCurrent();
      await this.ensureOpen();
      const { maxBytes, layout } = this.options;
      const dayChanged = layout === 'date' && this.size > 0 && utcDay(Date.now()) !== this.openedDay;
      if ((maxBytes > 0 && this.size > 0 && this.size + bytes > maxBytes) || dayChanged) {
        await this.rotate();
        await this.ensureOpen();
      }
      const handle = this.handle!;
      let written: number;
      try {
        written = (await handle.writev(batch.map((entry) => entry.chunk))).bytesWritten;
      } catch (error) {
        await this.cutBack(handle);
        throw error;
      }
      if (written !== bytes) {
        await this.cutBack(handle);
        throw new StorageError(`short write to ${this.activePath} (${written} of ${bytes} bytes; is the disk full?)`);
      }
      if (this.size === 0) this.firstLineAt = Date.now();
      this.size += bytes;
      this.dirty = true;
      if (this.options.fsync === 'always') {
        await handle.datasync();
        this.dirty = false;
      }
      this.counters.bytesWritten += bytes;
      this.counters.linesWritten += batch.length;
      this.markHealthy();
      for (const entry of batch) entry.resolve();
    } catch (error) {
      this.failedBytes = bytes;
      this.counters.writeErrors += batch.length;
      const message = this.markFailed(error);
      const failure = error instanceof StorageError ? error : new StorageError(message, { cause: error });
      for (const entry of batch) entry.reject(failure);
    }
  }

  private async checkWritable(): Promise<void> {
    const probePath = join(this.options.dir, `.${this.options.signal}.jsonl.probe`);
    try {
      await this.ensureCurrent();
      await this.ensureOpen();
      const handle = await open(probePath, 'w');
      try {
        // One byte: a full disk refuses it, where a zero-byte write would succeed.
        await handle.write(Buffer.from('\n'));
      } finally {
        await handle.close();
        await unlink(probePath).catch(() => undefined);
      }
      const space = await statfs(this.options.dir).catch(() => undefined);
      if (space && space.bavail * space.bsize < this.failedBytes) {
        throw new StorageError(`${space.bavail * space.bsize} bytes free, the batch that failed needed ${this.failedBytes} (is the disk full?)`);
      }
      this.markHealthy();
    } catch (error) {
      this.markFailed(error);
    }
  }

  /** Writing works (again): said once when it recovers. */
  private markHealthy(): void {
    if (!this.healthy) this.options.log(`writing ${this.activePath} works again`);
    this.healthy = true;
    this.lastError = undefined;
  }

  /** Writing failed: said when it starts failing or fails differently. Returns the message. */
  private markFailed(error: unknown): string {
    const message = `cannot write ${this.options.signal} to ${this.activePath}: ${describeError(error)}`;
    if (this.healthy || this.lastError !== message) this.options.log(`${message}; answering 503 until it works again`);
    this.healthy = false;
    this.lastError = message;
    return message;
  }

  /** Removes a partly written batch so the file again ends with a whole line. */
  private async cutBack(handle: FileHandle): Promise<void> {
    try {
      await handle.truncate(this.size);
    } catch (error) {
      // The file may now end in a partial line: stop using it, so the next open terminates it.
      this.options.log(`could not cut ${this.activePath} back to ${this.size} bytes: ${describeError(error)}`);
    }
    this.handle = undefined;
    await handle.close().catch(() => undefined);
  }

  /**
   * Drops the open handle when its path no longer leads to it (the file or the data directory was
   * removed or moved): writing on would put acknowledged lines into an unlinked file. Checked before
   * every batch: a `stat` costs ≈ 25 µs of latency against ≈ 1.5 ms for writing a 600 KiB batch.
   */
  private async ensureCurrent(): Promise<void> {
    if (!this.handle) return;
    const current = await stat(this.activePath).catch(() => undefined);
    if (current && current.dev === this.openedDev && current.ino === this.openedIno) return;
    this.options.log(`${this.activePath} was ${current ? 'replaced' : 'removed or moved'} while open; opening it again`);
    await this.release().catch(() => undefined);
  }

  private async ensureOpen(): Promise<void> {
    if (this.handle) return;
    await makeDirectory(this.options.dir);
    const handle = await open(this.activePath, constants.O_CREAT | constants.O_RDWR | constants.O_APPEND, 0o644);
    let created = 0;
    try {
      const opened = await handle.stat();
      created = opened.birthtimeMs;
      this.openedDev = opened.dev;
      this.openedIno = opened.ino;
      let size = opened.size;
      if (size > 0) {
        // A crash in the middle of a write can leave a torn last line. It was never acknowledged;
        // ending it with a newline keeps every later line whole, and readers skip and count it.
        const last = Buffer.alloc(1);
        await handle.read(last, 0, 1, size - 1);
        if (last[0] !== 0x0a) {
          await handle.write('\n');
          size += 1;
          this.counters.tornLinesTerminated += 1;
          this.options.log(`${this.activePath} ended in a torn line (unclean shutdown); terminated it so readers skip it as one bad line`);
        }
      }
      this.size = size;
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
    this.handle = handle;
    this.openedAt = Date.now();
    this.openedDay = utcDay(this.openedAt);
    // A file that already holds lines (a restart) keeps its age: from its creation where the file
    // system records it, else from now.
    this.firstLineAt = this.size === 0 ? 0 : created > 0 ? Math.min(created, this.openedAt) : this.openedAt;
  }

  private async rotate(): Promise<void> {
    this.firstLineAt = 0;
    await this.release();
    // Unique, increasing stamps even for several rotations within one millisecond.
    const now = Math.max(Date.now(), this.lastStamp + 1);
    this.lastStamp = now;
    const date = new Date(now);
    const folder = this.options.layout === 'date' ? join(this.options.dir, utcDay(this.openedAt || now)) : this.options.dir;
    const target = join(folder, `${this.options.signal}-${rotationStamp(date)}.jsonl`);
    await makeDirectory(dirname(target));
    await rename(this.activePath, target);
    this.size = 0;
    this.counters.filesRotated += 1;
    this.options.onRotated(target);
  }
}

function utcDay(time: number): string {
  return new Date(time).toISOString().slice(0, 10);
}

/** An error as one line for the log, its errno code in front unless the message names it. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

/** Where `gzipFile` writes before the rename: hidden (leading dot), so no reader picks it up. */
export function gzipTempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.gz.tmp`);
}

/**
 * Compresses a rotated file to `<path>.gz` and removes the original (the Collector's
 * `rotation.compress` does the same).
 *
 * Crash-safe: the compressed bytes go to a hidden temporary (`gzipTempPath`), are synced, and only
 * then renamed to `<path>.gz`; the plain file is removed last. At every instant either the plain
 * file alone, or both (the `.gz` complete), or the `.gz` alone is visible, and
 * `recoverInterruptedGzip` resolves the middle state at the next start.
 * @example
 * await gzipFile('/data/traces-2026-11-22T05-30-00.000.jsonl');
 */
export async function gzipFile(path: string): Promise<string> {
  const target = `${path}.gz`;
  const temp = gzipTempPath(path);
  try {
    await pipeline(createReadStream(path), createGzip(), createWriteStream(temp));
    const handle = await open(temp, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await syncDirectory(dirname(target));
  await unlink(path);
  return target;
}

/** Makes a rename durable; not every file system lets a directory be opened and synced. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => undefined);
  if (!handle) return;
  await handle.sync().catch(() => undefined);
  await handle.close().catch(() => undefined);
}

const ROTATED = /^(traces|logs|metrics)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}\.jsonl$/;
const GZIP_TEMP = /^\.(traces|logs|metrics)-.*\.jsonl\.gz\.tmp$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Cleans up after a gzip that a crash (or a second signal) interrupted: removes leftover
 * temporaries and returns the rotated files whose compression must be redone — those that still
 * exist beside a `.gz` or a temporary. The plain file is the complete copy (it is removed only after
 * the `.gz` was synced and renamed), so a `.gz` beside it may be partial (written in place by an
 * earlier version) and is replaced. Looks in `dir` and its `YYYY-MM-DD` folders (`layout: date`).
 * With `gzipRotated` (gzip is on), also returns the rotated files whose compression never started:
 * they were waiting in the queue when the process died, and would stay uncompressed for good.
 * @example
 * for (const path of await recoverInterruptedGzip('/data')) await gzipFile(path);
 */
export async function recoverInterruptedGzip(dir: string, log: (message: string) => void = () => undefined, gzipRotated = false): Promise<string[]> {
  const redo: string[] = [];
  const pending: string[] = [];
  const folders = [dir];
  const top = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of top) if (entry.isDirectory() && DAY.test(entry.name)) folders.push(join(dir, entry.name));
  for (const folder of folders) {
    const names = new Set(folder === dir ? top.map((entry) => entry.name) : await readdir(folder).catch(() => []));
    for (const name of names) {
      if (GZIP_TEMP.test(name)) {
        await unlink(join(folder, name)).catch(() => undefined);
        const plain = name.slice(1, -'.gz.tmp'.length);
        if (names.has(plain)) {
          log(`removed ${join(folder, name)}, an unfinished gzip of ${plain} (interrupted); compressing it again`);
          redo.push(join(folder, plain));
        } else {
          log(`removed ${join(folder, name)}, an unfinished gzip (interrupted)`);
        }
      } else if (ROTATED.test(name) && names.has(`${name}.gz`) && !names.has(`.${name}.gz.tmp`)) {
        log(`${join(folder, name)} and its .gz both exist (gzip was interrupted); compressing it again`);
        redo.push(join(folder, name));
      } else if (gzipRotated && ROTATED.test(name) && !names.has(`.${name}.gz.tmp`)) {
        pending.push(join(folder, name));
      }
    }
  }
  if (pending.length > 0) {
    // One line: after gzip is turned on, every earlier rotated file is here.
    log(`${pending.length} rotated file(s) are not compressed yet (left by a stop before their turn, or rotated before gzip was on); compressing them now`);
  }
  return [...redo, ...pending].sort();
}

/** True when the path exists. */
export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
