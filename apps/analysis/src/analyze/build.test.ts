import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Report, type MetricDefinition } from '@abtel/core';
import { buildReport } from './build.js';
import { renderReport } from '../report/render.js';
import type { ArmStatsInput, BuildReportInputs, GuardrailWindowsInput, ReportExperimentInput, SegmentInput } from './inputs.js';

/**
 * Reference values computed independently with scipy from the same sufficient statistics by
 * test/fixtures/build_expected.py (committed beside the JSON it writes).
 */
const expected = JSON.parse(readFileSync(new URL('../../test/fixtures/build-expected.json', import.meta.url), 'utf8')) as Record<string, any>;

const metrics: MetricDefinition[] = [
  { name: 'resolved', kind: 'binary', from: { outcome: 'resolved' }, direction: 'increase' },
  { name: 'csat', kind: 'mean', from: { outcome: 'csat' }, direction: 'increase', covariate: { outcome: 'prior_csat' } },
  { name: 'cost', kind: 'sum', from: { span_value: 'cost_usd' }, direction: 'decrease' },
  {
    name: 'latency_per_call',
    kind: 'ratio',
    from: { span_value: 'duration_ms' },
    direction: 'decrease',
    threshold: { value: 100 },
    consecutiveWindows: 3,
    action: 'rollback',
    windowMinutes: 60,
  },
];

const experiment: ReportExperimentInput = {
  key: 'support-persona',
  version: 2,
  state: 'running',
  unit: 'conversation',
  control: 'control',
  variations: [
    { key: 'control', weight: 1 },
    { key: 'warm', weight: 1 },
  ],
  metrics: { primary: 'resolved', guardrails: ['latency_per_call'], secondary: ['csat', 'cost'] },
  analysis: { alpha: 0.05 },
};

function arm(variation: string, fields: Partial<ArmStatsInput> & { n: number; sum: number; sumSquares: number }): ArmStatsInput {
  return { variation, units: fields.n, ...fields };
}

function metricStats(): Record<string, ArmStatsInput[]> {
  const [csatC, csatT] = expected.inputs.csat;
  const [costC, costT] = expected.inputs.cost;
  const [latC, latT] = expected.inputs.latency;
  const cov = (a: any) => ({ covariateSum: a.sumX, covariateSumSquares: a.sumXSquares, covariateCrossSum: a.sumXY });
  const ratioArm = (a: any) => ({ n: a.n, sum: a.sumY, sumSquares: a.sumYSquares, denomSum: a.sumN, denomSumSquares: a.sumNSquares, crossSum: a.sumYN });
  return {
    resolved: [arm('control', { n: 1000, sum: 400, sumSquares: 400 }), arm('warm', { n: 1000, sum: 450, sumSquares: 450 })],
    csat: [arm('control', { ...csatC, ...cov(csatC), units: 1000 }), arm('warm', { ...csatT, ...cov(csatT), units: 1000 })],
    cost: [arm('control', costC), arm('warm', costT)],
    latency_per_call: [arm('control', ratioArm(latC)), arm('warm', ratioArm(latT))],
  };
}

function inputs(overrides: Partial<BuildReportInputs> = {}): BuildReportInputs {
  return {
    experiment,
    metrics,
    generatedAt: '2026-11-20T12:00:00.000Z',
    population: {
      exposed: { control: 1000, warm: 1000 },
      duplicateExposures: 3,
      multipleExposureUnits: 0,
      firstExposure: '2026-11-20T00:00:00.000Z',
      lastExposure: '2026-11-20T11:50:00.000Z',
      timeline: [
        { bucket: '2026-11-20T00:00:00.000Z', variation: 'control', cumulative: 500 },
        { bucket: '2026-11-20T00:00:00.000Z', variation: 'warm', cumulative: 510 },
      ],
    },
    health: {
      assignmentMismatches: 0,
      assignmentChecked: 2000,
      exposuresWithoutCall: 0,
      outcomesWithoutExposure: 0,
      lastEventTime: '2026-11-20T11:55:00.000Z',
      badLines: 0,
    },
    metricStats: metricStats(),
    guardrails: [],
    segments: [],
    judgeTrend: [],
    badLines: [],
    ...overrides,
  };
}

