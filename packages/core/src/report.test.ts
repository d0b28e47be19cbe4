import { describe, expect, it } from 'vitest';
import { Report, REPORT_SCHEMA_VERSION, MetricResult } from './report.js';

function minimalReport(): Record<string, unknown> {
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    experiment: {
      key: 'support-persona',
      version: 1,
      state: 'running',
      unit: 'conversation',
      control: 'control',
      variations: [
        { key: 'control', weight: 1 },
        { key: 'warm', weight: 1 },
      ],
      alpha: 0.05,
    },
    generatedAt: '2026-11-22T06:00:00.000Z',
    population: {
      exposed: { control: 10, warm: 12 },
      total: 22,
      duplicateExposures: 0,
      informationFraction: null,
      timeline: [],
    },
    health: {
      srm: { statistic: 0.18, df: 1, pValue: 0.67, flagged: false, expected: { control: 11, warm: 11 } },
      multipleExposures: { units: 0, share: 0, flagged: false },
      assignment: { checked: 22, mismatches: 0, flagged: false },
      exposuresWithoutCall: 0,
      outcomesWithoutExposure: 0,
      freshness: { ageMinutes: 3, stale: false },
      badLines: 0,
    },
    comparisons: [
      {
        variation: 'warm',
        baseline: 'control',
        metrics: [
          {
            name: 'resolved',
            role: 'primary',
            kind: 'binary',
            baseline: { n: 10, value: 0.4 },
            variant: { n: 12, value: 0.5 },
            absoluteDiff: 0.1,
            ci95: [-0.3, 0.5],
            relativeLift: 0.25,
            relativeCi95: [null, null],
            pValue: 0.64,
            pAdjustedBH: null,
            pAdjustedHolm: null,
            significant: false,
            better: true,
          },
        ],
      },
    ],
    guardrails: [],
    segments: [],
    judgeTrend: [],
    decision: { recommendation: 'continue', reasons: ['not enough data yet'] },
    warnings: [],
    badLines: { count: 0, samples: [] },
  };
}

describe('Report schema', () => {
  it('accepts a minimal report and survives a JSON round trip unchanged', () => {
    const parsed = Report.parse(minimalReport());
    expect(Report.parse(JSON.parse(JSON.stringify(parsed)))).toEqual(parsed);
  });

  it('health statuses: optional (reports written before them still parse), null SRM numbers when not computed', () => {
    const report = minimalReport() as { health: { srm: Record<string, unknown>; freshness: Record<string, unknown> } };
    report.health.srm = { ...report.health.srm, statistic: null, pValue: null, status: 'not_computed', reason: 'no exposed units' };
    report.health.freshness = { ageMinutes: null, stale: false, status: 'no_data' };
    expect(Report.parse(report).health.srm.status).toBe('not_computed');
    report.health.freshness = { lastEventTime: '2026-11-22T07:00:00.000Z', ageMinutes: 0, stale: false, status: 'future' };
    expect(Report.parse(report).health.freshness.status).toBe('future');
    report.health.freshness = { ageMinutes: 0, stale: false, status: 'fresh' };
    expect(() => Report.parse(report)).toThrow();
  });

  it('rejects another schema version', () => {
    const result = Report.safeParse({ ...minimalReport(), schemaVersion: 2 });
    expect(result.success).toBe(false);
  });

  it('rejects an unknown recommendation and an empty list of reasons', () => {
    expect(Report.safeParse({ ...minimalReport(), decision: { recommendation: 'celebrate', reasons: ['x'] } }).success).toBe(false);
    expect(Report.safeParse({ ...minimalReport(), decision: { recommendation: 'ship', reasons: [] } }).success).toBe(false);
  });

  it('rejects numbers carried as strings (BIGINT must be converted before it reaches the report)', () => {
    const report = minimalReport();
    (report.population as Record<string, unknown>).exposed = { control: '10', warm: 12 };
    expect(Report.safeParse(report).success).toBe(false);
  });

  it('rejects NaN where a number is expected: a missing value is null', () => {
    const metric = (minimalReport().comparisons as { metrics: unknown[] }[])[0]!.metrics[0] as Record<string, unknown>;
    expect(MetricResult.safeParse({ ...metric, pValue: Number.NaN }).success).toBe(false);
    expect(MetricResult.safeParse({ ...metric, pValue: null }).success).toBe(true);
  });

  it('a quantile result names its interval method: asymptotic or bootstrap', () => {
    const metric = (minimalReport().comparisons as { metrics: unknown[] }[])[0]!.metrics[0] as Record<string, unknown>;
    const p95 = { ...metric, name: 'latency_p95', kind: 'quantile' };
    expect(MetricResult.parse({ ...p95, interval: 'asymptotic' }).interval).toBe('asymptotic');
    expect(MetricResult.parse({ ...p95, interval: 'bootstrap' }).interval).toBe('bootstrap');
    expect(MetricResult.safeParse({ ...p95, interval: 'jackknife' }).success).toBe(false);
  });
});
