import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A child process the demo started, with its collected stderr for error messages. */
export interface Child {
  readonly process: ChildProcess;
  readonly stderr: () => string;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** Sends SIGTERM, then SIGKILL after `graceMs`, and waits for the exit. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts `node` with the given arguments; every stdout line is handed to `onLine`.
 * @example
 * const child = startNode(['--import', '@abtel/node/register', 'dist/agent.js'], { env, cwd, onLine: console.log });
 */
export function startNode(args: readonly string[], options: { env: NodeJS.ProcessEnv; cwd: string; onLine?: (line: string) => void }): Child {
  const child = spawn(process.execPath, [...args], { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-20_000);
  });
  if (child.stdout) {
    const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
    lines.on('line', (line) => options.onLine?.(line));
  }
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
    child.once('error', () => resolve(-1));
  });
  return {
    process: child,
    stderr: () => stderr,
    exited,
    async stop(graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Parses one `{"type": …}` JSON line a demo child prints; other lines give undefined.
 * @example
 * parseMessage('{"type":"progress","done":3,"total":10}'); // { type: 'progress', done: 3, total: 10 }
 */
export function parseMessage(line: string): ({ type: string } & Record<string, unknown>) | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(line) as unknown;
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { type?: unknown }).type === 'string') {
      return parsed as { type: string } & Record<string, unknown>;
    }
  } catch {
    // Not one of ours: a library's log line. Ignored on purpose.
  }
  return undefined;
}
