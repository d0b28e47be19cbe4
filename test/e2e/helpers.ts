/**
 * Shared helpers of the end-to-end tests. Child processes run the BUILT packages (dist/), the
 * way users run them; the turbo `test` task depends on the build.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
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

interface OtlpAttribute {
  key: string;
  value: Record<string, unknown>;
}

/** OTLP attributes as a plain object: each value unwrapped, an array value as its list of strings. */
function flat(attributes: OtlpAttribute[] | undefined): Record<string, unknown> {
  return Object.fromEntries(
    (attributes ?? []).map((kv) => {
      const value = Object.values(kv.value)[0] as unknown;
      return [kv.key, (value as { values?: { stringValue: string }[] } | undefined)?.values?.map((item) => item.stringValue) ?? value];
    }),
  );
}

/** A span, or an event (a log record or a span event), as found in the collector's files. */
export interface Recorded {
  name: string;
  traceId: string;
  spanId: string;
  attributes: Record<string, unknown>;
}

/** A span as found in the collector's files, with its duration. */
export interface RecordedSpan extends Recorded {
  durationMs: number;
}

/**
 * Every span, log-record event and span event in the collector's files under `dir`, read here
 * rather than through the analysis, so that tests can check the analysis against them.
 */
export async function recorded(dir: string): Promise<{ spans: RecordedSpan[]; events: Recorded[] }> {
  const spans: RecordedSpan[] = [];
  const events: Recorded[] = [];
  for (const file of await readdir(dir, { recursive: true })) {
    if (!String(file).endsWith('.jsonl')) continue;
    for (const line of (await readFile(join(dir, String(file)), 'utf8')).split('\n')) {
      if (!line.trim()) continue;
      const data = JSON.parse(line) as {
        resourceSpans?: {
          scopeSpans: {
            spans: { name: string; traceId: string; spanId: string; startTimeUnixNano: string; endTimeUnixNano: string; attributes?: OtlpAttribute[]; events?: { name: string; attributes?: OtlpAttribute[] }[] }[];
          }[];
        }[];
        resourceLogs?: { scopeLogs: { logRecords: { eventName?: string; traceId?: string; spanId?: string; attributes?: OtlpAttribute[] }[] }[] }[];
      };
      for (const rs of data.resourceSpans ?? []) {
        for (const ss of rs.scopeSpans) {
          for (const span of ss.spans) {
            const { name, traceId, spanId } = span;
            const durationMs = Number(BigInt(span.endTimeUnixNano) - BigInt(span.startTimeUnixNano)) / 1e6;
            spans.push({ name, traceId, spanId, attributes: flat(span.attributes), durationMs });
            for (const event of span.events ?? []) events.push({ name: event.name, traceId, spanId, attributes: { ...flat(span.attributes), ...flat(event.attributes) } });
          }
        }
      }
      for (const rl of data.resourceLogs ?? []) {
        for (const sl of rl.scopeLogs) {
          for (const record of sl.logRecords) {
            if (record.eventName) events.push({ name: record.eventName, traceId: record.traceId ?? '', spanId: record.spanId ?? '', attributes: flat(record.attributes) });
          }
        }
      }
    }
  }
  return { spans, events };
}
