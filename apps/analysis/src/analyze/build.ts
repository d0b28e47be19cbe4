/**
 * `buildReport`: a pure function from already-computed data-layer results (exposed counts,
 * health counts, per-arm sufficient statistics, windows, segment mixes) to the versioned
 * `Report`. No I/O, so every rule is testable with hand-made sufficient statistics.
 */
import { ATTR_ABTEL_SEGMENT_PREFIX, readsCalls, REPORT_SCHEMA_VERSION, type Comparison, type MetricDefinition, type MetricResult, type MetricRole, type Report } from '@abtel/core';
import type { BuildReportInputs } from './inputs.js';
import { decide, type UndecidedReport } from './decision.js';
import { evaluateGuardrail, GUARDRAIL_DEFAULTS } from './guardrails.js';
import {
  adjustPValues,
  alwaysValidInterval,
  meanInterval,
  multipleExposure,
  sampleRatioMismatch,
  sequentialBoundaries,
  sequentialDecision,
} from './inference.js';
import { finite, isTooSmallForTest, metricResult, NOT_MEASURED_NOTE } from './metrics.js';
import type { ArmStatsInput } from './inputs.js';
import { evaluateSegment } from './segments.js';
import { formatPText, skippedByReason } from '../report/format.js';
import { SRM_THRESHOLD } from '@abtel/stats';

/**
 * Defaults of the decision thresholds that are not part of the experiment definition.
 * @example
 * buildReport({ ...inputs, options: { ...DECISION_DEFAULTS, maxBadLines: 10 } });
 */
export const DECISION_DEFAULTS = {
  maxBadLines: 0,
  staleAfterMinutes: 360,
  assignmentMismatchShare: 0.01,
  minSegmentUnits: 30,
} as const;

/** How many unreadable lines are listed by file and line in the report (all are counted). */
const BAD_LINE_SAMPLES = 20;

/**
 * Builds the report. Metrics are ordered primary, guardrails, secondary; BH and Holm adjust the
 * non-primary metrics of each comparison together; the primary metric is decided unadjusted.
 * @example
 * const report = buildReport({ experiment, metrics, generatedAt: new Date().toISOString(), population,
 *   health, metricStats, guardrails: [], segments: [], judgeTrend: [], badLines: [] });
 * console.log(report.decision.recommendation);
 */
