import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { DataFile } from './discover.js';
import { flattenFile, type FlattenResult, type FlattenTargets } from './flatten.js';

/** One flattened file: its result and where its rows are. */
export interface FlattenedFile {
  file: DataFile;
  result: FlattenResult;
  targets: FlattenTargets;
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

function targetsFor(dir: string, index: number): FlattenTargets {
  return { spans: join(dir, `${index}.spans`), events: join(dir, `${index}.events`), bad: join(dir, `${index}.bad`) };
}

/**
 * Flattens files into row files under `dir` (one set per file), on worker threads when there are
 * several files: each file is parsed by one worker, the files spread over the cores.
 * @example
 * const flattened = await flattenFiles(files, mkdtempSync(join(tmpdir(), 'abtel-')), { threads: 2 });
 */
export async function flattenFiles(files: readonly DataFile[], dir: string, options: FlattenFilesOptions = {}): Promise<FlattenedFile[]> {
  const out: FlattenedFile[] = new Array(files.length);
  const threads = Math.max(1, Math.min(options.threads ?? Math.min(4, availableParallelism()), files.length));
  let done = 0;
  // Even one file goes to a worker: the calling thread (a collector's request path, a progress
  // bar) stays responsive while the file is parsed.
  if (WORKER_URL === undefined) {
    for (const [index, file] of files.entries()) {
      if (options.signal?.aborted) throw new Error('aborted');
      const targets = targetsFor(dir, index);
      out[index] = { file, targets, result: await flattenFile(file, targets) };
      options.onFile?.(++done, files.length);
    }
    return out;
  }
  const url = WORKER_URL;
  let next = 0;
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let running = 0;
      let failed = false;
      const start = (worker: Worker): void => {
        if (failed) return;
        if (options.signal?.aborted) {
          failed = true;
          reject(new Error('aborted'));
          return;
        }
        if (next >= files.length) {
          if (running === 0) resolve();
          return;
        }
        const index = next++;
        running += 1;
        worker.postMessage({ index, file: { path: files[index]!.path, gzip: files[index]!.gzip, format: files[index]!.format }, targets: targetsFor(dir, index) });
      };
      for (let i = 0; i < threads; i++) {
        const worker = new Worker(url);
        workers.push(worker);
        worker.on('message', (message: { index: number; result?: FlattenResult; error?: string }) => {
          running -= 1;
          if (message.error !== undefined || !message.result) {
            failed = true;
            reject(new Error(`${files[message.index]!.path}: ${message.error ?? 'no result'}`));
            return;
          }
          out[message.index] = { file: files[message.index]!, targets: targetsFor(dir, message.index), result: message.result };
          options.onFile?.(++done, files.length);
          start(worker);
        });
        worker.on('error', (error) => {
          failed = true;
          reject(error);
        });
        start(worker);
      }
    });
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
  return out;
}
