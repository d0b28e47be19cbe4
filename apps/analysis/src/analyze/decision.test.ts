import { describe, expect, it } from 'vitest';
import type { MetricDefinition } from '@abtel/core';
import { buildReport } from './build.js';
import type { ArmStatsInput, BuildReportInputs } from './inputs.js';

const metrics: MetricDefinition[] = [
  { name: 'resolved', kind: 'binary', from: { outcome: 'resolved' }, direction: 'increase' },
  { name: 'cost', kind: 'mean', from: { span_value: 'cost_usd' }, direction: 'decrease', threshold: { value: 0.01 }, consecutiveWindows: 1, action: 'review' },
];

const binary = (variation: string, n: number, successes: number): ArmStatsInput => ({ variation, units: n, n, sum: successes, sumSquares: successes });

function inputs(resolved: ArmStatsInput[], overrides: Partial<BuildReportInputs> = {}): BuildReportInputs {
  const exposed = Object.fromEntries(resolved.map((arm) => [arm.variation, arm.units]));
  return {
    experiment: {
      key: 'three-arms',
      version: 1,
      state: 'running',
      unit: 'conversation',
      control: 'a',
      variations: resolved.map((arm) => ({ key: arm.variation, weight: 1 })),
      metrics: { primary: 'resolved', guardrails: ['cost'] },
    },
    metrics,
    generatedAt: '2026-11-20T12:00:00.000Z',
    population: { exposed, duplicateExposures: 0, multipleExposureUnits: 0, timeline: [] },
    health: { assignmentMismatches: 0, assignmentChecked: 0, exposuresWithoutCall: 0, outcomesWithoutExposure: 0, lastEventTime: '2026-11-20T11:59:00.000Z', badLines: 0 },
    metricStats: { resolved },
    guardrails: [],
    segments: [],
    judgeTrend: [],
    badLines: [],
    ...overrides,
  };
}

describe('decision with several variations', () => {
  it('ships the variation with the largest significant improvement', () => {
    const report = buildReport(inputs([binary('a', 2000, 600), binary('b', 2000, 690), binary('c', 2000, 760)]));
    expect(report.comparisons.map((c) => c.variation)).toEqual(['b', 'c']);
    expect(report.decision.recommendation).toBe('ship');
    expect(report.decision.winner).toBe('c');
    expect(report.decision.reasons).toHaveLength(2);
  });

  it('never ships a variation that is significantly worse', () => {
    const report = buildReport(inputs([binary('a', 2000, 700), binary('b', 2000, 600)]));
    expect(report.comparisons[0]!.metrics[0]!.better).toBe(false);
    expect(report.decision.recommendation).toBe('continue');
    expect(report.decision.reasons.join(' ')).toMatch(/significantly worse/);
  });

  it('a review action blocks shipping that variation but does not pause', () => {
    const cost = (variation: string, mean: number): ArmStatsInput => ({ variation, units: 100, n: 100, sum: 100 * mean, sumSquares: 100 * mean * mean + 99 * 0.0001 });
    const report = buildReport(
      inputs([binary('a', 2000, 600), binary('b', 2000, 700)], {
        metricStats: { resolved: [binary('a', 2000, 600), binary('b', 2000, 700)], cost: [cost('a', 0.02), cost('b', 0.04)] },
        guardrails: [{ metric: 'cost', windowMinutes: 60, windows: [{ windowStart: '2026-11-20T10:00:00.000Z', stats: [cost('a', 0.02), cost('b', 0.04)] }] }],
      }),
    );
    expect(report.guardrails[0]!.actionTriggered).toBe(true);
    expect(report.guardrails[0]!.action).toBe('review');
    expect(report.decision.recommendation).toBe('continue');
    expect(report.decision.reasons.join(' ')).toMatch(/action review/);
  });

  it('no exposures at all is a telemetry gap', () => {
    const report = buildReport(inputs([binary('a', 0, 0), binary('b', 0, 0)]));
    expect(report.decision.recommendation).toBe('pause');
    expect(report.decision.reasons.join(' ')).toMatch(/no exposures/);
    expect(report.comparisons[0]!.metrics[0]!.note).toBe('an arm has no units');
  });

  it('a metric whose data the test rejects gets a note; the rest of the report stands', () => {
    // a "binary" outcome reported with values above 1: more successes than units
    const report = buildReport(inputs([binary('a', 100, 130), binary('b', 100, 40)]));
    const primary = report.comparisons[0]!.metrics[0]!;
    expect(primary.pValue).toBeNull();
    expect(primary.note).toMatch(/^not computed: /);
    expect(primary.bayes).toBeUndefined();
    expect(report.decision.recommendation).toBe('continue');
  });

  it('the reason prints p with enough digits to read correctly against alpha', () => {
    // 101 vs 129 of 1000: pooled z = 0.028 / √(0.115·0.885·2/1000) = 1.963, p = 0.0497, which two digits round to 0.05.
    const report = buildReport(inputs([binary('a', 1000, 101), binary('b', 1000, 129)]));
    const primary = report.comparisons[0]!.metrics[0]!;
    expect(primary.pValue!).toBeGreaterThan(0.0495);
    expect(primary.pValue!).toBeLessThan(0.05);
    expect(report.decision.recommendation).toBe('ship');
    expect(report.decision.reasons[0]).toContain('p = 0.0497 < alpha 0.05');
    expect(report.decision.reasons[0]).not.toContain('p = 0.05 ');
  });
});
