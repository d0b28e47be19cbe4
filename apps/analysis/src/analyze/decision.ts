/**
 * The decision rules. They run over a finished report (everything but the decision) so that the
 * recommendation can be re-derived from a saved JSON report and explained line by line.
 *
 * In order, the first rule that holds wins:
 * 1. rollback — an objective guardrail (not a judge score) breached for its registered number of
 *    consecutive windows and registered `action: rollback`.
 * 2. pause — a guardrail with `action: pause` fired (or a judge-score guardrail asked for
 *    rollback: a sampled judge is evidence for a human to review, not for an automatic rollback);
 *    a telemetry gap (unreadable lines, an arm without exposures, stale data, failing
 *    multiple-exposure share, assignment mismatches, an objective guardrail without data in an
 *    arm with exposures); or a sample ratio mismatch.
 * 3. ship — the primary metric is significant in its good direction for a variation (at the
 *    sequential boundary of the current look when looks and planned units are registered,
 *    otherwise at alpha), no guardrail action fired for it, and every judge-score guardrail has
 *    scores in both arms.
 * 4. inconclusive — the planned end (analysis.plannedEnd or analysis.plannedUnits) is reached
 *    without a significant primary result.
 * 5. continue — otherwise.
 */
import { readsCalls, type MetricDefinition, type Recommendation, type Report } from '@abtel/core';
import type { ReportExperimentInput } from './inputs.js';
import { isObjective } from './guardrails.js';
import { isNotMeasured, isTooSmallForTest, MIN_BINARY_EVENTS, NOT_MEASURED_NOTE } from './metrics.js';
import { formatDiff, formatInterval, formatMetricValue, formatPText } from '../report/format.js';
import { SRM_THRESHOLD } from '@abtel/stats';

/** The report without its decision: what the rules look at. */
export type UndecidedReport = Omit<Report, 'decision'>;

/** Recommendation, reasons and the variation to ship. */
export interface Decision {
  recommendation: Recommendation;
  reasons: string[];
  winner?: string;
}

/**
 * Applies the decision rules.
 * @example
 * const decision = decide(reportWithoutDecision, experiment, metrics, { maxBadLines: 0 });
 * console.log(decision.recommendation, decision.reasons.join('; '));
 */
