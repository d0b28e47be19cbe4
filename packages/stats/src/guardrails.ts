import { StatsError } from './errors.js';
import type { GuardrailAction, GuardrailAlert, GuardrailObservation, GuardrailReport, GuardrailThreshold } from './types.js';

function compareWindows(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Guardrail monitor over per-window, per-arm metric values. For each threshold and each watched arm,
 * windows are walked in order: a window whose value is `above`/`below` the threshold value is a
 * breach and raises an alert; the action fires once, on the window where the streak of consecutive
 * breaches reaches `consecutiveWindows`; a non-breached window resets the streak (so a later
 * persistent breach fires again). A window missing for an arm, or with a NaN value, is neither a
 * breach nor a reset.
 * Equal values do not breach.
 * @example
 * monitorGuardrails(
 *   [{ window: 1, arm: 'treatment', metric: 'error_rate', value: 0.07 }, { window: 2, arm: 'treatment', metric: 'error_rate', value: 0.08 }],
 *   [{ metric: 'error_rate', direction: 'above', value: 0.05, consecutiveWindows: 2, action: 'rollback' }],
 * ).actions; // one rollback at window 2
 */
export function monitorGuardrails(observations: readonly GuardrailObservation[], thresholds: readonly GuardrailThreshold[]): GuardrailReport {
  thresholds.forEach((threshold, index) => {
    if (!Number.isInteger(threshold.consecutiveWindows) || threshold.consecutiveWindows < 1) {
      throw new StatsError(`thresholds[${index}].consecutiveWindows must be an integer ≥ 1 (got ${threshold.consecutiveWindows})`);
    }
    if (threshold.direction !== 'above' && threshold.direction !== 'below') {
      throw new StatsError(`thresholds[${index}].direction must be "above" or "below" (got "${String(threshold.direction)}")`);
    }
    if (!Number.isFinite(threshold.value)) throw new StatsError(`thresholds[${index}].value must be a finite number (got ${threshold.value})`);
  });
  const ordered = [...observations].sort((a, b) => compareWindows(a.window, b.window) || (a.arm < b.arm ? -1 : a.arm > b.arm ? 1 : 0));
  const alerts: GuardrailAlert[] = [];
  const actions: GuardrailAction[] = [];
  for (const threshold of thresholds) {
    const streaks = new Map<string, number>();
    for (const observation of ordered) {
      if (observation.metric !== threshold.metric) continue;
      if (threshold.arms !== undefined && !threshold.arms.includes(observation.arm)) continue;
      // NaN (no data in the window) is neither a breach nor evidence against one.
      if (Number.isNaN(observation.value)) continue;
      const breached = threshold.direction === 'above' ? observation.value > threshold.value : observation.value < threshold.value;
      if (!breached) {
        streaks.set(observation.arm, 0);
        continue;
      }
      const streak = (streaks.get(observation.arm) ?? 0) + 1;
      streaks.set(observation.arm, streak);
      const alert: GuardrailAlert = { window: observation.window, arm: observation.arm, metric: observation.metric, value: observation.value, threshold, streak };
      alerts.push(alert);
      if (streak === threshold.consecutiveWindows) actions.push({ ...alert, action: threshold.action });
    }
  }
  return { alerts, actions };
}
