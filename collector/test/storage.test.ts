/**
 * Disk full and unwritable directories: 503 with Retry-After and a clear log line, no crash, no
 * partial line, and recovery once writing works again.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startCollector } from '../src/index.js';
import { BIN, dirUnderAFile, escapeRegExp, post, postJson, startChild, stopChild, tempDir } from './helpers.js';

const spans = (count: number, name: string) => ({
  resourceSpans: [{ scopeSpans: [{ spans: Array.from({ length: count }, (_, index) => ({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: (index + 1).toString(16).padStart(16, '0'), name, attributes: [{ key: 'pad', value: { stringValue: 'p'.repeat(100) } }] })) }] }],
});

/** A 1 MiB tmpfs, when this process may mount one (root in a container usually can). */
async function mountTinyTmpfs(): Promise<string | undefined> {
  const mountPoint = await tempDir('abtel-collector-tmpfs-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint], { stdio: 'ignore' });
    return mountPoint;
  } catch {
    return undefined;
  }
}

describe('storage failures', () => {
  const mounted: string[] = [];
  afterAll(() => {
    for (const mountPoint of mounted) execFileSync('umount', [mountPoint], { stdio: 'ignore' });
  });

  it('disk full (tmpfs): 503 + log line, file keeps only whole lines, recovers when space returns', async (context) => {
    const mountPoint = await mountTinyTmpfs();
    if (!mountPoint) return context.skip();
    mounted.push(mountPoint);
    const dir = join(mountPoint, 'data');
    const messages: string[] = [];
    const collector = await startCollector({ port: 0, dir, progress: false, log: (line) => messages.push(line) });
    try {
      expect((await postJson(`${collector.url}/v1/traces`, spans(10, 'before'))).status).toBe(200);
      // Leave a few KiB free, then send a request larger than that.
      const filler = join(mountPoint, 'filler');
      try {
        await writeFile(filler, Buffer.alloc(1024 * 1024));
      } catch {
        // ENOSPC: the filler took what there was
      }
      const { size } = await import('node:fs/promises').then((fs) => fs.stat(filler));
      await writeFile(filler, Buffer.alloc(Math.max(0, size - 8 * 1024)));
      const full = await postJson(`${collector.url}/v1/traces`, spans(200, 'too-big'));
      expect(full.status).toBe(503);
      expect(full.headers['retry-after']).toBe('5');
      expect(JSON.parse(full.body.toString()).message).toMatch(/cannot write its traces file/);
      expect(messages.join('\n')).toMatch(/cannot write traces to .*traces\.jsonl: (ENOSPC|short write)/);
      expect((await post(`${collector.url}/readyz`, '', {}, 'GET')).status).toBe(503);
      const lines = (await readFile(join(dir, 'traces.jsonl'), 'utf8')).split('\n');
      expect(lines.pop()).toBe('');
      for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
      expect(lines).toHaveLength(1);

      // Still not ready while the space left is less than the batch that failed needed.
      expect((await post(`${collector.url}/readyz`, '', {}, 'GET')).status).toBe(503);
      await rm(filler);
      // Ready again before any client request succeeded (a readiness probe alone must recover).
      expect((await post(`${collector.url}/readyz`, '', {}, 'GET')).status).toBe(200);
      const after = await postJson(`${collector.url}/v1/traces`, spans(200, 'after'));
      expect(after.status).toBe(200);
      expect(messages.join('\n')).toMatch(/works again/);
      const names = (await readFile(join(dir, 'traces.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).resourceSpans[0].scopeSpans[0].spans[0].name);
      expect(names).toEqual(['before', 'after']);
    } finally {
      await collector.close();
    }
  });

  it('unwritable directory (its parent is a regular file): 503, then recovery', async () => {
    const { blocker, dir } = await dirUnderAFile();
    const messages: string[] = [];
    const collector = await startCollector({ port: 0, dir, progress: false, log: (line) => messages.push(line) });
    try {
      expect(messages.join('\n')).toMatch(/cannot open .*traces\.jsonl: .*ENOTDIR/);
      const reply = await postJson(`${collector.url}/v1/traces`, spans(3, 'x'));
      expect(reply.status).toBe(503);
      expect(reply.headers['retry-after']).toBeDefined();
      expect(collector.stats().requests.rejected.storage).toBe(1);
      await rm(blocker);
      await mkdir(blocker);
      expect((await postJson(`${collector.url}/v1/traces`, spans(3, 'y'))).status).toBe(200);
      expect((await readFile(join(dir, 'traces.jsonl'), 'utf8')).split('\n').filter(Boolean)).toHaveLength(1);
    } finally {
      await collector.close();
    }
  });
});

describe('abtel-collector start-up with a data directory it cannot use', () => {
  it('exits 1 with one line naming --dir before listening (a file, a path under a file, procfs)', async () => {
    const base = await tempDir();
    const file = join(base, 'a-file');
    await writeFile(file, 'not a directory');
    const dirs = [file, join(file, 'data'), ...(process.platform === 'linux' ? ['/proc/abtel-nope', '/proc'] : [])];
    for (const dir of dirs) {
      const result = spawnSync(process.execPath, [BIN, '--port', '0', '--dir', dir, '--quiet'], { encoding: 'utf8', timeout: 15_000 });
      expect(result.signal, dir).toBeNull();
      expect(result.status, dir).toBe(1);
      expect(result.stdout, dir).toBe('');
      const lines = result.stderr.trim().split('\n');
      expect(lines, dir).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`--dir ${escapeRegExp(dir)}: cannot (create|write in) the data directory \\(.+\\)$`));
    }
  });

  it('with a usable --dir, the first SIGTERM still stops it cleanly (exit 0)', async () => {
    const { child, stderr } = await startChild(['--port', '0', '--dir', await tempDir(), '--quiet']);
    expect(await stopChild(child)).toBe(0);
    expect(stderr()).toMatch(/abtel collector: stopped; accepted 0 spans/);
  });
});