export function decide(
  report: UndecidedReport,
  experiment: ReportExperimentInput,
  metrics: readonly MetricDefinition[],
  options: { maxBadLines?: number } = {},
): Decision {
  const byName = new Map(metrics.map((metric) => [metric.name, metric]));

  const rollback: string[] = [];
  const pause: string[] = [];
  const review: string[] = [];
  for (const guardrail of report.guardrails) {
    if (!guardrail.actionTriggered) continue;
    const metric = byName.get(guardrail.metric);
    const objective = metric ? isObjective(metric) : true;
    const what = `guardrail ${guardrail.metric} breached for ${guardrail.consecutiveWindows} consecutive ${guardrail.windowMinutes}-minute window(s) in ${guardrail.variation} (first action at ${guardrail.actionWindow ?? '?'})`;
    if (guardrail.action === 'rollback' && objective) rollback.push(`${what}: action rollback`);
    else if (guardrail.action === 'rollback') pause.push(`${what}: rollback requested by a judge-score guardrail, paused for review`);
    else if (guardrail.action === 'pause') pause.push(`${what}: action pause`);
    else review.push(`${what}: action review`);
  }
  if (rollback.length > 0) return { recommendation: 'rollback', reasons: rollback };

  const health = report.health;
  if (health.srm.flagged) {
    pause.push(
      `sample ratio mismatch: chi-square ${fmt(health.srm.statistic)}, p = ${formatPText(health.srm.pValue, SRM_THRESHOLD)} < ${SRM_THRESHOLD} (exposed ${describeCounts(report.population.exposed)} vs planned weights); find the cause before reading any metric`,
    );
  }
  if (health.badLines > (options.maxBadLines ?? 0)) {
    pause.push(`telemetry gap: ${report.badLines.count} unreadable input line(s) (see badLines); fix or remove them, then re-run`);
  }
  const emptyArms = Object.entries(report.population.exposed).filter(([, n]) => n === 0).map(([key]) => key);
  const files = report.data?.files;
  if (report.population.total === 0 && files !== undefined && files.raw + files.parquet === 0) {
    // A mistyped --data path reads like a telemetry gap unless it says that nothing was read.
    pause.push(
      `telemetry gap: no telemetry files were found in ${report.data!.inputs.join(', ')} (no OTLP JSON Lines, JSON or compacted Parquet files); ` +
        "check --data: it takes the collector's directory (or files or globs in it)",
    );
  } else if (report.population.total === 0) {
    pause.push('telemetry gap: no exposures found for this experiment in the data');
  } else if (emptyArms.length > 0) {
    pause.push(`telemetry gap: no exposures in ${emptyArms.join(', ')}`);
  }
  if (health.freshness.stale) {
    pause.push(`telemetry gap: the newest event is ${fmt(health.freshness.ageMinutes)} minutes old (${health.freshness.lastEventTime ?? 'none'})`);
  }
  if (health.multipleExposures.flagged) {
    pause.push(`${health.multipleExposures.units} unit(s) were exposed to more than one variation (${fmtPct(health.multipleExposures.share)})`);
  }
  if (health.assignment.flagged) {
    pause.push(`${health.assignment.mismatches} of ${health.assignment.checked} unit(s) are in a variation the definition does not assign them to`);
  }
  const unmeasured = unmeasuredGuardrails(report, experiment, byName);
  pause.push(...unmeasured.gaps);
  if (pause.length > 0) return { recommendation: 'pause', reasons: pause };

  const primary = experiment.metrics?.primary;
  const winners: { variation: string; lift: number; reason: string }[] = [];
  const heldBack: string[] = [];
  const notSignificant: string[] = [];
  for (const comparison of report.comparisons) {
    const result = comparison.metrics.find((metric) => metric.role === 'primary');
    if (!result) continue;
    const actionFired = report.guardrails.some((g) => g.variation === comparison.variation && g.actionTriggered);
    const waitingForScores = unmeasured.waiting.filter((reason) => reason.variation === comparison.variation);
    const sequential = result.sequential;
    // A binary result too small for its z-test is no evidence either way, at a sequential look too.
    const tooSmall = isTooSmallForTest(result);
    const significant = !tooSmall && (sequential ? sequential.status === 'efficacy' : result.significant);
    const how = sequential
      ? `|z| = ${fmt(abs(sequential.z))} ≥ boundary ${fmt(sequential.boundaryZ)} at look ${sequential.currentLook} of ${sequential.looks.length}`
      : `p = ${formatPText(result.pValue, report.experiment.alpha)} < alpha ${report.experiment.alpha}`;
    if (significant && result.better === true && waitingForScores.length > 0) {
      const held = waitingForScores.map((waiting) => `primary metric ${result.name} is better in ${comparison.variation}, but ${waiting.reason}`);
      notSignificant.push(...held);
      heldBack.push(...held);
    } else if (significant && result.better === true && !actionFired) {
      winners.push({
        variation: comparison.variation,
        lift: Math.abs(result.absoluteDiff ?? 0),
        reason: `primary metric ${result.name} is better in ${comparison.variation} than ${comparison.baseline}: ${formatMetricValue(result, result.variant.value)} vs ${formatMetricValue(result, result.baseline.value)}, ${formatDiff(result, result.absoluteDiff)} (95% CI ${formatInterval(result, result.ci95)}), ${how}; no guardrail action`,
      });
    } else if (significant && result.better === false) {
      notSignificant.push(`primary metric ${result.name} is significantly worse in ${comparison.variation} (${how})`);
    } else if (significant && actionFired) {
      notSignificant.push(`primary metric ${result.name} is better in ${comparison.variation}, but a guardrail action fired for it`);
    } else if (tooSmall) {
      notSignificant.push(`primary metric ${result.name} has too few events in ${comparison.variation} or ${comparison.baseline} to test yet (${MIN_BINARY_EVENTS} successes and ${MIN_BINARY_EVENTS} failures per arm)`);
    } else if (result.note === NOT_MEASURED_NOTE) {
      notSignificant.push(`primary metric ${result.name} is not measured in ${comparison.variation}: none of the exposed units has a gen_ai call in the data read; include the traces`);
    } else if (isNotMeasured(result)) {
      notSignificant.push(`primary metric ${result.name} is ${result.note}`);
    } else if (sequential?.status === 'before_first_look') {
      // Reading p before the first registered look is the peeking the looks exist to prevent.
      notSignificant.push(
        `primary metric ${result.name} in ${comparison.variation}: the first planned look (at ${fmtPct(sequential.looks[0] ?? null)} of ${experiment.analysis?.plannedUnits ?? '?'} planned units) is not reached yet ` +
          `(${report.population.total} exposed, ${fmtPct(sequential.informationFraction)}); the result is read at the looks only`,
      );
    } else if (sequential?.status === 'continue' && !significant) {
      notSignificant.push(
        `primary metric ${result.name} does not cross the boundary in ${comparison.variation}: |z| = ${fmt(abs(sequential.z))} < ${fmt(sequential.boundaryZ)} at look ${sequential.currentLook} of ${sequential.looks.length}`,
      );
    } else {
      notSignificant.push(`primary metric ${result.name} is not significant in ${comparison.variation} (p = ${formatPText(result.pValue, report.experiment.alpha)})`);
    }
  }
  if (winners.length > 0) {
    winners.sort((a, b) => b.lift - a.lift);
    const best = winners[0]!;
    // A variation held back for missing guardrail data may have the larger lift: say so beside the ship.
    return { recommendation: 'ship', reasons: [...winners.map((w) => w.reason), ...heldBack, ...review], winner: best.variation };
  }
  if (!primary) notSignificant.unshift('the experiment registers no primary metric (metrics.primary)');

  const end = plannedEndReached(report, experiment);
  if (end) return { recommendation: 'inconclusive', reasons: [end, ...notSignificant, ...review] };
  const reasons = [...review, ...notSignificant];
  if (reasons.length === 0) reasons.push('no rule fired yet: keep collecting data');
  return { recommendation: 'continue', reasons };
}