const close = (actual: number | null | undefined, wanted: number, digits = 9): void => {
  expect(actual).not.toBeNull();
  expect(Math.abs((actual as number) - wanted)).toBeLessThanOrEqual(Math.abs(wanted) * 10 ** -digits + 1e-12);
};

describe('buildReport numbers against independent scipy references', () => {
  const report = Report.parse(buildReport(inputs()));
  const comparison = report.comparisons[0]!;
  const byName = (name: string) => comparison.metrics.find((metric) => metric.name === name)!;

  it('orders metrics primary, guardrails, secondary and names the comparison', () => {
    expect(comparison.variation).toBe('warm');
    expect(comparison.baseline).toBe('control');
    expect(comparison.metrics.map((metric) => [metric.name, metric.role])).toEqual([
      ['resolved', 'primary'],
      ['latency_per_call', 'guardrail'],
      ['csat', 'secondary'],
      ['cost', 'secondary'],
    ]);
  });

  it('binary primary: rates, Wald interval, pooled z p-value, delta-method relative interval, unadjusted', () => {
    const m = byName('resolved');
    const e = expected.resolved;
    close(m.baseline.value, e.baseline);
    close(m.variant.value, e.variant);
    close(m.absoluteDiff, e.diff);
    close(m.ci95[0], e.ci[0]);
    close(m.ci95[1], e.ci[1]);
    close(m.pValue, e.p);
    close(m.relativeLift, e.rel);
    close(m.relativeCi95[0], e.relCi[0]);
    close(m.relativeCi95[1], e.relCi[1]);
    expect(m.pAdjustedBH).toBeNull();
    expect(m.pAdjustedHolm).toBeNull();
    expect(m.significant).toBe(true);
    expect(m.better).toBe(true);
  });

  it('binary: Bayesian chance to beat and expected loss (numerical integration, 1e-6)', () => {
    const m = byName('resolved');
    close(m.bayes!.chanceToBeat, expected.bayes.chanceToBeat, 6);
    expect(Math.abs(m.bayes!.expectedLoss! - expected.bayes.expectedLossVariant)).toBeLessThan(1e-6);
  });

  it('mean: Welch t with Welch–Satterthwaite interval, and CUPED with pooled theta', () => {
    const m = byName('csat');
    close(m.absoluteDiff, expected.csat.diff);
    close(m.ci95[0], expected.csat.ci[0]);
    close(m.ci95[1], expected.csat.ci[1]);
    close(m.pValue, expected.csat.p, 7);
    expect(m.cuped?.covariate).toBe('prior_csat');
    close(m.cuped!.theta, expected.csatCuped.theta);
    close(m.cuped!.absoluteDiff, expected.csatCuped.diff);
    close(m.cuped!.ci95[0], expected.csatCuped.ci[0], 7);
    close(m.cuped!.ci95[1], expected.csatCuped.ci[1], 7);
    close(m.cuped!.pValue, expected.csatCuped.p, 6);
    expect(m.cuped!.varianceReduction!).toBeGreaterThan(0);
  });

  it('ratio: delta-method z over units', () => {
    const m = byName('latency_per_call');
    close(m.baseline.value, expected.latency.baseline);
    close(m.variant.value, expected.latency.variant);
    close(m.ci95[0], expected.latency.ci[0]);
    close(m.ci95[1], expected.latency.ci[1]);
    close(m.pValue, expected.latency.p, 7);
    expect(m.better).toBe(true); // lower latency is better
  });

  it('BH and Holm over the non-primary metrics only', () => {
    const order = ['latency_per_call', 'csat', 'cost'];
    order.forEach((name, i) => {
      close(byName(name).pAdjustedHolm, expected.holm[i], 7);
      close(byName(name).pAdjustedBH, expected.bh[i], 7);
    });
    expect(byName('cost').significant).toBe(false);
    expect(byName('csat').significant).toBe(true);
  });

  it('health: SRM statistic and p-value match scipy.stats.chisquare', () => {
    close(report.health.srm.statistic ?? 0, expected.srmBalanced.statistic);
    expect(report.health.srm.flagged).toBe(false);
    const skewed = buildReport(inputs({ population: { ...inputs().population, exposed: { control: 1000, warm: 1200 } } }));
    close(skewed.health.srm.statistic, expected.srmSkewed.statistic);
    close(skewed.health.srm.pValue, expected.srmSkewed.p, 7);
    expect(skewed.health.srm.flagged).toBe(true);
    expect(skewed.health.srm.expected).toEqual({ control: 1100, warm: 1100 });
  });

  it('judge trend: mean per window with a t interval (39 df)', () => {
    const withJudge = buildReport(
      inputs({ judgeTrend: [{ windowStart: '2026-11-20T10:00:00.000Z', variation: 'warm', name: 'helpfulness', n: 40, mean: 0.8, sd: 0.1 }] }),
    );
    const point = withJudge.judgeTrend[0]!;
    close(point.ci95![0], expected.judgeCi[0]);
    close(point.ci95![1], expected.judgeCi[1]);
    // One score in a window: no standard deviation and no interval (not an sd of 0).
    const single = buildReport(inputs({ judgeTrend: [{ windowStart: '2026-11-20T10:00:00.000Z', variation: 'warm', name: 'helpfulness', n: 1, mean: 4, sd: null }] }));
    expect(single.judgeTrend[0]).toEqual({ windowStart: '2026-11-20T10:00:00.000Z', variation: 'warm', name: 'helpfulness', n: 1, mean: 4, sd: null });
  });

  it('a relative guardrail threshold compares (variant − control) / control', () => {
    const relativeMetric: MetricDefinition = { ...metrics[3]!, threshold: { value: 0.1, relative: true }, consecutiveWindows: 1 };
    const window = (warm: number) => ({
      windowStart: '2026-11-20T00:00:00.000Z',
      stats: [
        arm('control', { n: 50, sum: 800 * 150, sumSquares: 0, denomSum: 150 }),
        arm('warm', { n: 50, sum: warm * 150, sumSquares: 0, denomSum: 150 }),
      ],
    });
    const over = buildReport(inputs({ metrics: [...metrics.slice(0, 3), relativeMetric], guardrails: [{ metric: 'latency_per_call', windowMinutes: 60, windows: [window(890)] }] }));
    close(over.guardrails[0]!.windows[0]!.compared, 90 / 800);
    expect(over.guardrails[0]!.windows[0]!.breached).toBe(true);
    const under = buildReport(inputs({ metrics: [...metrics.slice(0, 3), relativeMetric], guardrails: [{ metric: 'latency_per_call', windowMinutes: 60, windows: [window(870)] }] }));
    expect(under.guardrails[0]!.windows[0]!.breached).toBe(false);
  });

  it('is valid against the exported schema and JSON-serialisable without loss', () => {
    expect(Report.parse(JSON.parse(JSON.stringify(report)))).toEqual(report);
    expect(report.population.total).toBe(2000);
    expect(report.population.duplicateExposures).toBe(3);
  });
});

