import { describe, expect, test } from 'vitest';
import { monitorGuardrails } from './guardrails.js';
import type { GuardrailObservation, GuardrailThreshold } from './types.js';

const threshold: GuardrailThreshold = { metric: 'error_rate', direction: 'above', value: 0.05, consecutiveWindows: 3, action: 'rollback' };
const series = (arm: string, values: number[]): GuardrailObservation[] => values.map((value, window) => ({ window, arm, metric: 'error_rate', value }));

describe('guardrail monitor', () => {
  test('alerts on each breach, acts only when the streak reaches the count, resets on a non-breach', () => {
    // windows:          0     1     2     3     4     5     6
    const values = [0.06, 0.07, 0.04, 0.06, 0.08, 0.09, 0.10];
    const report = monitorGuardrails(series('treatment', values), [threshold]);
    expect(report.alerts.map((a) => [a.window, a.streak])).toEqual([[0, 1], [1, 2], [3, 1], [4, 2], [5, 3], [6, 4]]);
    expect(report.actions).toHaveLength(1);
    expect(report.actions[0]).toMatchObject({ window: 5, arm: 'treatment', action: 'rollback', streak: 3 });
  });

  test('streaks are per arm, windows are ordered, equal values do not breach, below works', () => {
    const observations = [...series('b', [0.06, 0.06, 0.06]), ...series('a', [0.05, 0.06, 0.06])].reverse();
    const report = monitorGuardrails(observations, [threshold, { metric: 'judge_score', direction: 'below', value: 3, consecutiveWindows: 1, action: 'review' }]);
    expect(report.actions.map((a) => a.arm)).toEqual(['b']);
    expect(report.alerts.filter((a) => a.arm === 'a')).toHaveLength(2);
    const scores = monitorGuardrails([{ window: '2026-11-22T10:00Z', arm: 'a', metric: 'judge_score', value: 2.5 }], [
      { metric: 'judge_score', direction: 'below', value: 3, consecutiveWindows: 1, action: 'review' },
    ]);
    expect(scores.actions[0]?.action).toBe('review');
  });

  test('arms filter and bad thresholds', () => {
    const report = monitorGuardrails([...series('control', [1, 1, 1]), ...series('treatment', [1, 1, 1])], [{ ...threshold, arms: ['treatment'] }]);
    expect(new Set(report.alerts.map((a) => a.arm))).toEqual(new Set(['treatment']));
    expect(() => monitorGuardrails([], [{ ...threshold, consecutiveWindows: 0 }])).toThrow(/consecutiveWindows must be an integer ≥ 1/);
  });
});

describe('guardrail monitor gaps', () => {
  test('a NaN window neither breaks nor extends a streak', () => {
    const report = monitorGuardrails(series('treatment', [0.06, Number.NaN, 0.06, 0.06]), [threshold]);
    expect(report.alerts.map((a) => a.streak)).toEqual([1, 2, 3]);
    expect(report.actions.map((a) => a.window)).toEqual([3]);
  });
});