/**
 * Guardrails that have no data in an arm with exposed units: a guardrail never measured cannot
 * stop a harmful variation, so it must not let one ship. One read from the calls (latency, cost,
 * errors) without data is a telemetry gap, typically the traces missing from the data read, or an
 * arm whose service is not traced: pause. One read from outcomes or judge scores may simply have
 * none yet (a feedback outcome, a sampled judge): shipping the variations compared with that arm
 * waits for them. A registered guardrail without any statistics counts as unmeasured too.
 */
function unmeasuredGuardrails(
  report: UndecidedReport,
  experiment: ReportExperimentInput,
  byName: ReadonlyMap<string, MetricDefinition>,
): { gaps: string[]; waiting: { variation: string; reason: string }[] } {
  const gaps: string[] = [];
  const waiting: { variation: string; reason: string }[] = [];
  const exposed = report.population.exposed;
  const reported = new Set<string>();
  const unmeasuredWithoutCalls = new Set<string>();
  const registered = [...new Set(experiment.metrics?.guardrails ?? [])];
  for (const comparison of report.comparisons) {
    for (const name of registered) {
      const result = comparison.metrics.find((candidate) => candidate.name === name);
      const metric = byName.get(name);
      const noCalls = result?.note === NOT_MEASURED_NOTE;
      const neverMeasured = result !== undefined && isNotMeasured(result);
      const missing = [comparison.variation, comparison.baseline].filter((arm) => {
        if ((exposed[arm] ?? 0) === 0) return false;
        if (result === undefined || neverMeasured) return true;
        return (arm === comparison.variation ? result.variant.n : result.baseline.n) === 0;
      });
      for (const arm of missing) {
        if (metric !== undefined && !readsCalls(metric)) {
          // Every comparison that uses the arm waits, the control's gap included.
          const what = isObjective(metric) ? 'outcomes' : 'judge scores';
          waiting.push({ variation: comparison.variation, reason: `guardrail ${name} has no ${what} in ${arm} yet` });
          continue;
        }
        if (noCalls) {
          unmeasuredWithoutCalls.add(name);
          continue;
        }
        // Without statistics, or never measured, the guardrail is missing everywhere: one reason for it.
        const key = result === undefined || neverMeasured ? name : `${name}\u0000${arm}`;
        if (reported.has(key)) continue;
        reported.add(key);
        gaps.push(
          result === undefined
            ? `telemetry gap: guardrail ${name} has no statistics, so it cannot stop a harmful variation; check that metric ${name} is defined and its data read`
            : neverMeasured
              ? `telemetry gap: guardrail ${name} is ${result.note}, so it cannot stop a harmful variation; check that the instrumentation records it`
              : `telemetry gap: guardrail ${name} has no data in ${arm} (${exposed[arm]} exposed unit(s)), so it cannot stop a harmful variation; ` +
                `check that ${arm}'s calls are traced and stamped with the experiment`,
        );
      }
    }
  }
  if (unmeasuredWithoutCalls.size > 0) {
    gaps.unshift(
      `telemetry gap: none of the ${report.population.total} exposed units has a gen_ai call in the data read, so guardrail(s) ${[...unmeasuredWithoutCalls].join(', ')} ` +
        'were never measured and cannot stop a harmful variation: include the traces (the collector writes them next to the logs)',
    );
  }
  return { gaps, waiting };
}

/** Why the planned end counts as reached, or undefined. */
function plannedEndReached(report: UndecidedReport, experiment: ReportExperimentInput): string | undefined {
  const plan = experiment.analysis;
  if (plan?.plannedEnd && Date.parse(plan.plannedEnd) <= Date.parse(report.generatedAt)) {
    return `the planned end ${plan.plannedEnd} has passed`;
  }
  if (plan?.plannedUnits && report.population.total >= plan.plannedUnits) {
    return `the planned ${plan.plannedUnits} units are reached (${report.population.total} exposed)`;
  }
  return undefined;
}

function abs(value: number | null): number | null {
  return value === null ? null : Math.abs(value);
}

function describeCounts(counts: Record<string, number>): string {
  return Object.entries(counts)
    .map(([key, n]) => `${key} ${n}`)
    .join(', ');
}

function fmt(value: number | null | undefined): string {
  if (value === null || value === undefined) return 'n/a';
  return Number(value.toPrecision(3)).toString();
}

function fmtPct(value: number | null): string {
  return value === null ? 'n/a' : `${Number((value * 100).toPrecision(3))}%`;
}
