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
import { rememberQuantileComparison } from './inference.js';
import { QuantileWorkers } from './quantile-workers.js';

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

  const wanted = metricNames(definition);
  const byName = new Map(metrics.map((metric) => [metric.name, metric]));
  const quantileMetrics = resolvedMetrics(metrics, wanted).filter((metric) => metric.kind === 'quantile');
  const variants = definition.variations.filter((variation) => variation.key !== definition.control);
  const ds = await data.openDataset({ inputs: [...options.data], ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
  let workers: QuantileWorkers | undefined;
  try {
    const step = stepper(options, 4 + segmentNames.length);
    // The experiment's units, calls and evaluations once, with every value its metrics read.
    const working = await data.prepareExperiment(ds, definition, resolvedMetrics(metrics, wanted));
    if (quantileMetrics.length > 0) {
      // Worth a thread (which loads the statistics code first) only for many calls.
      const [calls] = await ds.query<{ n: number }>(`SELECT count(*) AS n FROM ${working.calls}`);
      // Each worker costs ≈ 50–70 MB, and a bootstrap ≈ 30 bytes per event: one worker next to raw
      // JSON parsed into DuckDB (near its memory limit) or for very many calls, else one per comparison.
      const n = calls?.n ?? 0;
      const count = ds.files.raw > 0 || n > PARALLEL_BOOTSTRAP_MAX_CALLS ? 1 : quantileMetrics.length * variants.length;
      if (n >= PARALLEL_BOOTSTRAP_MIN_CALLS) workers = QuantileWorkers.start(count);
    }

    // Quantile metrics first: their bootstraps run on workers while the rest is queried.
    const computed = new Map<string, Awaited<ReturnType<typeof data.armMetricStats>>>();
    const bootstraps: Promise<void>[] = [];
    for (const metric of quantileMetrics) {
      const arms = await data.armMetricStats(ds, definition, metric);
      computed.set(metric.name, arms);
      const baseline = arms.find((arm) => arm.variation === definition.control)?.samples;
      for (const variant of variants) {
        const samples = arms.find((arm) => arm.variation === variant.key)?.samples;
        if (!workers || !baseline || !samples || baseline.length < 2 || samples.length < 2) continue;
        const quantile = metric.quantile ?? 0.5;
        bootstraps.push(
          workers.compare(baseline, samples, quantile).then((result) => {
            if (result) rememberQuantileComparison(baseline, samples, quantile, result);
          }),
        );
      }
      throwIfAborted(options.signal);
    }

    const population = { ...(await data.population(ds, definition)), excludedUnits: await data.excludedUnits(ds, definition) };
    const health = await data.health(ds, definition);
    step('health');

    const metricStats: Record<string, Awaited<ReturnType<typeof data.armMetricStats>>> = {};
    for (const name of wanted) {
      const metric = byName.get(name);
      if (metric) metricStats[name] = computed.get(name) ?? (await data.armMetricStats(ds, definition, metric));
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
    for (const segment of segmentNames) {
      const mix = await data.segmentMix(ds, definition, segment);
      const stats = primary ? await data.armMetricStats(ds, definition, primary, { segment }) : [];
      segments.push({ segment, mix, stats });
      step(`segment ${segment}`);
      throwIfAborted(options.signal);
    }
    const judgeTrend = await data.judgeTrend(ds, definition, windowMinutes);
    step('judge trend');
    await Promise.all(bootstraps);

    const inputs: BuildReportInputs = {
      experiment: definition,
      metrics: resolvedMetrics(metrics, wanted),
      generatedAt,
      population,
      health,
      metricStats,
      guardrails,
      segments,
      judgeTrend,
      badLines: ds.badLines,
      badLineCount: ds.badLineCount,
      data: { inputs: [...options.data], files: ds.files },
      options: options.decision,
    };
    return buildReport(inputs);
  } finally {
    await workers?.close();
    await ds.close();
  }
}

/** From this many gen_ai calls on, quantile bootstraps run on worker threads… */
const PARALLEL_BOOTSTRAP_MIN_CALLS = 200_000;
/** …and above this many, on one worker (one bootstrap's arrays in memory at a time). */
const PARALLEL_BOOTSTRAP_MAX_CALLS = 4_000_000;

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
