/**
 * Shared helpers of the end-to-end tests. Child processes run the BUILT packages (dist/), the
 * way users run them; the turbo `test` task depends on the build.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The test package directory (test/). */
export const TEST_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = resolve(TEST_ROOT, '..');
export const CLI_BIN = join(REPO_ROOT, 'apps', 'cli', 'bin', 'abtel.js');
export const DEMO_EXPERIMENTS = join(REPO_ROOT, 'apps', 'demo', 'experiments');
export const FIXTURES = join(TEST_ROOT, 'e2e', 'fixtures');
export const OTLP_FIXTURES = join(REPO_ROOT, '..', 'shared', 'fixtures', 'otlp');

/** Throws a message that says how to build when a dist/ entry point is missing. */
export function requireBuilt(...paths: string[]): void {
  for (const path of paths) {
    if (!existsSync(path)) throw new Error(`${path} is missing: build first with node scripts/pnpm.mjs exec turbo run build`);
  }
}

const created: string[] = [];

/** A fresh temporary directory, removed by {@link removeTempDirs}. */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `abtel-e2e-${prefix}-`));
  created.push(dir);
  return dir;
}

/** Removes every directory {@link tempDir} created in this test file (call in afterAll). */
export async function removeTempDirs(): Promise<void> {
  await Promise.all(created.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/** Result of a finished child process. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node args…` to completion (killed after `timeoutMs`), with OTEL_/ABTEL_ variables of the
 * test environment removed unless given in `env`.
 */
export function runNode(args: readonly string[], options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('OTEL_') && !key.startsWith('ABTEL_')) env[key] = value;
  Object.assign(env, options.env ?? {});
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [...args], { cwd: options.cwd ?? TEST_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 150_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
  });
}

/** Runs the built `abtel` CLI. */
export function runCli(args: readonly string[], options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
  requireBuilt(join(REPO_ROOT, 'apps', 'cli', 'dist', 'bin.js'));
  return runNode([CLI_BIN, ...args], options);
}

/** The last `{"type":"summary",…}` line a demo child or fixture printed. */
export function summaryOf<T>(stdout: string): T {
  const line = stdout
    .trim()
    .split('\n')
    .reverse()
    .find((candidate) => candidate.startsWith('{"type":"summary"'));
  if (!line) throw new Error(`no summary line in output:\n${stdout.slice(-2000)}`);
  return JSON.parse(line) as T;
}
