import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { DataFile } from './discover.js';
import { flattenFile, type FlattenResult, type FlattenTargets } from './flatten.js';
import type { RowFile } from './columns.js';

/** One flattened file: its result and where its rows are. */
export interface FlattenedFile {
  file: DataFile;
  result: FlattenResult;
  targets: FlattenTargets;
}

/**
 * The row file of one kind of a flattened file, as loadSql reads it; undefined when the file has
 * no rows of that kind (bad rows include the metrics lines).
 * @example
 * const spans = rowFileOf(flattened, 'spans'); // { path: '…/0.spans', source: 'traces.jsonl', escaped: false }
 */
export function rowFileOf(flattened: FlattenedFile, kind: 'spans' | 'events' | 'bad'): RowFile | undefined {
  const { file, result, targets } = flattened;
  const rows = kind === 'spans' ? result.spans : kind === 'events' ? result.events : result.badLines + result.metricsLines;
  return rows > 0 ? { path: targets[kind], source: file.path, escaped: result.escapedText } : undefined;
}

export interface FlattenFilesOptions {
  /** Parallel workers (default: the available cores, at most 4). */
  threads?: number;
  /** Called after each file. */
  onFile?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/**
 * Workers run the built JavaScript; from the TypeScript sources (tests) flattening runs on the
 * calling thread instead, file after file.
 */
const WORKER_URL = import.meta.url.endsWith('.ts') ? undefined : new URL('./flatten-worker.js', import.meta.url);

/** The default number of parsing threads: the cores, at most 4. */
export function defaultThreads(): number {
  return Math.min(4, availableParallelism());
}

/**
 * Where the rows of the `index`-th file of a run go, under `dir`.
 * @example
 * const targets = targetsFor(mkdtempSync(join(tmpdir(), 'abtel-')), 0); // { spans: '…/0.spans', … }
 */
export function targetsFor(dir: string, index: number): FlattenTargets {
  return { spans: join(dir, `${index}.spans`), events: join(dir, `${index}.events`), bad: join(dir, `${index}.bad`) };
}

interface Job {
  file: DataFile;
  targets: FlattenTargets;
  resolve: (result: FlattenResult) => void;
  reject: (error: Error) => void;
}

/**
 * A pool of flattening worker threads that lives as long as a whole run: each worker parses one
 * file at a time, files are handed out first come, first served. Keeping the workers (instead of
 * starting new ones per batch) keeps their compiled scanner warm, and lets a caller parse the
 * next files while it loads the previous ones into DuckDB. A worker that dies fails only its
 * file; the next file gets a new worker. From the TypeScript sources (no workers) files are
 * flattened on the calling thread, one after another.
 * @example
 * const pool = new FlattenPool(2);
 * try {
 *   const result = await pool.flatten(describeFile('traces-1.jsonl'), targetsFor(dir, 0));
 * } finally {
 *   await pool.close();
 * }
 */
export class FlattenPool {
  private readonly size: number;
  private readonly idle: Worker[] = [];
  private readonly running = new Map<Worker, Job>();
  private readonly queue: Job[] = [];
  private inline: Promise<unknown> = Promise.resolve();
  private cancelled: string | undefined;
  private closed = false;

  constructor(threads = defaultThreads()) {
    this.size = Math.max(1, Math.floor(threads));
  }

  /** Flattens one file into `targets` (queued behind the files already handed out). */
  flatten(file: DataFile, targets: FlattenTargets): Promise<FlattenResult> {
    if (this.closed) return Promise.reject(new Error('the flattening pool is closed'));
    if (WORKER_URL === undefined) {
      const next = this.inline.then(() => {
        if (this.cancelled !== undefined) throw new Error(this.cancelled);
        return flattenFile(file, targets);
      });
      this.inline = next.catch(() => undefined);
      return next.catch((error: unknown) => Promise.reject(new Error(`${file.path}: ${error instanceof Error ? error.message : String(error)}`)));
    }
    return new Promise<FlattenResult>((resolve, reject) => {
      this.queue.push({ file, targets, resolve, reject });
      this.pump(WORKER_URL);
    });
  }

  /** Fails every file not yet handed to a worker (an interrupted run). */
  cancelQueued(reason: string): void {
    this.cancelled = reason;
    for (const job of this.queue.splice(0)) job.reject(new Error(reason));
  }

  /** Stops the workers; files still queued or running fail. */
  async close(): Promise<void> {
    this.closed = true;
    this.cancelQueued('the flattening pool was closed');
    const workers = [...this.idle, ...this.running.keys()];
    for (const [, job] of this.running) job.reject(new Error(`${job.file.path}: interrupted`));
    this.running.clear();
    this.idle.length = 0;
    await Promise.all(workers.map((worker) => worker.terminate()));
  }

  private pump(url: URL): void {
    while (this.queue.length > 0) {
      let worker = this.idle.pop();
      if (worker === undefined) {
        if (this.running.size >= this.size) return;
        worker = this.spawn(url);
      }
      const job = this.queue.shift()!;
      this.running.set(worker, job);
      const { path, gzip, format } = job.file;
      worker.postMessage({ file: { path, gzip, format }, targets: job.targets });
    }
  }

  private spawn(url: URL): Worker {
    const worker = new Worker(url);
    worker.on('message', (message: { result?: FlattenResult; error?: string }) => {
      const job = this.running.get(worker);
      if (job === undefined) return;
      this.running.delete(worker);
      this.idle.push(worker);
      if (message.error !== undefined || !message.result) job.reject(new Error(`${job.file.path}: ${message.error ?? 'no result'}`));
      else job.resolve(message.result);
      if (!this.closed) this.pump(url);
    });
    const died = (error: Error): void => {
      const job = this.running.get(worker);
      this.running.delete(worker);
      const at = this.idle.indexOf(worker);
      if (at >= 0) this.idle.splice(at, 1);
      job?.reject(new Error(`${job.file.path}: ${error.message}`));
      if (!this.closed) this.pump(url);
    };
    worker.on('error', died);
    worker.on('exit', (code) => {
      if (this.running.has(worker) || this.idle.includes(worker)) died(new Error(`the parsing thread stopped (exit code ${code})`));
    });
    return worker;
  }
}

/**
 * Flattens files into row files under `dir` (one set per file), on worker threads: each file is
 * parsed by one worker, the files spread over the cores. Even one file goes to a worker: the
 * calling thread (a collector's request path, a progress bar) stays responsive meanwhile.
 * @example
 * const flattened = await flattenFiles(files, mkdtempSync(join(tmpdir(), 'abtel-')), { threads: 2 });
 */
export async function flattenFiles(files: readonly DataFile[], dir: string, options: FlattenFilesOptions = {}): Promise<FlattenedFile[]> {
  if (files.length === 0) return [];
  const pool = new FlattenPool(Math.min(options.threads ?? defaultThreads(), files.length));
  const onAbort = (): void => pool.cancelQueued('aborted');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let done = 0;
  try {
    if (options.signal?.aborted) throw new Error('aborted');
    return await Promise.all(
      files.map(async (file, index) => {
        const targets = targetsFor(dir, index);
        const result = await pool.flatten(file, targets);
        options.onFile?.(++done, files.length);
        return { file, targets, result };
      }),
    );
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await pool.close();
  }
}