describe('decision rules', () => {
  it('ship: primary significant in the good direction, no guardrail action', () => {
    const report = buildReport(inputs());
    expect(report.decision.recommendation).toBe('ship');
    expect(report.decision.winner).toBe('warm');
    expect(report.decision.reasons[0]).toContain('resolved');
  });

  it('pause on a sample ratio mismatch, even with a significant primary', () => {
    const report = buildReport(inputs({ population: { ...inputs().population, exposed: { control: 1000, warm: 1200 } } }));
    expect(report.decision.recommendation).toBe('pause');
    expect(report.decision.reasons.join(' ')).toMatch(/sample ratio mismatch/);
  });

  it('pause on a telemetry gap: unreadable lines, stale data, an arm without exposures', () => {
    const bad = buildReport(inputs({ badLines: [{ file: 'traces.jsonl', line: 7, reason: 'invalid JSON' }], badLineCount: 1 }));
    expect(bad.decision.recommendation).toBe('pause');
    expect(bad.badLines).toEqual({ count: 1, samples: [{ file: 'traces.jsonl', line: 7, reason: 'invalid JSON' }] });
    const tolerated = buildReport(inputs({ badLines: [{ file: 'traces.jsonl', line: 7, reason: 'invalid JSON' }], options: { maxBadLines: 5 } }));
    expect(tolerated.decision.recommendation).toBe('ship');
    const stale = buildReport(inputs({ generatedAt: '2026-11-21T12:00:00.000Z' }));
    expect(stale.health.freshness.stale).toBe(true);
    expect(stale.decision.recommendation).toBe('pause');
    const empty = buildReport(inputs({ population: { ...inputs().population, exposed: { control: 1000, warm: 0 } } }));
    expect(empty.decision.recommendation).toBe('pause');
  });

  it('says which files were not read and why, grouped by reason, without changing the decision', () => {
    const reason = 'OTLP metrics (resourceMetrics) are not read by the analysis';
    const files = Array.from({ length: 7 }, (_, i) => ({ file: `m${i}/metrics.jsonl`, lines: 0, reason }));
    const report = buildReport(inputs({ skipped: [...files, { file: 'mixed.jsonl', lines: 3, reason }] }));
    expect(report.warnings.filter((warning) => warning.startsWith('not read:'))).toEqual([
      `not read: m0/metrics.jsonl, m1/metrics.jsonl, m2/metrics.jsonl, m3/metrics.jsonl, m4/metrics.jsonl and 3 more: ${reason}`,
    ]);
    const one = buildReport(inputs({ skipped: [{ file: 'mixed.jsonl', lines: 3, reason }] }));
    expect(one.warnings).toContain(`not read: mixed.jsonl (3 line(s)): ${reason}`);
    expect(one.decision.recommendation).toBe(buildReport(inputs()).decision.recommendation);
  });

  it('inconclusive when the planned end has passed without significance; continue before it', () => {
    const flat = { ...metricStats(), resolved: [arm('control', { n: 1000, sum: 400, sumSquares: 400 }), arm('warm', { n: 1000, sum: 410, sumSquares: 410 })] };
    const ended = buildReport(inputs({ metricStats: flat, experiment: { ...experiment, analysis: { alpha: 0.05, plannedEnd: '2026-11-20T00:00:00.000Z' } } }));
    expect(ended.decision.recommendation).toBe('inconclusive');
    const running = buildReport(inputs({ metricStats: flat }));
    expect(running.decision.recommendation).toBe('continue');
    expect(running.decision.reasons).toContainEqual(expect.stringMatching(/^primary metric resolved is not significant in warm \(p = 0\.\d+\)$/));
  });

  it('sequential: at information 0.5 of 4 equally spaced looks the O\'Brien–Fleming boundary is 2.9631', () => {
    const report = buildReport(
      inputs({ experiment: { ...experiment, analysis: { alpha: 0.05, looks: [0.25, 0.5, 0.75, 1], plannedUnits: 4000 } } }),
    );
    const primary = report.comparisons[0]!.metrics[0]!;
    expect(primary.sequential!.currentLook).toBe(2);
    expect(primary.sequential!.boundaryZ!).toBeCloseTo(2.9631, 3);
    close(primary.sequential!.z, expected.resolved.z);
    // z ≈ 2.26 < 2.96: not yet stoppable, so no ship despite p < 0.05
    expect(primary.sequential!.status).toBe('continue');
    close(primary.sequential!.alwaysValidCi95![0], expected.alwaysValid[0]);
    close(primary.sequential!.alwaysValidCi95![1], expected.alwaysValid[1]);
    expect(report.decision.recommendation).toBe('continue');
  });

  it('rollback when an objective guardrail breaches for its consecutive windows, at the right window', () => {
    const window = (start: string, warmLatency: number): { windowStart: string; stats: ArmStatsInput[] } => ({
      windowStart: start,
      stats: [
        arm('control', { n: 50, sum: 800 * 150, sumSquares: 0, denomSum: 150 }),
        arm('warm', { n: 50, sum: warmLatency * 150, sumSquares: 0, denomSum: 150 }),
      ],
    });
    const guardrails: GuardrailWindowsInput[] = [
      {
        metric: 'latency_per_call',
        windowMinutes: 60,
        windows: [
          window('2026-11-20T00:00:00.000Z', 820),
          window('2026-11-20T01:00:00.000Z', 950), // breach 1
          window('2026-11-20T02:00:00.000Z', 700), // reset
          window('2026-11-20T03:00:00.000Z', 950), // breach 1
          window('2026-11-20T04:00:00.000Z', 990), // breach 2
          window('2026-11-20T05:00:00.000Z', 1000), // breach 3 → rollback here
          window('2026-11-20T06:00:00.000Z', 1000),
        ],
      },
    ];
    const report = buildReport(inputs({ guardrails }));
    const guardrail = report.guardrails[0]!;
    expect(guardrail.windows.map((w) => w.streak)).toEqual([0, 1, 0, 1, 2, 3, 4]);
    expect(guardrail.alerts).toBe(5);
    expect(guardrail.actionTriggered).toBe(true);
    expect(guardrail.actionWindow).toBe('2026-11-20T05:00:00.000Z');
    expect(guardrail.windows[5]!.actionFired).toBe(true);
    expect(guardrail.windows[1]!.compared).toBeCloseTo(150, 9);
    expect(report.decision.recommendation).toBe('rollback');

    // Two in a row only: alerts, but no action, so the significant primary still ships.
    const short = { ...guardrails[0]!, windows: guardrails[0]!.windows.slice(0, 5) };
    const noAction = buildReport(inputs({ guardrails: [short] }));
    expect(noAction.guardrails[0]!.actionTriggered).toBe(false);
    expect(noAction.decision.recommendation).toBe('ship');
    expect(noAction.warnings.join(' ')).toMatch(/breached in 3 window/);
  });

  it('a judge-score guardrail asking for rollback pauses instead', () => {
    const judged: MetricDefinition = { ...metrics[3]!, name: 'helpfulness', kind: 'mean', from: { evaluation: 'helpfulness' }, direction: 'increase', threshold: { value: 0.1 }, consecutiveWindows: 1 };
    const windows: GuardrailWindowsInput = {
      metric: 'helpfulness',
      windowMinutes: 60,
      windows: [{ windowStart: '2026-11-20T00:00:00.000Z', stats: [arm('control', { n: 20, sum: 16, sumSquares: 13 }), arm('warm', { n: 20, sum: 12, sumSquares: 8 })] }],
    };
    const report = buildReport(inputs({ metrics: [...metrics, judged], guardrails: [windows] }));
    expect(report.guardrails[0]!.actionTriggered).toBe(true);
    expect(report.decision.recommendation).toBe('pause');
  });
});

