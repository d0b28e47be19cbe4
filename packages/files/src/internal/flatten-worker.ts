/**
 * Worker entry of the flattening pool: flattens the files the main thread sends, one at a time,
 * and answers with each result (or the error message).
 */
import { parentPort } from 'node:worker_threads';
import { flattenFile, type FlattenTargets } from './flatten.js';
import type { DataFile } from './discover.js';

interface Job {
  file: Pick<DataFile, 'path' | 'gzip' | 'format'>;
  targets: FlattenTargets;
}

parentPort?.on('message', (job: Job) => {
  flattenFile(job.file, job.targets).then(
    (result) => parentPort?.postMessage({ result }),
    (error: unknown) => parentPort?.postMessage({ error: error instanceof Error ? error.message : String(error) }),
  );
});
