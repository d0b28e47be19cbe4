import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** The redis-server binary: `REDIS_SERVER` or `redis-server` on PATH. */
export function redisServerBinary(): string {
  return process.env['REDIS_SERVER'] ?? 'redis-server';
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A throw-away redis-server on 127.0.0.1 (no persistence). */
export interface RedisProcess {
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts redis-server on a free port; fails (never skips) with an actionable message when the
 * binary is missing, because the sticky store must be tested against the real server.
 */
export async function startRedis(): Promise<RedisProcess> {
  const binary = redisServerBinary();
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) {
    throw new Error(
      `redis-server is required for the RedisAssignmentStore tests but "${binary}" could not be run ` +
        `(${probe.error?.message ?? probe.stderr}). Install it (apt-get install -y redis-server) or set REDIS_SERVER to its path.`,
    );
  }
  const port = await freePort();
  const child: ChildProcess = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not become ready on port ${port}: ${output}`)), 10_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with code ${code}: ${output}`));
    });
  });
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
