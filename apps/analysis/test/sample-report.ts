/**
 * A report with every section filled (two variations, all metric kinds, guardrail windows with a
 * fired action, a segment with a Simpson reversal, a judge trend, bad lines), built by the real
 * `buildReport` from hand-made sufficient statistics. Used by the renderer tests.
 */
import type { MetricDefinition, Report } from '@abtel/core';
import { buildReport } from '../src/analyze/build.js';
import type { ArmStatsInput, BuildReportInputs } from '../src/analyze/inputs.js';

const metrics: MetricDefinition[] = [
  { name: 'resolved', kind: 'binary', from: { outcome: 'resolved' }, direction: 'increase' },
  { name: 'csat', kind: 'mean', from: { outcome: 'csat' }, direction: 'increase' },
  {
    name: 'error_rate',
    kind: 'ratio',
    from: { span_value: 'error' },
    direction: 'decrease',
    threshold: { value: 0.02 },
    consecutiveWindows: 2,
    action: 'rollback',
    windowMinutes: 60,
  },
];

function meanArm(variation: string, n: number, mean: number, sd: number): ArmStatsInput {
  return { variation, units: n, n, sum: n * mean, sumSquares: (n - 1) * sd * sd + n * mean * mean };
}

function errorArm(variation: string, units: number, calls: number, errors: number): ArmStatsInput {
  // Each unit makes calls/units calls; errors spread one per unit.
  const per = calls / units;
  return { variation, units, n: units, sum: errors, sumSquares: errors, denomSum: calls, denomSumSquares: units * per * per, crossSum: errors * per };
}

/** Inputs of the sample report; `hours` windows of guardrail data, the last `breachHours` breached by `treatment_b`. */
export function sampleInputs(): BuildReportInputs {
  const hours = Array.from({ length: 6 }, (_, i) => new Date(Date.UTC(2026, 10, 20, i)).toISOString());
  const arms = ['control', 'treatment_a', 'treatment_b'];
  return {
    experiment: {
      key: 'support-persona',
      version: 3,
      description: 'Warm vs concise persona',
      state: 'running',
      unit: 'conversation',
      control: 'control',
      variations: arms.map((key) => ({ key, weight: 1 })),
      segments: ['locale'],
      metrics: { primary: 'resolved', guardrails: ['error_rate'], secondary: ['csat'] },
      analysis: { alpha: 0.05 },
    },
    metrics,
    generatedAt: '2026-11-20T06:10:00.000Z',
    population: {
      exposed: { control: 1000, treatment_a: 1010, treatment_b: 990 },
      duplicateExposures: 12,
      multipleExposureUnits: 2,
      firstExposure: hours[0],
      lastExposure: '2026-11-20T05:59:00.000Z',
      timeline: hours.flatMap((bucket, i) => arms.map((variation, k) => ({ bucket, variation, cumulative: Math.round(((i + 1) * (1000 + 10 * k)) / 6) }))),
    },
    health: { assignmentMismatches: 0, assignmentChecked: 3000, exposuresWithoutCall: 4, outcomesWithoutExposure: 1, lastEventTime: '2026-11-20T06:05:00.000Z', badLines: 2 },
    metricStats: {
      resolved: [
        { variation: 'control', units: 1000, n: 1000, sum: 400, sumSquares: 400 },
        { variation: 'treatment_a', units: 1010, n: 1010, sum: 470, sumSquares: 470 },
        { variation: 'treatment_b', units: 990, n: 990, sum: 380, sumSquares: 380 },
      ],
      csat: [meanArm('control', 700, 3.9, 1.1), meanArm('treatment_a', 720, 4.1, 1.0), meanArm('treatment_b', 690, 3.8, 1.2)],
      error_rate: [errorArm('control', 1000, 3000, 60), errorArm('treatment_a', 1010, 3030, 58), errorArm('treatment_b', 990, 2970, 150)],
    },
    guardrails: [
      {
        metric: 'error_rate',
        windowMinutes: 60,
        windows: hours.map((windowStart, i) => ({
          windowStart,
          stats: [errorArm('control', 160, 500, 10), errorArm('treatment_a', 160, 500, 9), errorArm('treatment_b', 160, 500, i >= 3 ? 40 : 11)],
        })),
      },
    ],
    segments: [
      {
        segment: 'locale',
        mix: [
          { value: 'en', variation: 'control', units: 700 },
          { value: 'de', variation: 'control', units: 300 },
          { value: 'en', variation: 'treatment_a', units: 300 },
          { value: 'de', variation: 'treatment_a', units: 710 },
          { value: 'en', variation: 'treatment_b', units: 500 },
          { value: 'de', variation: 'treatment_b', units: 490 },
        ],
        stats: [
          { variation: 'control', segment: 'en', units: 700, n: 700, sum: 210, sumSquares: 210 },
          { variation: 'control', segment: 'de', units: 300, n: 300, sum: 210, sumSquares: 210 },
          { variation: 'treatment_a', segment: 'en', units: 300, n: 300, sum: 75, sumSquares: 75 },
          { variation: 'treatment_a', segment: 'de', units: 710, n: 710, sum: 460, sumSquares: 460 },
          { variation: 'treatment_b', segment: 'en', units: 500, n: 500, sum: 150, sumSquares: 150 },
          { variation: 'treatment_b', segment: 'de', units: 490, n: 490, sum: 330, sumSquares: 330 },
        ],
      },
    ],
    judgeTrend: hours.flatMap((windowStart, i) =>
      arms.map((variation, k) => ({ windowStart, variation, name: 'helpfulness', n: 40, mean: 0.7 + 0.03 * k + 0.01 * i, sd: 0.12 })),
    ),
    badLines: [
      { file: 'traces-2026-11-20.jsonl', line: 17, reason: 'invalid JSON (torn line)' },
      { file: 'logs-2026-11-20.jsonl.gz', line: 3, reason: 'not an OTLP LogsData object' },
    ],
    badLineCount: 2,
  };
}

/** The sample report. */
export function sampleReport(): Report {
  return buildReport(sampleInputs());
}
