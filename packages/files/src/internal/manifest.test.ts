import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { fingerprintOf } from './manifest.js';

const root = mkdtempSync(join(tmpdir(), 'abtel-fingerprint-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Writes `bytes` to a new file and returns its path. */
function fileOf(name: string, bytes: Buffer): string {
  const path = join(root, name);
  writeFileSync(path, bytes);
  return path;
}

/** The definition, computed here from the whole buffer: size line, first 64 KiB, last 64 KiB (the rest below 128 KiB). */
function expected(bytes: Buffer): string {
  const end = 64 * 1024;
  const head = bytes.subarray(0, Math.min(bytes.length, end));
  const tail = bytes.subarray(Math.max(head.length, bytes.length - end));
  return `ends64k-sha256:${createHash('sha256').update(`${bytes.length}\n`).update(head).update(tail).digest('hex')}`;
}

/** Deterministic pseudo-random bytes (a linear congruential generator), so runs compare alike. */
function bytesOf(length: number, seed: number): Buffer {
  const bytes = Buffer.alloc(length);
  let state = seed;
  for (let i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

describe('fingerprintOf', () => {
  test('a small file: the hash of its size and all its bytes', () => {
    const bytes = Buffer.from('{"resourceSpans":[]}\n');
    expect(fingerprintOf(fileOf('small.jsonl', bytes), bytes.length)).toBe(expected(bytes));
    expect(fingerprintOf(fileOf('empty.jsonl', Buffer.alloc(0)), 0)).toBe(expected(Buffer.alloc(0)));
    // Between 64 and 128 KiB the tail starts where the head ends: every byte once.
    const medium = bytesOf(100_000, 7);
    expect(fingerprintOf(fileOf('medium.jsonl', medium), medium.length)).toBe(expected(medium));
    const changed = Buffer.from(medium);
    changed[80_000] = changed[80_000]! ^ 1;
    expect(fingerprintOf(fileOf('medium-changed.jsonl', changed), changed.length)).not.toBe(expected(medium));
  });

  test('a large file: its two ends decide, whatever its name; a byte changed in either end or another size changes it', () => {
    const bytes = bytesOf(1_000_000, 11);
    const print = fingerprintOf(fileOf('large.jsonl', bytes), bytes.length);
    expect(print).toBe(expected(bytes));
    expect(fingerprintOf(fileOf('copy under another name.jsonl', Buffer.from(bytes)), bytes.length)).toBe(print);
    for (const at of [0, 65_535, 1_000_000 - 65_536, 999_999]) {
      const changed = Buffer.from(bytes);
      changed[at] = changed[at]! ^ 1;
      expect(fingerprintOf(fileOf(`changed-${at}.jsonl`, changed), changed.length)).not.toBe(print);
    }
    const longer = Buffer.concat([bytes, Buffer.from('\n')]);
    expect(fingerprintOf(fileOf('longer.jsonl', longer), longer.length)).not.toBe(print);
    // The documented limit: the middle is not read.
    const middle = Buffer.from(bytes);
    middle[500_000] = middle[500_000]! ^ 1;
    expect(fingerprintOf(fileOf('middle.jsonl', middle), middle.length)).toBe(print);
  });

  test('a file that cannot be read has none', () => {
    expect(fingerprintOf(join(root, 'missing.jsonl'), 10)).toBeUndefined();
    expect(fingerprintOf(root, 10)).toBeUndefined();
  });
});