export function buildReport(inputs: BuildReportInputs): Report {
  const { experiment } = inputs;
  const options = { ...DECISION_DEFAULTS, ...stripUndefined(inputs.options ?? {}) };
  const alpha = experiment.analysis?.alpha ?? 0.05;
  const warnings: string[] = [];
  const arms = experiment.variations.map((variation) => variation.key);
  const control = experiment.control;
  const variants = arms.filter((arm) => arm !== control);
  const metricsByName = new Map(inputs.metrics.map((metric) => [metric.name, metric]));

  // Population
  const exposed: Record<string, number> = {};
  for (const arm of arms) exposed[arm] = toCount(inputs.population.exposed[arm]);
  for (const [key, n] of Object.entries(inputs.population.exposed)) {
    if (!arms.includes(key) && n > 0) warnings.push(`${n} unit(s) were exposed to "${key}", which is not a variation of ${experiment.key} v${experiment.version}; they are left out`);
  }
  const total = arms.reduce((sum, arm) => sum + (exposed[arm] ?? 0), 0);
  const plannedUnits = experiment.analysis?.plannedUnits;
  const informationFraction = plannedUnits ? Math.min(1, total / plannedUnits) : null;

  // Health
  const weights = experiment.variations.map((variation) => variation.weight);
  const weightSum = weights.reduce((a, b) => a + b, 0);
  const weightOf = (key: string): number => experiment.variations.find((variation) => variation.key === key)?.weight ?? 0;
  const srm = sampleRatioMismatch(arms.map((arm) => exposed[arm] ?? 0), weights);
  // Without units there is no test at all: chi-square 0 and p 1 would read as a passed check.
  const srmComputed = total > 0;
  const srmStatus = !srmComputed ? 'not_computed' : srm.flagged ? 'mismatch' : srm.status === 'skipped' ? 'skipped' : 'ok';
  const srmReason = !srmComputed ? 'no exposed units' : srm.reason;
  if (srmComputed && srm.reason) warnings.push(`SRM check skipped: ${srm.reason}`);
  const expected: Record<string, number> = {};
  arms.forEach((arm, i) => (expected[arm] = (total * (weights[i] ?? 0)) / weightSum));
  const multi = multipleExposure(Math.min(toCount(inputs.population.multipleExposureUnits), total), total);
  if (multi.status === 'warn') warnings.push(`${multi.multiExposedUnits} unit(s) were exposed to more than one variation (${pct(multi.share)})`);
  const checked = toCount(inputs.health.assignmentChecked);
  const mismatches = toCount(inputs.health.assignmentMismatches);
  const assignmentFlagged = checked > 0 && mismatches / checked > options.assignmentMismatchShare;
  if (mismatches > 0 && !assignmentFlagged) warnings.push(`${mismatches} of ${checked} audited unit(s) are in a variation the current definition would not assign (a weight change or ramp can explain a few)`);
  const lastEventTime = inputs.health.lastEventTime;
  const rawAge = lastEventTime ? (Date.parse(inputs.generatedAt) - Date.parse(lastEventTime)) / 60_000 : null;
  // Data newer than the readout time has no age; it is flagged instead of shown as a negative age.
  const future = rawAge !== null && rawAge < 0;
  const ageMinutes = rawAge === null ? null : Math.max(0, rawAge);
  const stale = experiment.state === 'running' && ageMinutes !== null && ageMinutes > options.staleAfterMinutes;
  const freshnessStatus = rawAge === null ? 'no_data' : future ? 'future' : stale ? 'stale' : 'ok';
  if (future) {
    warnings.push(
      `the newest event (${lastEventTime}) is ${formatMinutes(-rawAge)} after the readout time ${inputs.generatedAt} (--now, default the current time); freshness is shown as 0 — pass a later --now, or check the clock of the machines that wrote the data`,
    );
  }
  const badLineCount = toCount(inputs.badLineCount ?? inputs.badLines.length);
  if (inputs.health.exposuresWithoutCall > 0) warnings.push(`${inputs.health.exposuresWithoutCall} exposed unit(s) have no gen_ai call`);
  if (inputs.health.outcomesWithoutExposure > 0) warnings.push(`${inputs.health.outcomesWithoutExposure} outcome(s) belong to no exposed unit`);
  const unattributedCalls = toCount(inputs.health.unattributedCalls ?? 0);
  if (unattributedCalls > 0) {
    warnings.push(
      `${unattributedCalls} gen_ai call(s) carry ${experiment.key} (unit ${experiment.unit}) as a second experiment of a conversation whose primary experiment has another unit, and name no unit of ${experiment.key}: they are left out of its call metrics and guardrails; upgrade @abtel/node on the agents so that spans carry abtel.assignment.ids`,
    );
  }
  const unattributedOutcomes = toCount(inputs.health.unattributedOutcomes ?? 0);
  const unattributedEvaluations = toCount(inputs.health.unattributedEvaluations ?? 0);
  if (unattributedOutcomes + unattributedEvaluations > 0) {
    warnings.push(
      `${unattributedOutcomes} outcome(s) and ${unattributedEvaluations} evaluation(s) of ${experiment.key} (unit ${experiment.unit}) name no ${experiment.unit} of it (no abtel.assignment.ids entry for ${experiment.key}, and their conversation's exposures and calls name no single ${experiment.unit} of it): they are left out of its outcome and evaluation metrics; upgrade @abtel/node where recordOutcome and recordEvaluation run (their events then carry abtel.assignment.ids), and where a conversation's units are not known (another service) pass attributes: { 'abtel.assignment.ids': ['${experiment.key}=<${experiment.unit} id>'] } to recordOutcome`,
    );
  }

  // Comparisons
  const roles = metricRoles(experiment, metricsByName, warnings);
  // Without a single gen_ai call (the traces not read, say), a per-unit sum of call values is 0 in
  // every unit: a difference of 0 with p = 1 would read as measured.
  const noCallsAtAll = total > 0 && toCount(inputs.health.exposuresWithoutCall) >= total;
  const boundaries =
    experiment.analysis?.looks && experiment.analysis.looks.length > 0 && plannedUnits
      ? sequentialBoundaries(experiment.analysis.looks, alpha)
      : undefined;
  const pooledPrimary = new Map<string, number | null>();
  const comparisons: Comparison[] = variants.map((variation) => {
    const results: MetricResult[] = [];
    for (const { metric, role } of roles) {
      const stats = inputs.metricStats[metric.name];
      if (!stats) {
        warnings.push(`no statistics for metric ${metric.name}`);
        continue;
      }
      const { result, comparison } = metricResult(
        metric,
        role,
        stats.find((arm) => arm.variation === control),
        stats.find((arm) => arm.variation === variation),
        alpha,
      );
      if (role === 'primary') {
        pooledPrimary.set(variation, result.absoluteDiff);
        if (boundaries && informationFraction !== null) {
          const reached = boundaries.looks.filter((look) => look.fraction <= informationFraction + 1e-9);
          const current = reached.at(-1);
          const z = comparison ? finite(comparison.statistic) : null;
          result.sequential = {
            informationFraction,
            looks: boundaries.looks.map((look) => look.fraction),
            boundaries: boundaries.looks.map((look) => finite(look.z)),
            currentLook: reached.length,
            boundaryZ: current ? finite(current.z) : null,
            z,
            status: !current
              ? 'before_first_look'
              : z !== null && !isTooSmallForTest(result) && sequentialDecision(boundaries, reached.length, z) === 'stop_efficacy'
                ? 'efficacy'
                : 'continue',
          };
          const units = comparison ? comparison.baseline.n + comparison.variant.n : 0;
          if (comparison && units > 0 && Number.isFinite(comparison.standardError)) {
            // Tuned to the units these two arms are planned to reach.
            const share = ((weightOf(control) + weightOf(variation)) / weightSum) * plannedUnits!;
            const sequence = safely(() => alwaysValidInterval(comparison, units, share, 0.05));
            if (sequence) result.sequential.alwaysValidCi95 = [finite(sequence.interval[0]), finite(sequence.interval[1])];
          }
        }
      }
      results.push(result);
    }
    for (const result of results) {
      const metric = metricsByName.get(result.name);
      if (metric === undefined || !readsCalls(metric)) continue;
      if (noCallsAtAll) markUnmeasured(result, NOT_MEASURED_NOTE);
      else if (noValuesRead(inputs.metricStats[result.name], [control, variation])) {
        // Calls there are, but none carries this value (cost_usd without a price table, say): a
        // per-unit sum of 0 everywhere would read as "costs nothing".
        markUnmeasured(result, `not measured: no gen_ai call in the data carries ${describeCallValue(metric)}`);
      }
    }
    adjust(results, alpha);
    return { variation, baseline: control, metrics: results };
  });

  // Guardrails over windows
  const guardrails = inputs.guardrails.flatMap((input) => {
    const metric = metricsByName.get(input.metric);
    return metric?.threshold ? evaluateGuardrail(metric, input, control, variants) : [];
  });
  for (const name of experiment.metrics?.guardrails ?? []) {
    const metric = metricsByName.get(name);
    if (metric && !metric.threshold) warnings.push(`guardrail ${name} has no threshold; it is compared over the whole period only, not per window`);
  }
  for (const guardrail of guardrails) {
    if (guardrail.alerts > 0 && !guardrail.actionTriggered) {
      warnings.push(`guardrail ${guardrail.metric} breached in ${guardrail.alerts} window(s) for ${guardrail.variation}, fewer than the ${guardrail.consecutiveWindows} consecutive windows that trigger ${guardrail.action}`);
    }
  }

  // Segments
  const primary = experiment.metrics?.primary ? metricsByName.get(experiment.metrics.primary) : undefined;
  const seen = inputs.segmentAttributesSeen;
  const absent = seen ? inputs.segments.filter((segment) => !seen.includes(segment.segment)).map((segment) => segment.segment) : [];
  for (const name of absent) {
    warnings.push(
      `segment ${name} is on no exposure of ${experiment.key} (no ${ATTR_ABTEL_SEGMENT_PREFIX}${name} attribute), so it has no readout; ` +
        `segment attributes seen on exposures: ${seen!.length > 0 ? seen!.join(', ') : 'none'}`,
    );
  }
  const segments = primary
    ? inputs.segments
        .filter((segment) => !absent.includes(segment.segment))
        .flatMap((segment) => evaluateSegment(primary, segment, control, arms, pooledPrimary, options.minSegmentUnits))
    : [];
  for (const segment of segments) {
    if (segment.simpson.flagged && segment.simpson.note) warnings.push(`Simpson reversal in ${segment.variation}: ${segment.simpson.note}`);
  }
  const mixFlagged = new Set(segments.filter((segment) => segment.mix.flagged).map((segment) => segment.segment));
  for (const name of mixFlagged) warnings.push(`the mix of segment ${name} differs between arms (chi-square test); compare within segments`);

  // Judge trend with t intervals
  const judgeTrend = inputs.judgeTrend.map((point) => {
    const sd = point.sd;
    const interval = point.n >= 2 && sd !== null && Number.isFinite(sd) ? safely(() => meanInterval(point.n, point.mean, sd)) : undefined;
    return {
      windowStart: point.windowStart,
      variation: point.variation,
      name: point.name,
      n: toCount(point.n),
      mean: finite(point.mean),
      sd: finite(point.sd),
      ...(interval ? { ci95: [finite(interval.ci95[0]), finite(interval.ci95[1])] as [number | null, number | null] } : {}),
    };
  });

  const undecided: UndecidedReport = {
    schemaVersion: REPORT_SCHEMA_VERSION,
    experiment: {
      key: experiment.key,
      version: experiment.version,
      ...(experiment.description ? { description: experiment.description } : {}),
      state: experiment.state,
      unit: experiment.unit,
      control,
      variations: experiment.variations.map((variation) => ({ key: variation.key, weight: variation.weight })),
      ...(experiment.startedAt ? { startedAt: experiment.startedAt } : {}),
      alpha,
    },
    generatedAt: inputs.generatedAt,
    ...(inputs.data ? { data: { inputs: [...inputs.data.inputs], files: { ...inputs.data.files } } } : {}),
    population: {
      exposed,
      total,
      duplicateExposures: toCount(inputs.population.duplicateExposures),
      ...(inputs.population.excludedUnits !== undefined ? { excluded: toCount(inputs.population.excludedUnits) } : {}),
      ...(inputs.population.firstExposure ? { firstExposure: inputs.population.firstExposure } : {}),
      ...(inputs.population.lastExposure ? { lastExposure: inputs.population.lastExposure } : {}),
      ...(plannedUnits ? { plannedUnits } : {}),
      informationFraction,
      timeline: inputs.population.timeline.map((point) => ({ ...point, cumulative: toCount(point.cumulative) })),
    },
    health: {
      srm: {
        statistic: srmComputed ? finite(srm.chiSquare) : null,
        df: srm.df,
        pValue: srmComputed ? finite(srm.pValue) : null,
        flagged: srm.flagged,
        expected,
        status: srmStatus,
        ...(srmReason ? { reason: srmReason } : {}),
      },
      multipleExposures: { units: multi.multiExposedUnits, share: finite(multi.share), flagged: multi.status === 'fail' },
      assignment: { checked, mismatches, flagged: assignmentFlagged },
      exposuresWithoutCall: toCount(inputs.health.exposuresWithoutCall),
      outcomesWithoutExposure: toCount(inputs.health.outcomesWithoutExposure),
      freshness: { ...(lastEventTime ? { lastEventTime } : {}), ageMinutes: finite(ageMinutes), stale, status: freshnessStatus },
      badLines: badLineCount,
    },
    comparisons,
    guardrails,
    segments,
    judgeTrend,
    warnings,
    badLines: { count: badLineCount, samples: inputs.badLines.slice(0, BAD_LINE_SAMPLES).map((line) => ({ ...line })) },
  };
  // Failing health checks are listed here too: a rollback reason replaces the pause reasons, and
  // the reader still needs to know the data had problems.
  if (srm.flagged) warnings.push(`sample ratio mismatch: chi-square ${srm.chiSquare.toPrecision(3)}, p = ${formatPText(srm.pValue, SRM_THRESHOLD)}`);
  if (multi.status === 'fail') warnings.push(`${multi.multiExposedUnits} unit(s) were exposed to more than one variation (${pct(multi.share)})`);
  if (assignmentFlagged) warnings.push(`${mismatches} of ${checked} audited unit(s) are in a variation the definition does not assign them to`);
  if (stale) warnings.push(`stale data: the newest event is ${Math.round(ageMinutes ?? 0)} minutes old`);
  for (const phrase of skippedByReason(inputs.skipped ?? [])) warnings.push(`not read: ${phrase}`);
  if (badLineCount > 0 && badLineCount <= options.maxBadLines) {
    warnings.push(`${badLineCount} unreadable input line(s), within the tolerated ${options.maxBadLines}`);
  }
  const decision = decide(undecided, experiment, inputs.metrics, { maxBadLines: options.maxBadLines });
  // A problem seen once per comparison is said once.
  return { ...undecided, warnings: [...new Set(warnings)], decision };
}

