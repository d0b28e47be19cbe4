/**
 * Worker thread entry: runs `compareQuantiles` (the unit-clustered bootstrap) for jobs posted by
 * `QuantileWorkers`, so that the bootstrap of a large experiment runs while the main thread keeps
 * querying DuckDB. The same function as on the main thread, over the same values: the same result.
 */
import { parentPort } from 'node:worker_threads';
import { compareQuantiles } from './inference.js';
import { unpackUnitValues, type QuantileJob, type QuantileJobResult } from './quantile-workers.js';

parentPort?.on('message', (job: QuantileJob) => {
  let reply: QuantileJobResult;
  try {
    reply = { id: job.id, result: compareQuantiles(unpackUnitValues(job.baseline), unpackUnitValues(job.variant), job.quantile) };
  } catch (error) {
    reply = { id: job.id, error: error instanceof Error ? error.message : String(error) };
  }
  parentPort?.postMessage(reply);
});
