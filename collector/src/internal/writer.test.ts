import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it, vi } from 'vitest';
import { SignalWriter } from './writer.js';

it('probes asked for while one runs share its answer', async () => {
  const parent = await mkdtemp(join(tmpdir(), 'abtel-writer-'));
  const dir = join(parent, 'data');
  // The data directory's path is a regular file: every storage check fails (ENOTDIR or EEXIST).
  await writeFile(dir, 'not a directory');
  const writer = new SignalWriter({ dir, signal: 'traces', maxBytes: 0, maxAgeMs: 0, layout: 'flat', fsync: 'none', fsyncIntervalMs: 1000, onRotated: () => {}, log: () => {} });
  const checks = vi.spyOn(writer as unknown as { checkWritable(): Promise<void> }, 'checkWritable');
  try {
    await expect(writer.append(Buffer.from('{}\n'))).rejects.toThrow();
    expect(writer.healthy).toBe(false);
    const answers = await Promise.all(Array.from({ length: 100 }, () => writer.probe()));
    expect(answers).toEqual(Array(100).fill(false));
    expect(checks).toHaveBeenCalledTimes(1);
  } finally {
    await writer.close();
    await rm(parent, { recursive: true, force: true });
  }
});
