/**
 * A validated, immutable collection of experiment definitions and the metrics they reference.
 * Build one with `loadExperiments(dir)` or `parseExperiments(docs)`.
 */
import { AbtelError } from './errors.js';
import type { ExperimentDefinition } from './experiment.js';
import type { MetricDefinition } from './metrics.js';

/**
 * Validated experiments by key, plus the metric definitions in scope.
 * @example
 * const set = await loadExperiments('./experiments');
 * const def = set.require('support-persona');
 * const metrics = set.metrics('support-persona'); // primary first, then guardrails, then secondary
 */
export class ExperimentSet {
  private readonly byKey: ReadonlyMap<string, ExperimentDefinition>;
  private readonly files: ReadonlyMap<string, string>;
  private readonly sharedMetrics: ReadonlyMap<string, MetricDefinition>;

  constructor(
    definitions: readonly ExperimentDefinition[],
    options: { sharedMetrics?: readonly MetricDefinition[]; files?: ReadonlyMap<string, string> } = {},
  ) {
    this.byKey = new Map(definitions.map((def) => [def.key, def]));
    this.files = options.files ?? new Map();
    this.sharedMetrics = new Map((options.sharedMetrics ?? []).map((metric) => [metric.name, metric]));
  }

  /** The definition with this key, or undefined. */
  get(key: string): ExperimentDefinition | undefined {
    return this.byKey.get(key);
  }

  /** The definition with this key; throws `not_found` naming the known keys. */
  require(key: string): ExperimentDefinition {
    const def = this.byKey.get(key);
    if (def === undefined) {
      const known = [...this.byKey.keys()];
      throw new AbtelError('not_found', `experiment "${key}" is not defined (known: ${known.length > 0 ? known.join(', ') : 'none'})`);
    }
    return def;
  }

  /** Every definition, in key order. */
  all(): ExperimentDefinition[] {
    return [...this.byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** The file a definition came from, when it was loaded from files. */
  fileOf(key: string): string | undefined {
    return this.files.get(key);
  }

  /** Shared metric definitions (from `metrics.yaml`). */
  sharedMetricDefinitions(): MetricDefinition[] {
    return [...this.sharedMetrics.values()];
  }

  /**
   * The resolved metric definitions an experiment references: primary, then guardrails, then
   * secondary (each once). Experiment-local definitions win over shared ones of the same name.
   */
  metrics(key: string): MetricDefinition[] {
    const def = this.require(key);
    if (def.metrics === undefined) return [];
    const local = new Map(def.metrics.definitions.map((metric) => [metric.name, metric]));
    const names = [def.metrics.primary, ...def.metrics.guardrails, ...def.metrics.secondary];
    const resolved: MetricDefinition[] = [];
    const seen = new Set<string>();
    for (const name of names) {
      if (seen.has(name)) continue;
      seen.add(name);
      const metric = local.get(name) ?? this.sharedMetrics.get(name);
      if (metric !== undefined) resolved.push(metric);
    }
    return resolved;
  }
}
