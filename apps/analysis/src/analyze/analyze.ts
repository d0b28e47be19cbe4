/**
 * `analyze`: loads the experiment, opens the files as a DuckDB dataset, asks the data layer for
 * every sufficient statistic the report needs, and hands them to the pure `buildReport`.
 */
import { loadExperiments, type ExperimentDefinition, type MetricDefinition, type Report } from '@abtel/core';
import { AbtelError } from '@abtel/core';
import { buildReport } from './build.js';
import type { BuildReportInputs, DecisionOptions, GuardrailWindowsInput, SegmentInput } from './inputs.js';
import { GUARDRAIL_DEFAULTS } from './guardrails.js';
import * as data from '../data/index.js';

/** Progress of a long scan: `done` of `total` in the named phase. */
export interface AnalyzeProgress {
  readonly phase: string;
  readonly done: number;
  readonly total: number;
}

/** What to analyse. */
export interface AnalyzeOptions {
  /** Directories, files or globs of OTLP JSON Lines (plain or gzip) and compacted Parquet. */
  readonly data: readonly string[];
  /** Directory of experiment definitions (and a shared metrics.yaml). */
  readonly experiments: string;
  /** The experiment key. */
  readonly experiment: string;
  /** Segment attributes to read out (default: the experiment's `segments`). */
  readonly segments?: readonly string[] | undefined;
  /** Width of the judge-trend and exposure-timeline windows in minutes (default 60). */
  readonly windowMinutes?: number | undefined;
  /** The readout time (default now); freshness is measured against it. */
  readonly now?: Date | string | undefined;
  readonly decision?: DecisionOptions | undefined;
  readonly onProgress?: ((progress: AnalyzeProgress) => void) | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Runs the whole analysis of one experiment and returns the report.
 * @example
 * const report = await analyze({ data: ['./telemetry'], experiments: './experiments', experiment: 'support-persona' });
 * console.log(report.decision.recommendation, report.decision.reasons);
 */
export async function analyze(options: AnalyzeOptions): Promise<Report> {
  const set = await loadExperiments(options.experiments);
  const definition = set.require(options.experiment);
  const metrics = set.metrics(options.experiment);
  const generatedAt = options.now === undefined ? new Date().toISOString() : new Date(options.now).toISOString();
  const segmentNames = [...(options.segments ?? definition.segments ?? [])];
  const windowMinutes = options.windowMinutes ?? 60;

  let inputs: BuildReportInputs;
  const ds = await data.openDataset({ inputs: [...options.data], ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
  try {
    const step = stepper(options, 4 + segmentNames.length);
    const wanted = metricNames(definition);
    const byName = new Map(metrics.map((metric) => [metric.name, metric]));
    const resolved = resolvedMetrics(metrics, wanted);
    // The experiment's units, calls and evaluations once, with every value its metrics read.
    await data.prepareExperiment(ds, definition, resolved, segmentNames);
    const population = { ...(await data.population(ds, definition)), excludedUnits: await data.excludedUnits(ds, definition) };
    const health = await data.health(ds, definition);
    step('health');

    const metricStats: Record<string, Awaited<ReturnType<typeof data.armMetricStats>>> = {};
    for (const name of wanted) {
      const metric = byName.get(name);
      if (metric) metricStats[name] = await data.armMetricStats(ds, definition, metric);
      throwIfAborted(options.signal);
    }
    step('metrics');

    const guardrails: GuardrailWindowsInput[] = [];
    for (const name of definition.metrics?.guardrails ?? []) {
      const metric = byName.get(name);
      if (!metric?.threshold) continue;
      const minutes = metric.windowMinutes ?? GUARDRAIL_DEFAULTS.windowMinutes;
      guardrails.push({ metric: name, windowMinutes: minutes, windows: await data.guardrailWindows(ds, definition, metric, minutes) });
      throwIfAborted(options.signal);
    }
    step('guardrails');

    const primary = definition.metrics?.primary ? byName.get(definition.metrics.primary) : undefined;
    const segments: SegmentInput[] = [];
    let segmentAttributesSeen: string[] | undefined;
    for (const segment of segmentNames) {
      const mix = await data.segmentMix(ds, definition, segment);
      // Every unit without the attribute: either it was never sent (no statistics to compute), or no
      // first exposure has it.
      const neverSent =
        mix.length > 0 &&
        mix.every((row) => row.value === '(none)') &&
        !(segmentAttributesSeen ??= await data.segmentAttributesSeen(ds, definition)).includes(segment);
      const stats = primary && !neverSent ? await data.armMetricStats(ds, definition, primary, { segment }) : [];
      segments.push({ segment, mix, stats });
      step(`segment ${segment}`);
      throwIfAborted(options.signal);
    }
    const judgeTrend = await data.judgeTrend(ds, definition, windowMinutes);
    step('judge trend');

    inputs = {
      experiment: definition,
      metrics: resolved,
      generatedAt,
      population,
      health,
      metricStats,
      guardrails,
      segments,
      ...(segmentAttributesSeen ? { segmentAttributesSeen } : {}),
      judgeTrend,
      badLines: ds.badLines,
      badLineCount: ds.badLineCount,
      skipped: ds.skipped,
      data: { inputs: [...options.data], files: ds.files },
      options: options.decision,
    };
  } finally {
    await ds.close();
  }
  // After closing: DuckDB's tables and buffers are freed before the bootstrap allocates its arrays.
  return buildReport(inputs);
}

/** Metric names the experiment refers to, primary first. */
function metricNames(definition: ExperimentDefinition): string[] {
  const m = definition.metrics;
  if (!m) return [];
  return [...new Set([m.primary, ...(m.guardrails ?? []), ...(m.secondary ?? [])])];
}

function resolvedMetrics(metrics: readonly MetricDefinition[], wanted: readonly string[]): MetricDefinition[] {
  return metrics.filter((metric) => wanted.includes(metric.name));
}

function stepper(options: AnalyzeOptions, total: number): (phase: string) => void {
  let done = 0;
  return (phase) => {
    done += 1;
    options.onProgress?.({ phase, done, total });
  };
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbtelError('io', 'analysis interrupted');
}
