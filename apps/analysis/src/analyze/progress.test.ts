import { describe, expect, it } from 'vitest';
import { progressBar } from './progress.js';

describe('progressBar', () => {
  it('draws nothing when the sink is not a TTY', () => {
    const written: string[] = [];
    const bar = progressBar({ write: (text) => written.push(text), isTTY: false });
    bar.update({ phase: 'reading', done: 5, total: 10 });
    bar.done();
    expect(written).toEqual([]);
  });

  it('draws a bar with the share and phase on a TTY, and clears it when done', () => {
    const written: string[] = [];
    const bar = progressBar({ write: (text) => written.push(text), isTTY: true, columns: 80 });
    bar.update({ phase: 'reading files', done: 10, total: 10 });
    expect(written[0]).toContain('[########################] 100% reading files');
    bar.done();
    expect(written.at(-1)).toBe('\r\u001b[2K');
  });
});
