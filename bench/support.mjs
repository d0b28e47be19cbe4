// Helpers the benchmarks share: phases run in child processes (so peak memory is per phase) and
// timed alike, peak memory from /proc, the generated analysis data set's marker and trace files,
// and the plain DuckDB counts the file benchmarks compare against.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Written into a generated analysis data set's directory; hidden, so the analysis does not read it as data. */
export const DATASET_MARKER = '.bench-dataset.json';

/** Peak resident set size of this process (VmHWM), in MB. */
export function peakMb() {
  return Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;
}

/**
 * Runs `script --phase name ...args` in a child process, prints one line (wall, CPU, peak RSS,
 * rows) and returns the JSON result the child writes as its last stdout line; a failed phase is
 * printed and returned with `failed` set instead of aborting the benchmark.
 */
export function runPhase(script, name, args, labelWidth) {
  const child = spawnSync(process.execPath, [script, '--phase', name, ...args], { cwd: dirname(script), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (child.status !== 0) {
    const error = child.stderr.split('\n').find((line) => /Error/.test(line)) ?? `exit ${child.status}`;
    console.log(`${name.padEnd(labelWidth)} failed: ${error}`);
    return { phase: name, failed: error, seconds: Number.NaN, cpuSeconds: Number.NaN, peakMb: 0 };
  }
  const result = JSON.parse(child.stdout.trim().split('\n').pop());
  const rows = result.rows !== undefined ? `   rows ${result.rows}` : '';
  console.log(`${name.padEnd(labelWidth)} ${result.seconds.toFixed(2).padStart(7)} s  cpu ${result.cpuSeconds.toFixed(2).padStart(7)} s   peak ${Math.round(result.peakMb).toString().padStart(5)} MB${rows}`);
  return result;
}

/**
 * Runs one phase in this (child) process: `body(result, started)` fills `result`; wall time, CPU
 * time of every thread (DuckDB's and worker threads': on a shared machine wall time is stretched
 * unevenly) and peak RSS are added, and the result is written as the last stdout line for `runPhase`.
 */
export async function timePhase(name, body) {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const result = { phase: name };
  await body(result, started);
  result.seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  result.cpuSeconds = (used.user + used.system) / 1e6;
  result.peakMb = peakMb();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** The trace files (`traces*.jsonl`) of a data set directory, in name order. */
export function traceFiles(dir) {
  return readdirSync(dir).filter((n) => /^traces.*\.jsonl$/.test(n)).sort().map((n) => join(dir, n));
}

/** One `count(*)` query in a fresh in-memory DuckDB (the baselines), as a number. */
export async function duckdbCount(sql) {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(sql);
    return Number(reader.getRows()[0][0]);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** The naive baseline: spans counted with DuckDB's nested `read_json` (inferred schema, three unnests). */
export function naiveSpanCount(files) {
  const list = `[${files.map((f) => `'${f}'`).join(', ')}]`;
  return duckdbCount(`SELECT count(*) AS n FROM (SELECT unnest(ss.spans) FROM (SELECT unnest(rs.scopeSpans) AS ss FROM (SELECT unnest(resourceSpans) AS rs FROM read_json(${list}))))`);
}

/** The median (the mean of the two middle values of an even count). */
export function median(list) {
  const sorted = [...list].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** A progress line on a terminal (stderr), overwritten in place; nothing when stderr is not a TTY. */
export function progress(text) {
  if (process.stderr.isTTY) process.stderr.write(`\r${text.padEnd(60)}`);
}
