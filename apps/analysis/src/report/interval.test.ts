import { describe, expect, it } from 'vitest';
import { Report } from '@abtel/core';
import { sampleReport } from '../../test/sample-report.js';
import { renderReport } from './render.js';

/** The sample report with a p95 latency result whose interval came from the asymptotic method. */
function withQuantile(): Report {
  const report = sampleReport();
  const [first] = report.comparisons;
  first!.metrics.push({
    name: 'latency_p95',
    role: 'secondary',
    kind: 'quantile',
    direction: 'decrease',
    test: 'unit-clustered quantile difference, z: asymptotic interval (Deng, Knoblich & Lu 2018)',
    interval: 'asymptotic',
    baseline: { n: 6650, units: 6650, value: 812.4 },
    variant: { n: 6702, units: 6702, value: 790.1 },
    absoluteDiff: -22.3,
    ci95: [-35.1, -9.5],
    relativeLift: -0.0274,
    relativeCi95: [-0.043, -0.012],
    pValue: 0.0006,
    pAdjustedBH: 0.002,
    pAdjustedHolm: 0.002,
    significant: false,
    better: true,
  });
  return Report.parse(report);
}

describe('a quantile result says which interval method it used', () => {
  it('json carries `interval`; table, markdown and html say it in words', async () => {
    const report = withQuantile();
    expect(JSON.parse(await renderReport(report, 'json')).comparisons[0].metrics.at(-1).interval).toBe('asymptotic');
    for (const format of ['table', 'md', 'html'] as const) {
      const text = await renderReport(report, format);
      expect(text, format).toContain('asymptotic interval');
    }
  });
});
