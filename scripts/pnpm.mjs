#!/usr/bin/env node
// Runs the pnpm version pinned in package.json through corepack, so a fresh machine needs only
// Node and npm: no global pnpm and no `corepack enable` in Node's own bin directory (which needs
// root). Shims go into a project-local directory that is put first on PATH, because turbo looks
// pnpm up on PATH.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const shimDir = join(root, 'node_modules', '.corepack-shims');
const env = {
  ...process.env,
  COREPACK_ENABLE_DOWNLOAD_PROMPT: '0',
  COREPACK_ENABLE_STRICT: '0',
  TURBO_TELEMETRY_DISABLED: '1',
  DO_NOT_TRACK: '1',
  PATH: `${shimDir}${delimiter}${process.env.PATH ?? ''}`,
};

function fail(message) {
  console.error(`abtel setup: ${message}`);
  process.exit(1);
}

if (!existsSync(join(shimDir, 'pnpm'))) {
  mkdirSync(shimDir, { recursive: true });
  const enable = spawnSync('corepack', ['enable', '--install-directory', shimDir, 'pnpm'], { stdio: 'inherit', env });
  if (enable.error || enable.status !== 0) {
    fail(`could not set up pnpm through corepack (${enable.error?.message ?? `exit ${enable.status}`}); Node >= 20.6 ships corepack`);
  }
}
const result = spawnSync('pnpm', process.argv.slice(2), { stdio: 'inherit', env, cwd: process.cwd() });
if (result.error) fail(`could not start pnpm (${result.error.message})`);
process.exit(result.status ?? 1);