describe('segments', () => {
  // locale=en: control is mostly en (low rate), warm mostly de (high rate): every segment says
  // warm is worse, the pooled rate says warm is better.
  const segment: SegmentInput = {
    segment: 'locale',
    mix: [
      { value: 'en', variation: 'control', units: 700 },
      { value: 'de', variation: 'control', units: 300 },
      { value: 'en', variation: 'warm', units: 300 },
      { value: 'de', variation: 'warm', units: 700 },
    ],
    stats: [
      { variation: 'control', segment: 'en', units: 700, n: 700, sum: 210, sumSquares: 210 },
      { variation: 'control', segment: 'de', units: 300, n: 300, sum: 210, sumSquares: 210 },
      { variation: 'warm', segment: 'en', units: 300, n: 300, sum: 75, sumSquares: 75 },
      { variation: 'warm', segment: 'de', units: 700, n: 700, sum: 455, sumSquares: 455 },
    ],
  };

  it('flags a Simpson reversal and the mix imbalance (chi-square matches scipy)', () => {
    const report = buildReport(inputs({ segments: [segment] }));
    const result = report.segments[0]!;
    expect(result.segment).toBe('locale');
    expect(result.simpson.flagged).toBe(true);
    expect(result.simpson.pooledDiff!).toBeCloseTo(0.53 - 0.42, 12);
    // A rate difference reads in percentage points, as in the tables.
    expect(result.simpson.note).toMatch(/^the pooled difference \(\+11 pp\) points the other way than every segment of locale/);
    expect(result.rows.map((row) => row.value)).toEqual(['de', 'en']);
    expect(result.rows.every((row) => (row.absoluteDiff ?? 0) < 0)).toBe(true);
    close(result.mix.statistic, expected.mix.statistic);
    expect(result.mix.flagged).toBe(true);
    expect(report.warnings.join(' ')).toMatch(/Simpson/);
  });

  it('a requested segment on no exposure: a warning naming it and the segments seen, in every format, and no all-(none) readout', async () => {
    const nosuch: SegmentInput = {
      segment: 'nosuch',
      mix: [
        { value: '(none)', variation: 'control', units: 1000 },
        { value: '(none)', variation: 'warm', units: 1000 },
      ],
      stats: [],
    };
    const report = Report.parse(buildReport(inputs({ segments: [nosuch, segment], segmentAttributesSeen: ['locale', 'plan'] })));
    expect(report.segments.map((result) => result.segment)).toEqual(['locale']);
    const warning = 'segment nosuch is on no exposure of support-persona (no abtel.segment.nosuch attribute), so it has no readout; segment attributes seen on exposures: locale, plan';
    expect(report.warnings).toContain(warning);
    for (const format of ['table', 'json', 'md', 'html'] as const) expect(await renderReport(report, format), format).toContain(format === 'json' ? JSON.stringify(warning) : warning);
    const none = buildReport(inputs({ segments: [nosuch], segmentAttributesSeen: [] }));
    expect(none.segments).toEqual([]);
    expect(none.warnings.join('\n')).toMatch(/segment nosuch is on no exposure .*; segment attributes seen on exposures: none$/m);
  });

  it('no flag when segments agree with the pooled direction', () => {
    const agreeing: SegmentInput = {
      ...segment,
      stats: segment.stats.map((row) => (row.variation === 'warm' ? { ...row, sum: row.segment === 'en' ? 120 : 500, sumSquares: 0 } : row)),
    };
    const report = buildReport(inputs({ segments: [agreeing] }));
    expect(report.segments[0]!.simpson.flagged).toBe(false);
  });
});

