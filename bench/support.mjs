// Helpers the benchmarks share: phases run in child processes (so peak memory is per phase), peak
// memory from /proc, and the marker of the generated analysis data set.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';

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