/** Metrics in report order with their role; unknown names become warnings. */
function metricRoles(
  experiment: BuildReportInputs['experiment'],
  byName: ReadonlyMap<string, MetricDefinition>,
  warnings: string[],
): { metric: MetricDefinition; role: MetricRole }[] {
  const wanted: [string, MetricRole][] = [];
  if (experiment.metrics?.primary) wanted.push([experiment.metrics.primary, 'primary']);
  for (const name of experiment.metrics?.guardrails ?? []) wanted.push([name, 'guardrail']);
  for (const name of experiment.metrics?.secondary ?? []) wanted.push([name, 'secondary']);
  const seen = new Set<string>();
  const out: { metric: MetricDefinition; role: MetricRole }[] = [];
  for (const [name, role] of wanted) {
    if (seen.has(name)) continue;
    seen.add(name);
    const metric = byName.get(name);
    if (!metric) {
      warnings.push(`metric ${name} (${role}) has no definition; add it to metrics.yaml or metrics.definitions`);
      continue;
    }
    out.push({ metric, role });
  }
  return out;
}

/** BH and Holm over the non-primary metrics with a p-value; significance of those uses BH. */
function adjust(results: MetricResult[], alpha: number): void {
  // A p-value too small a sample cannot support stays out of the family it would distort.
  const adjustable = results.filter((result) => result.role !== 'primary' && result.pValue !== null && !isTooSmallForTest(result));
  if (adjustable.length === 0) return;
  const raw = adjustable.map((result) => result.pValue!);
  const bh = adjustPValues(raw, 'bh');
  const holm = adjustPValues(raw, 'holm');
  adjustable.forEach((result, i) => {
    result.pAdjustedBH = finite(bh[i]);
    result.pAdjustedHolm = finite(holm[i]);
    result.significant = result.pAdjustedBH !== null && result.pAdjustedBH < alpha;
  });
}

