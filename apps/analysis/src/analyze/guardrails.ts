/**
 * Guardrails over time windows: per window and variation, the difference variant − control of the
 * guardrail metric is checked against the registered threshold; the @abtel/stats monitor turns
 * the breaches into alerts and, when a breach persists for `consecutiveWindows` windows, an action.
 */
import type { GuardrailResult, GuardrailWindow, MetricDefinition } from '@abtel/core';
import type { ArmStatsInput, GuardrailWindowsInput } from './inputs.js';
import { monitorGuardrails, type GuardrailObservation, type GuardrailThreshold } from './inference.js';
import { armValue, finite } from './metrics.js';

/**
 * Defaults for a guardrail metric that does not say.
 * @example
 * const minutes = metric.windowMinutes ?? GUARDRAIL_DEFAULTS.windowMinutes;
 */
export const GUARDRAIL_DEFAULTS = { windowMinutes: 60, consecutiveWindows: 1, action: 'review' } as const;

/**
 * True for guardrails measured from telemetry (errors, latency, cost, outcomes), false for judge scores.
 * @example
 * isObjective({ name: 'helpfulness', kind: 'mean', from: { evaluation: 'helpfulness' }, direction: 'increase' }); // false
 */
export function isObjective(metric: MetricDefinition): boolean {
  return !('evaluation' in metric.from);
}

/**
 * Evaluates one guardrail metric for every non-control variation.
 *
 * The threshold is the tolerated worsening of variant − control, in the metric's bad direction:
 * for `direction: decrease` (lower is better) a window breaches when the difference is above
 * `|threshold.value|`; for `increase` when it is below `-|threshold.value|`. With
 * `threshold.relative` the difference is divided by the control value first.
 * @example
 * const results = evaluateGuardrail(errorRate, windows, 'control', ['warm']);
 */
export function evaluateGuardrail(
  metric: MetricDefinition,
  input: GuardrailWindowsInput,
  control: string,
  variations: readonly string[],
): GuardrailResult[] {
  if (!metric.threshold) return [];
  const tolerance = Math.abs(metric.threshold.value);
  const relative = metric.threshold.relative ?? false;
  const consecutiveWindows = metric.consecutiveWindows ?? GUARDRAIL_DEFAULTS.consecutiveWindows;
  const action = metric.action ?? GUARDRAIL_DEFAULTS.action;
  const worseIsHigher = metric.direction === 'decrease';
  const windows = [...input.windows].sort((a, b) => a.windowStart.localeCompare(b.windowStart));

  const rows: { variation: string; windowStart: string; baseline: ArmStatsInput | undefined; variant: ArmStatsInput | undefined; compared: number | null }[] = [];
  const observations: GuardrailObservation[] = [];
  for (const variation of variations) {
    for (const window of windows) {
      const baseline = window.stats.find((arm) => arm.variation === control);
      const variant = window.stats.find((arm) => arm.variation === variation);
      const b = armValue(metric, baseline);
      const v = armValue(metric, variant);
      let compared: number | null = b === null || v === null ? null : v - b;
      if (compared !== null && relative) compared = b ? finite(compared / b) : null;
      rows.push({ variation, windowStart: window.windowStart, baseline, variant, compared });
      // A window without data in an arm is no evidence of harm: NaN never breaches, so it ends a
      // streak rather than silently bridging two breaches.
      observations.push({ window: window.windowStart, arm: variation, metric: metric.name, value: compared ?? Number.NaN });
    }
  }
  const threshold: GuardrailThreshold = {
    metric: metric.name,
    direction: worseIsHigher ? 'above' : 'below',
    value: worseIsHigher ? tolerance : -tolerance,
    consecutiveWindows,
    action,
    arms: variations,
  };
  const monitored = monitorGuardrails(observations, [threshold]);

  return variations.map((variation) => {
    const alerts = monitored.alerts.filter((alert) => alert.arm === variation && alert.metric === metric.name);
    const actions = monitored.actions.filter((fired) => fired.arm === variation && fired.metric === metric.name);
    const windowRows: GuardrailWindow[] = rows
      .filter((row) => row.variation === variation)
      .map((row) => {
        const alert = alerts.find((candidate) => String(candidate.window) === row.windowStart);
        const fired = actions.some((candidate) => String(candidate.window) === row.windowStart);
        const entry: GuardrailWindow = {
          windowStart: row.windowStart,
          baseline: { n: row.baseline?.n ?? 0, units: row.baseline?.units ?? 0, value: armValue(metric, row.baseline) },
          variant: { n: row.variant?.n ?? 0, units: row.variant?.units ?? 0, value: armValue(metric, row.variant) },
          compared: row.compared,
          breached: alert !== undefined,
          streak: alert?.streak ?? 0,
        };
        if (fired) entry.actionFired = true;
        return entry;
      });
    const last = windowRows.at(-1);
    const result: GuardrailResult = {
      metric: metric.name,
      variation,
      baseline: control,
      direction: metric.direction,
      threshold: { value: metric.threshold!.value, relative },
      consecutiveWindows,
      action,
      windowMinutes: input.windowMinutes,
      windows: windowRows,
      alerts: alerts.length,
      actionTriggered: actions.length > 0,
      ongoing: last !== undefined && last.streak >= consecutiveWindows,
    };
    const first = actions[0];
    if (first) result.actionWindow = String(first.window);
    return result;
  });
}
