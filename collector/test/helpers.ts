/** Shared test helpers: a real HTTP client, file readers and an independent OTLP JSON normaliser. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll } from 'vitest';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'fixtures', 'otlp');
export const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'abtel-collector.js');

const created: string[] = [];

// Registered once per test file (each file imports this module afresh): the directories a file
// created are removed after its last test, so repeated runs do not fill the temporary directory.
// Files that mount something inside a directory unmount it in their own afterAll, which runs first.
afterAll(async () => {
  await Promise.all(created.splice(0).map((dir) => rm(dir, { recursive: true, force: true }).catch(() => undefined)));
});

/** A fresh directory under the OS temporary directory, removed after the test file's last test. */
export async function tempDir(prefix = 'abtel-collector-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** `text` as a literal inside a regular expression. */
export const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A directory path that cannot be created yet: its parent is a regular file. Returns the file (remove
 * it and make a directory there to let the path work) and the path.
 */
export async function dirUnderAFile(): Promise<{ blocker: string; dir: string }> {
  const blocker = join(await tempDir(), 'blocker');
  await writeFile(blocker, 'not a directory');
  return { blocker, dir: join(blocker, 'data') };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One HTTP request with node:http (no client-side retries or decompression). */
export function post(url: string, body: Buffer | string, headers: Record<string, string> = {}, method = 'POST'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const payload = typeof body === 'string' ? Buffer.from(body) : body;
    const req = request(
      { host: target.hostname, port: target.port, path: target.pathname, method, headers: { 'content-length': String(payload.length), ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export const postJson = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  post(url, typeof body === 'string' ? body : JSON.stringify(body), { 'content-type': 'application/json', ...headers });

/** Every line of every file for a signal under `dir` (recursively; .gz decompressed), parsed. */
export async function readSignal(dir: string, signal: string): Promise<unknown[]> {
  const lines = await readSignalLines(dir, signal);
  return lines.map((line) => JSON.parse(line) as unknown);
}

export async function readSignalLines(dir: string, signal: string): Promise<string[]> {
  const out: string[] = [];
  const entries = (await readdir(dir, { recursive: true })).map(String).sort();
  for (const name of entries) {
    const base = name.split('/').pop()!;
    if (!base.startsWith(`${signal}`) || !/\.jsonl(\.gz)?$/.test(base)) continue;
    let content = await readFile(join(dir, name));
    if (base.endsWith('.gz')) content = gunzipSync(content);
    const text = content.toString('utf8');
    if (text.length > 0 && !text.endsWith('\n')) throw new Error(`${name} does not end with a newline`);
    out.push(...text.split('\n').filter((line) => line !== ''));
  }
  return out;
}

/** All spans (or log records) in parsed TracesData/LogsData lines, with their resource and scope. */
export function flattenSpans(lines: unknown[]): Array<{ resource: any; scope: any; span: any }> {
  const out: Array<{ resource: any; scope: any; span: any }> = [];
  for (const line of lines as any[]) {
    for (const rs of line.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) for (const span of ss.spans ?? []) out.push({ resource: rs.resource, scope: ss.scope, span });
  }
  return out;
}

export function flattenLogs(lines: unknown[]): Array<{ resource: any; scope: any; record: any }> {
  const out: Array<{ resource: any; scope: any; record: any }> = [];
  for (const line of lines as any[]) {
    for (const rl of line.resourceLogs ?? []) for (const sl of rl.scopeLogs ?? []) for (const record of sl.logRecords ?? []) out.push({ resource: rl.resource, scope: sl.scope, record });
  }
  return out;
}

const ID_KEYS = new Set(['traceId', 'spanId', 'parentSpanId']);
const INT64_KEYS = new Set(['timeUnixNano', 'startTimeUnixNano', 'endTimeUnixNano', 'observedTimeUnixNano', 'intValue', 'asInt', 'count', 'zeroCount']);

/**
 * Independent semantic normalisation of OTLP JSON (written for the tests, not shared with the
 * collector): proto3 JSON equivalences — default values and empty containers dropped, ids
 * lower-cased, 64-bit integers as strings, enum names as numbers are not expected here.
 */
export function normaliseOtlp(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) {
    const items = value.map((item) => normaliseOtlp(item, key === 'bucketCounts' ? 'count' : `${key}-item`));
    return items.length === 0 ? undefined : items;
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    const oneof = key === 'value' || key === 'body' || key === 'values-item';
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const n = normaliseOtlp(v, k);
      // Members of AnyValue keep their zero values: {"intValue":"0"} differs from {}.
      const keep = oneof && ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'bytesValue'].includes(k);
      if (n === undefined || (!keep && (n === 0 || n === '' || n === false || (n === '0' && INT64_KEYS.has(k))))) continue;
      out[k] = n;
    }
    return out;
  }
  if (ID_KEYS.has(key) && typeof value === 'string') return value.toLowerCase();
  if (INT64_KEYS.has(key) && (typeof value === 'number' || typeof value === 'string')) return String(value);
  return value;
}

/** Starts the built `abtel-collector` as a child process; resolves with its URL once it listens. */
export async function startChild(args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const match = /^abtel collector listening on (http:\/\/\S+)$/.exec(line);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`collector exited with ${code}: ${stderr}`)));
  });
  return { child, url, stderr: () => stderr };
}

export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill(signal);
  return exited;
}
