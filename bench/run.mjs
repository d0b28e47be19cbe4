#!/usr/bin/env node
// Runs every `*.bench.mjs` in this folder one after another (never in parallel: they measure).
// `node run.mjs assignment` runs only the benchmarks whose file name contains "assignment"; further
// arguments go to each of them (`node run.mjs analysis --phases count-parquet,analyze-compacted`).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2] ?? '';
const passed = process.argv.slice(3);
const files = readdirSync(here).filter((name) => name.endsWith('.bench.mjs') && name.includes(filter)).sort();
let failed = 0;
for (const file of files) {
  console.log(`\n== ${file}`);
  const result = spawnSync(process.execPath, ['--expose-gc', file, ...passed], { cwd: here, stdio: 'inherit' });
  if (result.status !== 0) failed += 1;
}
process.exit(failed === 0 ? 0 : 1);
