import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * The drop-in runs from the built `dist` (as users run it). Builds this package when dist is
 * missing or older than src; the workspace dependencies must already be built.
 */
export function ensureBuilt(): void {
  const coreDist = resolve(packageDir, '../core/dist/index.js');
  if (!existsSync(coreDist)) {
    throw new Error(`@abtel/core is not built (${coreDist} is missing); run \`node scripts/pnpm.mjs exec turbo run build --filter=@abtel/node...\` first`);
  }
  const register = join(packageDir, 'dist/register.js');
  if (!existsSync(register) || statSync(register).mtimeMs < newestMtime(join(packageDir, 'src'))) {
    execFileSync(process.execPath, [join(packageDir, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: packageDir, stdio: 'pipe' });
  }
}

/**
 * A throw-away application directory outside the package, with `@abtel/node`, `openai` and
 * `@opentelemetry/api` installed (as symlinks, like a package manager would link them).
 */
export function createAppDir(files: Record<string, string>): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'abtel-app-'));
  const link = (name: string, target: string): void => {
    const path = join(dir, 'node_modules', name);
    mkdirSync(dirname(path), { recursive: true });
    symlinkSync(target, path, 'dir');
  };
  link('@abtel/node', packageDir);
  link('openai', realpathSync(join(packageDir, 'node_modules/openai')));
  link('@opentelemetry/api', realpathSync(join(packageDir, 'node_modules/@opentelemetry/api')));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** Environment for a child: the parent's, without any OTEL_ / ABTEL_ / NODE_OPTIONS leaking in. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('OTEL_') && !key.startsWith('ABTEL_') && key !== 'NODE_OPTIONS' && !key.startsWith('VITEST')) env[key] = value;
  }
  return { ...env, ...extra };
}

/** A running child started with `node --import @abtel/node/register <file>`. */
export interface RunningChild {
  /** Resolves with the first stdout line that parses as JSON. */
  firstJsonLine(): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<ChildResult>;
  done: Promise<ChildResult>;
}

export function startApp(dir: string, file: string, env: Record<string, string>, timeoutMs = 20_000): RunningChild {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', '@abtel/node/register', file], { cwd: dir, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const lineWaiters: ((line: Record<string, unknown>) => void)[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    for (const line of stdout.split('\n')) {
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        lineWaiters.splice(0).forEach((resolveLine) => resolveLine(parsed));
        break;
      } catch {
        // not a JSON line (yet)
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<ChildResult>((resolveDone) => {
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      // Let the pipes drain.
      setImmediate(() => resolveDone({ code, signal, stdout, stderr, durationMs: Date.now() - started }));
    });
  });
  return {
    done,
    firstJsonLine: () =>
      new Promise((resolveLine, reject) => {
        lineWaiters.push(resolveLine);
        void done.then((result) => reject(new Error(`child exited before printing JSON (code ${result.code}): ${result.stderr}`)));
      }),
    stop: (signal = 'SIGTERM') => {
      child.kill(signal);
      return done;
    },
  };
}

/** Runs an app to completion. */
export function runApp(dir: string, file: string, env: Record<string, string>, timeoutMs?: number): Promise<ChildResult> {
  return startApp(dir, file, env, timeoutMs).done;
}
