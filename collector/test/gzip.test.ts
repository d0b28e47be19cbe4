/**
 * Gzip of rotated files is crash-safe: an interrupted compression (kill -9, a second signal) is
 * finished at the next start, so exactly one readable copy of each rotated file remains.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { startCollector } from '../src/index.js';
import { LOCK_FILE } from '../src/internal/dir-lock.js';
import { postJson, readSignal, tempDir } from './helpers.js';

const line = (name: string) =>
  `${JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: '00f067aa0ba902b7', name, attributes: [{ key: 'pad', value: { stringValue: name.repeat(200) } }] }] }] }] })}\n`;
const content = (prefix: string, count: number) => Array.from({ length: count }, (_, index) => line(`${prefix}${index}`)).join('');
const names = (lines: unknown[]) => lines.map((item: any) => item.resourceSpans[0].scopeSpans[0].spans[0].name as string).sort();

describe('gzip of rotated files', () => {
  it('finishes a compression a crash interrupted: plain file + partial .gz, or plain file + temporary', async () => {
    const dir = await tempDir();
    const day = '2026-11-21';
    await mkdir(join(dir, day));
    // As an earlier version left it: a partial .gz written in place next to the complete plain file.
    const a = 'traces-2026-11-22T05-30-00.000.jsonl';
    const aText = content('a', 50);
    await writeFile(join(dir, a), aText);
    const aGzip = gzipSync(aText);
    await writeFile(join(dir, `${a}.gz`), aGzip.subarray(0, Math.floor(aGzip.length / 2)));
    // As this version leaves it: a partial hidden temporary (layout: date folder).
    const b = 'logs-2026-11-21T23-00-00.000.jsonl';
    await writeFile(join(dir, day, b), content('b', 20));
    await writeFile(join(dir, day, `.${b}.gz.tmp`), gzipSync(content('b', 20)).subarray(0, 40));
    // A temporary whose plain file is gone (the rename happened): only removed.
    await writeFile(join(dir, '.traces-2026-11-20T00-00-00.000.jsonl.gz.tmp'), 'partial');
    // Neither are touched: a finished .gz, and a plain rotated file with nothing beside it.
    const c = 'traces-2026-11-22T04-00-00.000.jsonl';
    await writeFile(join(dir, `${c}.gz`), gzipSync(content('c', 5)));
    const d = 'traces-2026-11-22T06-00-00.000.jsonl';
    await writeFile(join(dir, d), content('d', 3));

    const messages: string[] = [];
    const collector = await startCollector({ port: 0, dir, progress: false, log: (message) => messages.push(message) });
    try {
      await collector.idle();
      // The running collector's lock is the only hidden file: no temporary is left.
      expect((await readdir(dir)).sort()).toEqual([LOCK_FILE, day, 'logs.jsonl', 'metrics.jsonl', c + '.gz', a + '.gz', d, 'traces.jsonl'].sort());
      expect(await readdir(join(dir, day))).toEqual([`${b}.gz`]);
      const traces = names(await readSignal(dir, 'traces'));
      expect(traces).toEqual([...Array.from({ length: 50 }, (_, i) => `a${i}`), 'c0', 'c1', 'c2', 'c3', 'c4', 'd0', 'd1', 'd2'].sort());
      expect(await readSignal(join(dir, day), 'logs')).toHaveLength(20);
      expect(collector.stats().background.gzipped).toBe(2);
      expect(messages.join('\n')).toMatch(/gzip was interrupted/);
    } finally {
      await collector.close();
    }
  });

  it('with gzip on, compresses at start the rotated files whose compression never started (still queued when the process died)', async () => {
    const dir = await tempDir();
    const day = '2026-11-21';
    await mkdir(join(dir, day));
    const waiting = ['traces-2026-11-22T05-30-00.000.jsonl', 'logs-2026-11-22T05-30-00.500.jsonl'];
    for (const [index, name] of waiting.entries()) await writeFile(join(dir, name), content(`w${index}`, 10));
    await writeFile(join(dir, day, 'traces-2026-11-21T23-00-00.000.jsonl'), content('y', 4));
    const messages: string[] = [];
    const collector = await startCollector({ port: 0, dir, rotation: { gzip: true }, progress: false, log: (message) => messages.push(message) });
    try {
      await collector.idle();
      const entries = (await readdir(dir)).sort();
      expect(entries).toEqual([LOCK_FILE, day, 'logs.jsonl', 'metrics.jsonl', 'traces.jsonl', ...waiting.map((name) => `${name}.gz`)].sort());
      expect(await readdir(join(dir, day))).toEqual(['traces-2026-11-21T23-00-00.000.jsonl.gz']);
      // Every line still there, now read from the .gz files (the date folder's included).
      expect(names(await readSignal(dir, 'traces'))).toEqual([...Array.from({ length: 10 }, (_, i) => `w0${i}`), 'y0', 'y1', 'y2', 'y3'].sort());
      expect(collector.stats().background.gzipped).toBe(3);
      expect(messages.filter((message) => message.includes('not compressed yet'))).toEqual([
        '3 rotated file(s) are not compressed yet (left by a stop before their turn, or rotated before gzip was on); compressing them now',
      ]);
    } finally {
      await collector.close();
    }
  });

  it('a shutdown does not wait for a backlog of gzips: it says how many are left, and the next start compresses them', async () => {
    const dir = await tempDir();
    const files = Array.from({ length: 20 }, (_, index) => `traces-2026-11-22T05-30-${String(index).padStart(2, '0')}.000.jsonl`);
    for (const name of files) await writeFile(join(dir, name), content(name.slice(25, 27), 400));
    const messages: string[] = [];
    const first = await startCollector({ port: 0, dir, rotation: { gzip: true }, progress: false, log: (message) => messages.push(message) });
    await first.close();
    const done = first.stats().background.gzipped;
    const left = files.length - done;
    expect(left).toBeGreaterThan(0);
    expect(messages).toContain(`${left} rotated file(s) were not compressed before the shutdown; the next start compresses them`);
    expect((await readdir(dir)).filter((name) => name.endsWith('.jsonl') && name.startsWith('traces-'))).toHaveLength(left);
    const second = await startCollector({ port: 0, dir, rotation: { gzip: true }, progress: false, log: () => {} });
    try {
      await second.idle();
      expect(second.stats().background.gzipped).toBe(left);
      expect((await readdir(dir)).filter((name) => name.startsWith('traces-') && name.endsWith('.jsonl.gz'))).toHaveLength(files.length);
      expect(await readSignal(dir, 'traces')).toHaveLength(files.length * 400);
    } finally {
      await second.close();
    }
  });

  it('a normal rotation with gzip leaves only the .gz (no plain file, no temporary)', async () => {
    const dir = await tempDir();
    const collector = await startCollector({ port: 0, dir, rotation: { gzip: true }, progress: false, log: () => {} });
    try {
      const body = JSON.parse(line('x').trim());
      for (let index = 0; index < 3; index++) expect((await postJson(`${collector.url}/v1/traces`, body)).status).toBe(200);
      await collector.rotate();
      await collector.idle();
      const entries = await readdir(dir);
      expect(entries.filter((name) => name.startsWith('.'))).toEqual([LOCK_FILE]);
      const rotated = entries.filter((name) => name.startsWith('traces-'));
      expect(rotated).toHaveLength(1);
      expect(rotated[0]).toMatch(/^traces-.*\.jsonl\.gz$/);
      expect(await readSignal(dir, 'traces')).toHaveLength(3);
    } finally {
      await collector.close();
    }
  });
});
