/**
 * kill -9 under sustained load, then restart: every acknowledged span is in the files; the only
 * possible damage is one torn final line, which the restarted collector terminates (and readers skip).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { postJson, startChild, stopChild, tempDir } from './helpers.js';

function body(client: number, sequence: number) {
  // Each request carries 20 spans whose span ids encode (client, sequence, index).
  const spans = Array.from({ length: 20 }, (_, index) => ({
    traceId: `${client.toString(16).padStart(8, '0')}${sequence.toString(16).padStart(8, '0')}`.padEnd(32, 'a'),
    spanId: `${client.toString(16).padStart(4, '0')}${sequence.toString(16).padStart(8, '0')}${index.toString(16).padStart(4, '0')}`,
    name: 'load',
    attributes: [{ key: 'padding', value: { stringValue: 'x'.repeat(200) } }],
  }));
  return { resourceSpans: [{ scopeSpans: [{ spans }] }] };
}

describe('crash safety', () => {
  it('keeps every acknowledged span across kill -9 and restart', async () => {
    const dir = await tempDir();
    const first = await startChild(['--port', '0', '--dir', dir, '--quiet', '--rotate-max-bytes', '256KiB']);
    const acknowledged = new Set<string>();
    let stop = false;
    const client = async (id: number) => {
      for (let sequence = 0; !stop; sequence++) {
        const request = body(id, sequence);
        try {
          const reply = await postJson(`${first.url}/v1/traces`, request);
          if (reply.status === 200) for (const span of request.resourceSpans[0]!.scopeSpans[0]!.spans) acknowledged.add(span.spanId);
        } catch {
          return; // connection reset by the kill
        }
      }
    };
    const clients = Array.from({ length: 8 }, (_, id) => client(id));
    await new Promise((resolve) => setTimeout(resolve, 700));
    first.child.kill('SIGKILL');
    stop = true;
    await Promise.all(clients);
    expect(acknowledged.size).toBeGreaterThan(1000);

    const second = await startChild(['--port', '0', '--dir', dir, '--quiet']);
    try {
      const reply = await postJson(`${second.url}/v1/traces`, body(99, 0));
      expect(reply.status).toBe(200);
    } finally {
      await stopChild(second.child);
    }
    const { readdir } = await import('node:fs/promises');
    const found = new Set<string>();
    let badLines = 0;
    for (const name of await readdir(dir)) {
      if (!name.startsWith('traces')) continue;
      for (const line of (await readFile(join(dir, name), 'utf8')).split('\n')) {
        if (line === '') continue;
        try {
          for (const span of JSON.parse(line).resourceSpans[0].scopeSpans[0].spans) found.add(span.spanId);
        } catch {
          badLines += 1;
        }
      }
    }
    expect(badLines).toBeLessThanOrEqual(1);
    const missing = [...acknowledged].filter((spanId) => !found.has(spanId));
    expect(missing).toEqual([]);
    if (badLines === 1) expect(second.stderr()).toMatch(/torn line/);
  });
});
