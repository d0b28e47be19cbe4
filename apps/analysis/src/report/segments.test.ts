import { describe, expect, it } from 'vitest';
import { Report } from '@abtel/core';
import { sampleReport } from '../../test/sample-report.js';
import { renderReport } from './render.js';
import { segmentMetric } from './format.js';

/**
 * The sample report whose `locale` breakdown of `resolved` (a binary metric) has one row with known
 * numbers: 40% against 57.5%, +17.5 pp (+5 pp to +30 pp). A second breakdown of `csat` (a mean)
 * shows that other metrics keep plain numbers, with a signed difference.
 */
function reportWithSegmentRows(): Report {
  const report = sampleReport();
  const locale = report.segments.find((segment) => segment.variation === 'treatment_a')!;
  expect(locale.metric).toBe('resolved');
  locale.rows = [
    { value: 'fr', baseline: { n: 400, value: 0.4 }, variant: { n: 400, value: 0.575 }, absoluteDiff: 0.175, ci95: [0.05, 0.3], pValue: 0.003 },
  ];
  report.segments.push({
    ...locale,
    metric: 'csat',
    rows: [{ value: 'fr', baseline: { n: 300, value: 3.9 }, variant: { n: 310, value: 4.1 }, absoluteDiff: 0.2, ci95: [-0.05, 0.45], pValue: 0.12 }],
  });
  return Report.parse(report);
}

describe('segment breakdowns read like the main metrics table', () => {
  it('finds the kind of the segment metric in the comparisons', () => {
    const report = sampleReport();
    expect(segmentMetric(report, { metric: 'resolved', variation: 'treatment_a' })).toEqual({ kind: 'binary' });
    expect(segmentMetric(report, { metric: 'error_rate', variation: 'treatment_b' })).toEqual({ kind: 'ratio' });
    expect(segmentMetric(report, { metric: 'not-a-metric', variation: 'treatment_a' })).toEqual({ kind: 'mean' });
  });

  it('table: rates as percentages, differences signed in pp', async () => {
    const text = await renderReport(reportWithSegmentRows(), 'table');
    const fr = text.split('\n').filter((line) => /^\s+fr\s/.test(line));
    expect(fr).toHaveLength(2);
    expect(fr[0]!.trim().split(/\s{2,}/).slice(1)).toEqual(['40% (n 400)', '57.5% (n 400)', '+17.5 pp', '+5 pp to +30 pp', '0.003']);
    expect(fr[1]!.trim().split(/\s{2,}/).slice(1)).toEqual(['3.9 (n 300)', '4.1 (n 310)', '+0.2', '-0.05 to +0.45', '0.12']);
  });

  it('markdown: a flagged breakdown lists its rows in the same form', async () => {
    const md = await renderReport(reportWithSegmentRows(), 'md');
    expect(md).toContain('| fr | 40% (n 400) | 57.5% (n 400) | +17.5 pp (+5 pp to +30 pp) | 0.003 |');
    // every row of a segment table has as many cells as its header
    const header = md.split('\n').find((line) => line.startsWith('| locale (resolved) |'))!;
    const row = md.split('\n').find((line) => line.startsWith('| fr |'))!;
    expect(row.split(' | ')).toHaveLength(header.split(' | ').length);
  });

  it('html: the same cells', async () => {
    const html = await renderReport(reportWithSegmentRows(), 'html');
    expect(html).toContain('<tr><td>fr</td><td>40% <small>n 400</small></td><td>57.5% <small>n 400</small></td><td>+17.5 pp</td><td>+5 pp to +30 pp</td><td>0.003</td></tr>');
    expect(html).toContain('<tr><td>fr</td><td>3.9 <small>n 300</small></td><td>4.1 <small>n 310</small></td><td>+0.2</td><td>-0.05 to +0.45</td><td>0.12</td></tr>');
  });
});