describe('health with no data, and with data newer than the readout time', () => {
  const emptyInputs = (): BuildReportInputs => {
    const { lastEventTime: _ignored, ...health } = inputs().health;
    const zero = (variation: string): ArmStatsInput => ({ variation, units: 0, n: 0, sum: 0, sumSquares: 0 });
    return inputs({
      population: { exposed: { control: 0, warm: 0 }, duplicateExposures: 0, multipleExposureUnits: 0, timeline: [] },
      health: { ...health, assignmentChecked: 0 },
      metricStats: Object.fromEntries(metrics.map((metric) => [metric.name, [zero('control'), zero('warm')]])),
    });
  };
  /** The row of a health check in the plain-text table, or in the HTML table. */
  const tableRow = (text: string, check: string): string => text.split('\n').find((line) => line.trimStart().startsWith(check))!;
  const htmlRow = (html: string, check: string): string => new RegExp(`<tr><td>${check}</td>.*?</tr>`).exec(html)![0];

  it('no exposures: SRM is not computed (not ok) and freshness says no data, in every format', async () => {
    const report = Report.parse(buildReport(emptyInputs()));
    expect(report.decision.recommendation).toBe('pause');
    expect(report.health.srm).toMatchObject({ statistic: null, pValue: null, flagged: false, status: 'not_computed', reason: 'no exposed units' });
    expect(report.health.freshness).toEqual({ ageMinutes: null, stale: false, status: 'no_data' });

    const table = await renderReport(report, 'table');
    expect(tableRow(table, 'sample ratio')).toMatch(/^ +sample ratio +not computed: no exposed units +not computed$/);
    expect(tableRow(table, 'freshness')).toMatch(/^ +freshness +no data +no data$/);
    const md = await renderReport(report, 'md');
    expect(md).toContain('SRM ⚠️ not computed: no exposed units');
    expect(md).toContain('newest event: ⚠️ no data');
    expect(md).not.toMatch(/SRM p /);
    const html = await renderReport(report, 'html');
    expect(htmlRow(html, 'sample ratio mismatch')).toContain('<span class="flag">not computed</span>');
    expect(htmlRow(html, 'newest event')).toBe('<tr><td>newest event</td><td class="text">no data</td><td class="text"><span class="flag">no data</span></td></tr>');
    const json = JSON.parse(await renderReport(report, 'json')) as Report;
    expect(json.health.srm.status).toBe('not_computed');
    expect(json.health.freshness.status).toBe('no_data');
  });

  it('a few units: the SRM test is shown but marked skipped, not ok', async () => {
    const report = buildReport(inputs({ population: { ...inputs().population, exposed: { control: 5, warm: 6 } } }));
    expect(report.health.srm).toMatchObject({ flagged: false, status: 'skipped', reason: 'fewer than 8 units in an arm' });
    expect(report.health.srm.pValue).not.toBeNull();
    expect(tableRow(await renderReport(report, 'table'), 'sample ratio')).toMatch(/chi2 .*\(fewer than 8 units in an arm\) +skipped$/);
  });

  it('the newest event after --now: flagged, age 0 and "in the future", never a negative age', async () => {
    // The readout is 325.6 days (468,874 minutes) before the newest event.
    const lastEventTime = '2026-11-20T11:55:00.000Z';
    const generatedAt = new Date(Date.parse(lastEventTime) - 468_874 * 60_000).toISOString();
    const report = Report.parse(buildReport(inputs({ generatedAt, health: { ...inputs().health, lastEventTime } })));
    expect(report.health.freshness).toEqual({ lastEventTime, ageMinutes: 0, stale: false, status: 'future' });
    expect(report.warnings).toContain(
      `the newest event (${lastEventTime}) is 326 days after the readout time ${generatedAt} (--now, default the current time); freshness is shown as 0 — pass a later --now, or check the clock of the machines that wrote the data`,
    );
    for (const format of ['table', 'md', 'html'] as const) {
      const text = await renderReport(report, format);
      expect(text, format).not.toMatch(/-468|−468/);
      expect(text, format).toContain('after the readout time');
    }
    const table = await renderReport(report, 'table');
    expect(tableRow(table, 'freshness')).toMatch(/\(0 min: after the readout time\) +in the future$/);
    expect(htmlRow(await renderReport(report, 'html'), 'newest event')).toContain('<span class="flag">in the future</span>');
    expect(await renderReport(report, 'md')).toContain(`newest event ${lastEventTime} ⚠️ after the readout time`);
  });

  it('ordinary data: ok, with its age', async () => {
    const report = buildReport(inputs());
    expect(report.health.srm.status).toBe('ok');
    expect(report.health.freshness).toEqual({ lastEventTime: '2026-11-20T11:55:00.000Z', ageMinutes: 5, stale: false, status: 'ok' });
    expect(tableRow(await renderReport(report, 'table'), 'freshness')).toMatch(/2026-11-20T11:55:00.000Z \(5 min ago\) +ok$/);
  });
});