/** Counts arrive as numbers (the data layer converts BIGINT); anything else is a bug upstream. */
function toCount(value: number | bigint | undefined): number {
  if (value === undefined) return 0;
  return typeof value === 'bigint' ? Number(value) : value;
}

/** A judge window whose scores the interval rejects keeps its mean; only the band is dropped. */
function safely<T>(compute: () => T): T | undefined {
  try {
    return compute();
  } catch {
    return undefined;
  }
}

/** Minutes as text, in hours or days when that is easier to read. */
function formatMinutes(minutes: number): string {
  if (minutes < 120) return `${Number(minutes.toPrecision(3))} min`;
  if (minutes < 2 * 1440) return `${Number((minutes / 60).toPrecision(3))} h`;
  return `${Number((minutes / 1440).toPrecision(3))} days`;
}

function pct(value: number): string {
  return `${Number((value * 100).toPrecision(3))}%`;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export { GUARDRAIL_DEFAULTS };


/** True when both arms' calls carried no value of the metric (valuesRead 0 where it is known). */
function noValuesRead(stats: readonly ArmStatsInput[] | undefined, arms: readonly string[]): boolean {
  const read = arms.map((arm) => stats?.find((row) => row.variation === arm && row.segment === undefined)?.valuesRead);
  return read.every((count) => count === 0);
}

/** What a call metric reads, for messages: `cost_usd` or the attribute's name. */
function describeCallValue(metric: MetricDefinition): string {
  return 'span_value' in metric.from ? metric.from.span_value : 'span_attribute' in metric.from ? `the attribute ${metric.from.span_attribute}` : metric.name;
}

/** Clears a call metric's numbers when it was never measured, rather than showing it measured as 0. */
function markUnmeasured(result: MetricResult, note: string): void {
  result.baseline = { ...result.baseline, value: null };
  result.variant = { ...result.variant, value: null };
  result.absoluteDiff = null;
  result.ci95 = [null, null];
  result.relativeLift = null;
  result.relativeCi95 = [null, null];
  result.pValue = null;
  result.significant = false;
  result.better = null;
  delete result.cuped;
  delete result.sequential;
  result.note = note;
}
