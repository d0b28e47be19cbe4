/**
 * SIGTERM with a stalled client: the drain is bounded by `shutdownTimeout`, then the remaining
 * connections are closed and the collector exits with what completed requests wrote on disk.
 */
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { postJson, readSignal, startChild, tempDir } from './helpers.js';

const spans = (name: string) => ({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: '00f067aa0ba902b7', name }] }] }] });

describe('shutdown', () => {
  it('closes a stalled upload after --shutdown-timeout and exits; completed requests are on disk', async () => {
    const dir = await tempDir();
    const { child, url, stderr } = await startChild(['--port', '0', '--dir', dir, '--quiet', '--shutdown-timeout', '500ms']);
    try {
      expect((await postJson(`${url}/v1/traces`, spans('completed'))).status).toBe(200);
      // Headers and half of the body, then nothing more.
      const { hostname, port } = new URL(url);
      const socket = connect(Number(port), hostname);
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      const body = JSON.stringify(spans('stalled'));
      socket.write(`POST /v1/traces HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, body.length >> 1)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const started = Date.now();
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 8000))]);
      const elapsed = Date.now() - started;
      socket.destroy();
      expect(code).toBe(0);
      // The deadline (0.5 s) plus a margin for a loaded machine.
      expect(elapsed).toBeLessThan(3000);
      expect(stderr()).toMatch(/1 request\(s\) still in progress after the shutdown timeout of 500 ms; closing their connections/);
      expect(stderr()).not.toMatch(/internal error/);
      const names = (await readSignal(dir, 'traces')).map((line: any) => line.resourceSpans[0].scopeSpans[0].spans[0].name);
      expect(names).toEqual(['completed']);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('a second SIGTERM during the drain exits at once (143) and says so', async () => {
    const dir = await tempDir();
    const { child, url, stderr } = await startChild(['--port', '0', '--dir', dir, '--quiet', '--shutdown-timeout', '30s']);
    try {
      // A stalled upload keeps the drain waiting for up to 30 s.
      const { hostname, port } = new URL(url);
      const socket = connect(Number(port), hostname);
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      const body = JSON.stringify(spans('stalled'));
      socket.write(`POST /v1/traces HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 300));
      const started = Date.now();
      child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 8000))]);
      socket.destroy();
      expect(code).toBe(143);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(stderr()).toMatch(/received SIGTERM during the shutdown: exiting without finishing it\n/);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
