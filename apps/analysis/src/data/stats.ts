/**
 * Per-arm sufficient statistics, population, health, guardrail windows, judge trends and segment
 * mix, computed by DuckDB over the views. @abtel/stats turns these numbers into tests; nothing here
 * does inference.
 */
import { ATTR_ABTEL_SEGMENT_PREFIX, bucketOf, readsCalls, variationForBucket, type ExperimentDefinition, type MetricDefinition } from '@abtel/core';
import type { DuckDBMaterializedResult, DuckDBVector } from '@duckdb/node-api';
import { sqlString } from '@abtel/files';
import {
  QUANTILE_ASYMPTOTIC_MIN_EVENTS,
  QUANTILE_ASYMPTOTIC_MIN_UNITS,
  quantileAsymptoticIssue,
  quantileOuterLevels,
  type QuantileArm,
} from '@abtel/stats';
import type { Dataset } from './dataset.js';
import { jsonPath } from './json-path.js';
import { bucketKeySql, bucketStartSql } from './time-bucket.js';
import {
  carriesExperiment,
  conversationUnitsSql,
  covariateAttributes,
  experimentConversationsSql,
  prepareExperiment,
  segmentAttribute,
  spanValueSql,
  unattributedCallsSql,
  unattributedEventsSql,
  unitIdSql,
  unitsWithAttributes,
} from './prepare.js';

/** Per-arm sufficient statistics of one metric (see the contract in the README). */
export interface ArmMetricStats {
  variation: string;
  segment?: string;
  /** Exposed units in the arm (the denominator for binary / missing = zero). */
  units: number;
  /** Units contributing a value. */
  n: number;
  /** Σ Y and Σ Y² of the per-unit value Y over the n contributing units. */
  sum: number;
  sumSquares: number;
  /** Ratio metrics: Σ N, Σ N², Σ Y·N of the per-unit event count N. */
  denomSum?: number;
  denomSumSquares?: number;
  crossSum?: number;
  /**
   * Metrics read from the calls: how many values the arm's calls carried. A per-unit sum fills 0
   * for a unit without values, so 0 here tells "never measured" from "measured as zero".
   */
  valuesRead?: number;
  /** CUPED: Σ X, Σ X², Σ X·Y of the covariate X. */
  covariateSum?: number;
  covariateSumSquares?: number;
  covariateCrossSum?: number;
  /**
   * Quantile metrics: per-unit arrays of event values, only where the unit bootstrap is needed
   * (the metric says `interval: bootstrap`, or an arm of the comparison is too small for the
   * asymptotic interval; see `quantileArm`).
   */
  samples?: number[][];
  /** Quantile metrics: the point estimate over all events of the arm (quantile_cont). */
  quantile?: number;
  /**
   * Quantile metrics: the sufficient statistics of the asymptotic cluster-robust interval (units
   * and events, Σ I, Σ I², Σ N², Σ I·N, the quantile at the two outer levels), computed in DuckDB;
   * absent when the arm is below the asymptotic interval's minimum or the metric asks for the bootstrap.
   */
  quantileArm?: QuantileArm;
}

export interface ArmMetricOptions {
  /** Segment name: one row per (variation, segment value) instead of per variation. */
  segment?: string;
  /** ISO times: only units first exposed in [from, to). */
  from?: string;
  to?: string;
}

/**
 * A unit's segment value: its first exposure's `abtel.segment.<name>` attribute as text — the
 * `segments` column of the exposures view, read without building that JSON object for every unit.
 */
function segmentValueSql(alias: string, name: string): string {
  return `json_extract_string(${alias}.attributes, ${jsonPath(segmentAttribute(name))})`;
}

function defaultMissing(metric: MetricDefinition): 'zero' | 'exclude' {
  if (metric.missing) return metric.missing;
  return metric.kind === 'binary' || metric.kind === 'count' || metric.kind === 'sum' ? 'zero' : 'exclude';
}

/**
 * Where a metric's SQL reads from: the experiment's exposed units (with unit_index in unit-id
 * order), its evaluations (with unit_index), and its calls when materialised (see prepare.ts).
 */
interface MetricSources {
  readonly units: string;
  readonly evaluations: string;
  readonly calls?: string;
  readonly callColumns?: ReadonlyMap<string, string>;
  /** Per-unit sums of the call columns (see prepare.ts): spares a pass over the calls per metric. */
  readonly unitCalls?: string;
  /** The units' outcomes for this experiment (unit_index, name, value, time) when materialised. */
  readonly outcomes?: string;
}

/** Sources over the views alone (for SQL a user runs in the duckdb CLI). */
function viewSources(def: ExperimentDefinition): MetricSources {
  const key = sqlString(def.key);
  const units = `(SELECT CAST(row_number() OVER (ORDER BY unit_id) AS INTEGER) AS unit_index, * FROM exposures WHERE experiment_key = ${key})`;
  return {
    units,
    evaluations: `(SELECT x.unit_index, v.* FROM evaluations v JOIN ${units} x ON x.unit_id = v.unit_id WHERE v.experiment_key = ${key})`,
  };
}

/**
 * SQL: the rows of the `outcomes` view that match `where` (over alias `o`), as a subquery with
 * `unit_of`, their unit in experiment `def`: by `abtel_unit_id`, else (for an experiment whose
 * unit is not the conversation) the unit their conversation names (`abtel_conversation_units`,
 * looked up for the conversations of such outcomes only), as prepare.ts attributes them.
 * @example
 * outcomesWithUnitSql(definition, "o.name = 'csat'"); // (SELECT o.*, … AS unit_of FROM outcomes o …)
 */
function outcomesWithUnitSql(def: ExperimentDefinition, where: string): string {
  const named = `SELECT o.*, ${unitIdSql('o', def, 'unit_experiment_key')} AS unit_of FROM outcomes o WHERE ${where}`;
  if (def.unit === 'conversation') return `(${named})`;
  return `(WITH named AS (${named})
           SELECT n.* EXCLUDE (unit_of), coalesce(n.unit_of, c.unit_id) AS unit_of
           FROM named n LEFT JOIN ${conversationUnitsSql(def, 'SELECT conversation_id FROM named WHERE unit_of IS NULL')} c
             ON n.unit_of IS NULL AND c.conversation_id = n.conversation_id)`;
}

/** SELECT unit_index, v (value), t (event time) of the metric's events for the experiment's units. */
function eventSql(def: ExperimentDefinition, metric: MetricDefinition, sources: MetricSources): string {
  const key = sqlString(def.key);
  const from = metric.from;
  if ('outcome' in from) {
    if (sources.outcomes) return `SELECT unit_index, value AS v, time AS t FROM ${sources.outcomes} WHERE name = ${sqlString(from.outcome)}`;
    const outcomes = outcomesWithUnitSql(def, `o.name = ${sqlString(from.outcome)} AND (o.experiment_key IS NULL OR o.experiment_key = ${key})`);
    return `SELECT x.unit_index, o.value AS v, o.time AS t FROM ${outcomes} o JOIN ${sources.units} x ON x.unit_id = o.unit_of`;
  }
  if ('evaluation' in from) {
    return `SELECT unit_index, score AS v, time AS t FROM ${sources.evaluations} WHERE name = ${sqlString(from.evaluation)}`;
  }
  const expression = spanValueSql(metric) ?? 'NULL';
  // Span values are read as DOUBLE; span attributes keep their column's type (as they always have).
  const value = (column: string): string => ('span_value' in from ? `CAST(${column} AS DOUBLE)` : column);
  const constant = expression === '1.0' || expression === 'NULL';
  const column = sources.callColumns?.get(expression);
  if (sources.calls && (column || constant)) {
    return `SELECT u AS unit_index, ${value(column ?? expression)} AS v, t FROM ${sources.calls}`;
  }
  // The value is computed over the calls alone: the units have an \`attributes\` column too, and
  // the expression names its columns unqualified.
  return `SELECT x.unit_index, c.v AS v, c.start_time AS t
          FROM (SELECT *, ${value(expression)} AS v FROM gen_ai_calls) c JOIN ${sources.units} x ON x.unit_id = ${unitIdSql('c', def)}
          WHERE ${carriesExperiment('c', key)}`;
}

/**
 * The per-unit aggregate Y and event count N of a span metric read from the per-unit call sums
 * (as `p`), when the metric needs no event times (no window after exposure, no time windows).
 * The same values as `unitValueSql` over the events: sum(v) = s, count(v) = n, avg(v) = s / n, the
 * binary max = b; NULL where the aggregate over no values is NULL.
 */
function preAggregatedSql(metric: MetricDefinition, sources: MetricSources): { y: string; n: string } | undefined {
  if (!sources.unitCalls || !readsCalls(metric) || metric.window) return undefined;
  const expression = spanValueSql(metric) ?? 'NULL';
  const column = expression === '1.0' ? 'calls' : expression === 'NULL' ? 'none' : sources.callColumns?.get(expression);
  if (!column) return undefined;
  const [sum, count, binary] = [`p.${column}_s`, `p.${column}_n`, `p.${column}_b`];
  const n = `CAST(coalesce(${count}, 0) AS DOUBLE)`;
  switch (metric.kind) {
    case 'binary':
      return { y: binary, n };
    case 'count':
      return { y: n, n };
    case 'mean':
      return { y: `CASE WHEN ${count} > 0 THEN ${sum} / ${count} END`, n };
    case 'sum':
    case 'ratio':
    case 'quantile':
      return { y: sum, n };
  }
}

/** The per-unit aggregate Y of the metric's event values. */
function unitValueSql(metric: MetricDefinition): string {
  switch (metric.kind) {
    case 'binary':
      return 'max(CASE WHEN e.v > 0 THEN 1.0 WHEN e.v IS NOT NULL THEN 0.0 END)';
    case 'count':
      return 'CAST(count(e.v) AS DOUBLE)';
    case 'mean':
      return 'avg(e.v)';
    case 'sum':
    case 'ratio':
    case 'quantile':
      return 'sum(e.v)';
  }
}

interface MetricSqlOptions extends ArmMetricOptions {
  /** Group by windows of this many minutes (event time for span metrics, exposure time otherwise). */
  windowMinutes?: number;
  /** Quantile metrics: the statistics of an interval too (default), or only the point estimate (guardrail windows). */
  quantileInterval?: boolean;
}

/**
 * The CTEs up to `capped` (one row per unit, and per window when windowed): exposed units (with
 * segment, covariate) → the metric's events per unit (window after exposure applied) → per-unit Y
 * (and N for ratios; the list of event values for quantiles) with the missing rule → winsorisation.
 */
function perUnitCtes(
  def: ExperimentDefinition,
  metric: MetricDefinition,
  options: MetricSqlOptions,
  sources: MetricSources,
  listValues: boolean,
): { ctes: string; eventJoin: string } {
  const segment = options.segment
    ? `coalesce(${segmentValueSql('x', options.segment)}, '(none)')`
    : 'CAST(NULL AS VARCHAR)';
  const exposureFilters = ['true'];
  if (options.from) exposureFilters.push(`x.first_exposure_time >= CAST(${sqlString(options.from)} AS TIMESTAMPTZ)::TIMESTAMP`);
  if (options.to) exposureFilters.push(`x.first_exposure_time < CAST(${sqlString(options.to)} AS TIMESTAMPTZ)::TIMESTAMP`);

  let covariate = 'CAST(NULL AS DOUBLE)';
  let covariateCte = '';
  if (metric.covariate?.outcome) {
    covariateCte = `pre AS (
      SELECT x.unit_index, avg(o.value) AS x_value
      FROM ${sources.units} x JOIN ${outcomesWithUnitSql(def, `o.name = ${sqlString(metric.covariate.outcome)}`)} o ON o.unit_of = x.unit_id
      WHERE o.time < x.first_exposure_time
      GROUP BY x.unit_index),`;
  } else if (metric.covariate?.attribute) {
    const [own, segment] = covariateAttributes(metric) as [string, string];
    covariate = `coalesce(try_cast(json_extract_string(x.attributes, ${jsonPath(own)}) AS DOUBLE),
                          try_cast(json_extract_string(x.attributes, ${jsonPath(segment)}) AS DOUBLE), 0)`;
  }
  const unitsSelect = metric.covariate?.outcome
    ? `SELECT x.unit_index, x.variation, x.first_exposure_time, ${segment} AS segment, coalesce(pre.x_value, 0) AS x_value
       FROM ${sources.units} x LEFT JOIN pre ON pre.unit_index = x.unit_index WHERE ${exposureFilters.join(' AND ')}`
    : `SELECT x.unit_index, x.variation, x.first_exposure_time, ${segment} AS segment, ${covariate} AS x_value
       FROM ${sources.units} x WHERE ${exposureFilters.join(' AND ')}`;

  const windowed = options.windowMinutes !== undefined;
  const minutes = Math.max(1, Math.round(options.windowMinutes ?? 60));
  const interval = `INTERVAL '${minutes} minutes'`;
  const eventWindows = windowed && readsCalls(metric);
  // Event windows are grouped by an integer bucket key (see time-bucket.ts), exposure cohorts by time_bucket.
  const windowExpr = !windowed
    ? 'CAST(NULL AS TIMESTAMP)'
    : eventWindows
      ? bucketStartSql('p.event_bucket', minutes)
      : `time_bucket(${interval}, u.first_exposure_time)`;
  const windowFilter = metric.window
    ? `AND e.t >= u.first_exposure_time AND e.t <= u.first_exposure_time + to_microseconds(CAST(${Math.round(metric.window.hours * 3_600_000_000)} AS BIGINT))`
    : '';
  const missing = defaultMissing(metric);
  // Span windows count units active in the window; otherwise every exposed unit counts.
  const join = eventWindows ? 'JOIN' : 'LEFT JOIN';
  const capExpr = metric.cap?.absolute !== undefined ? `least(y, ${Number(metric.cap.absolute)})` : 'y';
  const capPercentile =
    metric.cap?.percentile !== undefined
      ? `least(${capExpr}, (SELECT quantile_cont(y, ${metric.cap.percentile / 100}) FROM valued WHERE included))`
      : capExpr;

  const eventJoin = `e.unit_index = u.unit_index ${eventWindows ? `AND u.window_start = ${bucketStartSql(bucketKeySql('e.t', minutes), minutes)}` : ''} ${windowFilter}`;
  const preAggregated = windowed || listValues ? undefined : preAggregatedSql(metric, sources);
  const perUnit = preAggregated
    ? `SELECT u.unit_index, u.variation, u.segment, u.x_value, u.first_exposure_time, CAST(NULL AS TIMESTAMP) AS window_start,
              ${preAggregated.y} AS raw_y, ${preAggregated.n} AS events, CAST(NULL AS DOUBLE[]) AS vals
       FROM units u LEFT JOIN ${sources.unitCalls} p ON p.u = u.unit_index`
    : `SELECT u.unit_index, u.variation, u.segment, u.x_value, u.first_exposure_time,
              ${windowExpr} AS window_start,
              ${metric.kind === 'count' ? 'coalesce(p.raw_y, 0.0)' : 'p.raw_y'} AS raw_y, coalesce(p.events, 0.0) AS events, p.vals
       FROM units u ${join} per_unit_events p ON p.unit_index = u.unit_index`;
  // The events are aggregated per unit (and event-time window) on integer keys first, and only
  // then joined to the units' attributes (variation, segment, covariate): grouping a million
  // events by those text and double columns cost twice as much.
  const perUnitEvents = `
  SELECT e.unit_index, ${eventWindows ? bucketKeySql('e.t', minutes) : 'CAST(NULL AS BIGINT)'} AS event_bucket,
         ${unitValueSql(metric)} AS raw_y, CAST(count(e.v) AS DOUBLE) AS events,
         ${metric.kind === 'quantile' && listValues ? 'list(e.v) FILTER (WHERE e.v IS NOT NULL)' : 'CAST(NULL AS DOUBLE[])'} AS vals
  FROM ev e ${windowFilter ? `JOIN units u ON u.unit_index = e.unit_index ${windowFilter}` : ''}
  GROUP BY ALL`;
  const ctes = `
WITH ${covariateCte}
units AS (${unitsSelect}),
ev AS (${eventSql(def, metric, sources)}),
per_unit_events AS (${preAggregated ? 'SELECT 1' : perUnitEvents}),
per_unit AS (${perUnit}),
valued AS (
  SELECT *,
         ${missing === 'zero' ? 'coalesce(raw_y, 0)' : 'raw_y'} AS y,
         ${missing === 'zero' || metric.kind === 'count' ? 'true' : 'raw_y IS NOT NULL AND events > 0'} AS included
  FROM per_unit
),
capped AS (SELECT * REPLACE (${capPercentile} AS y) FROM valued)`;
  return { ctes, eventJoin };
}

/**
 * Sums per (variation, segment, window) over `capped`, with the quantile point estimate (from the
 * per-unit value lists, or from the events `ev` joined to `capped` as u by `eventJoin`, grouped by
 * capped's group number g: integer keys, not text, for a million events); ordered.
 */
function aggregateSql(metric: MetricDefinition, eventJoin?: string, extraLevels: readonly number[] = [], known: readonly number[] = []): string {
  const byGroupNumber = metric.kind === 'quantile' && eventJoin !== undefined;
  // Without the events to join, a quantile reads the per-unit value lists: those are its samples too.
  const withSamples = metric.kind === 'quantile' && !byGroupNumber;
  // By group number, one quantile_cont reads the estimate (first) and any extra levels in the same
  // pass, and the events are counted (a check on the per-unit counts).
  const levels = [metric.quantile ?? 0.5, ...extraLevels].map(doubleLiteral).join(', ');
  return `,
agg AS (
  SELECT variation, segment, window_start, ${byGroupNumber ? 'min(g) AS g,' : ''}
         count(*) AS units,
         count(*) FILTER (WHERE included) AS n,
         coalesce(sum(y) FILTER (WHERE included), 0) AS sum,
         coalesce(sum(y * y) FILTER (WHERE included), 0) AS sum_squares,
         coalesce(sum(events) FILTER (WHERE included), 0) AS denom_sum,
         coalesce(sum(events * events) FILTER (WHERE included), 0) AS denom_sum_squares,
         coalesce(sum(y * events) FILTER (WHERE included), 0) AS cross_sum,
         coalesce(sum(x_value) FILTER (WHERE included), 0) AS covariate_sum,
         coalesce(sum(x_value * x_value) FILTER (WHERE included), 0) AS covariate_sum_squares,
         coalesce(sum(x_value * y) FILTER (WHERE included), 0) AS covariate_cross_sum,
         ${withSamples ? 'list(vals ORDER BY unit_index) FILTER (WHERE included AND len(vals) > 0)' : 'CAST(NULL AS DOUBLE[][])'} AS samples
  FROM capped
  GROUP BY ALL
),
q AS (
  ${
    metric.kind === 'quantile'
      ? eventJoin
        ? `SELECT u.g, quantile_cont(CAST(e.v AS DOUBLE), [${levels}]) AS levels, count(e.v) AS event_count
           FROM ev e JOIN capped u ON ${eventJoin} WHERE u.included AND e.v IS NOT NULL${known.length > 0 ? ` AND u.g NOT IN (${known.join(', ')})` : ''}
           GROUP BY u.g`
        : `SELECT variation, segment, window_start, quantile_cont(v, ${metric.quantile ?? 0.5}) AS quantile
           FROM (SELECT variation, segment, window_start, unnest(vals) AS v FROM capped WHERE included AND vals IS NOT NULL)
           GROUP BY ALL`
      : 'SELECT NULL AS variation, NULL AS segment, NULL AS window_start, CAST(NULL AS DOUBLE) AS quantile WHERE false'
  }
)
SELECT agg.*, ${byGroupNumber ? 'q.levels[1] AS quantile, q.levels AS levels, q.event_count' : 'q.quantile'}
FROM agg LEFT JOIN q ON ${
    byGroupNumber
      ? 'agg.g = q.g'
      : `agg.variation = q.variation AND agg.segment IS NOT DISTINCT FROM q.segment
                     AND agg.window_start IS NOT DISTINCT FROM q.window_start`
  }
ORDER BY agg.window_start NULLS FIRST, agg.segment NULLS FIRST, agg.variation`;
}

/**
 * The SQL of per-arm sufficient statistics for one metric, over the views alone (it runs unchanged
 * in the duckdb CLI). Quantile samples: units in unit-id order (a seeded bootstrap resamples the
 * same units on every run); the values within a unit in no particular order (a unit's values enter
 * the bootstrap as a whole, and sorting them per unit cost a sort of every event). Steps: exposed
 * units (with segment, covariate) → the metric's events per unit (window after exposure applied) →
 * per-unit Y (and N for ratios) with the missing rule → winsorisation → sums.
 * @example
 * const sql = metricStatsSql(definition, { name: 'resolved', kind: 'binary', from: { outcome: 'resolved' }, direction: 'increase' });
 */
export function metricStatsSql(def: ExperimentDefinition, metric: MetricDefinition, options: MetricSqlOptions = {}): string {
  return perUnitCtes(def, metric, options, viewSources(def), true).ctes + aggregateSql(metric);
}

interface StatsRow {
  variation: string;
  segment: string | null;
  window_start: string | null;
  units: number;
  n: number;
  sum: number;
  sum_squares: number;
  denom_sum: number;
  denom_sum_squares: number;
  cross_sum: number;
  covariate_sum: number;
  covariate_sum_squares: number;
  covariate_cross_sum: number;
  samples: number[][] | null;
  quantile: number | null;
  /** The group number of a quantile metric's row (1-based, in the result's order). */
  g?: number;
  /** Quantile metrics by group number: quantile_cont at the estimate's level, then the extra levels asked for. */
  levels?: number[] | null;
  /** Quantile metrics by group number: the events the quantile was read from. */
  event_count?: number | null;
  quantile_arm?: QuantileArm;
}

function toArmStats(row: StatsRow, metric: MetricDefinition): ArmMetricStats {
  const stats: ArmMetricStats = { variation: row.variation, units: row.units, n: row.n, sum: row.sum, sumSquares: row.sum_squares };
  if (row.segment !== null) stats.segment = row.segment;
  if (metric.kind === 'ratio') {
    stats.denomSum = row.denom_sum;
    stats.denomSumSquares = row.denom_sum_squares;
    stats.crossSum = row.cross_sum;
  }
  // Σ of the per-unit value counts (the ratio's denominator sum): the values the calls carried.
  if (readsCalls(metric)) stats.valuesRead = row.denom_sum;
  if (metric.covariate) {
    stats.covariateSum = row.covariate_sum;
    stats.covariateSumSquares = row.covariate_sum_squares;
    stats.covariateCrossSum = row.covariate_cross_sum;
  }
  if (metric.kind === 'quantile') {
    if (row.samples) stats.samples = row.samples;
    if (row.quantile !== null) stats.quantile = row.quantile;
    if (row.quantile_arm) stats.quantileArm = row.quantile_arm;
  }
  return stats;
}

/** Runs a metric's statistics over the experiment's working set: one row per (window, segment, variation). */
async function metricRows(ds: Dataset, def: ExperimentDefinition, metric: MetricDefinition, options: MetricSqlOptions): Promise<StatsRow[]> {
  // A prepared experiment is itself a MetricSources (its tables under the same names).
  const prepared = await prepareExperiment(ds, def);
  // The exposure attributes this metric reads: its segment and its covariate attribute.
  const attributes = [...(options.segment ? [segmentAttribute(options.segment)] : []), ...covariateAttributes(metric)];
  const sources: MetricSources = { ...prepared, units: unitsWithAttributes(prepared, def, attributes) };
  const { ctes, eventJoin } = perUnitCtes(def, metric, options, sources, false);
  if (metric.kind !== 'quantile') return ds.query<StatsRow>(ctes + aggregateSql(metric));
  // Quantiles: the per-unit rows once into a table (numbered r in the order of the result: window,
  // segment, variation, unit id; g numbers the groups); sums from it; for the groups that may have
  // the asymptotic interval, the estimate and its statistics from their largest events (see
  // `nearFirstQuantiles`), or else from quantile_cont over all events with the value a below every
  // outer level (see `outerWindow`, `quantileArms`); the point estimate of the other groups by
  // quantile_cont. Event values reach JavaScript only for the groups that need the bootstrap.
  const table = `abtel_quantile_${prepared.units}`;
  const order = 'window_start NULLS FIRST, segment NULLS FIRST, variation';
  await ds.connection.run(`CREATE OR REPLACE TEMP TABLE ${table} AS ${ctes}
    SELECT *, CAST(row_number() OVER (ORDER BY ${order}, unit_index) AS INTEGER) AS r,
              CAST(dense_rank() OVER (ORDER BY ${order}) AS INTEGER) AS g
    FROM capped`);
  try {
    const ev = `ev AS (${eventSql(def, metric, sources)})`;
    const level = metric.quantile ?? 0.5;
    const asymptotic = options.quantileInterval !== false && metric.interval !== 'bootstrap';
    // The included units' event values (e) with their per-unit row (u).
    const events = `ev e JOIN ${table} u ON ${eventJoin} WHERE u.included AND e.v IS NOT NULL`;
    const window = asymptotic ? await outerWindow(ds, table, level) : undefined;
    // The groups that may have the asymptotic interval, estimates included, from their largest
    // events alone when that works; else (and for the other groups) quantile_cont over all events.
    const nearFirst = window ? await nearFirstQuantiles(ds, { ev, events, table }, level, window) : undefined;
    const extraLevels = window && !nearFirst ? [window.lowerLevel] : [];
    const known = nearFirst ? [...nearFirst.values.keys()] : [];
    const rows = await ds.query<StatsRow>(`WITH capped AS (FROM ${table}), ${ev}${aggregateSql(metric, eventJoin, extraLevels, known)}`);
    if (nearFirst) for (const row of rows) row.quantile = nearFirst.values.get(row.g!) ?? row.quantile;
    if (options.quantileInterval === false) return rows;
    const bootstrap = new Set<number>();
    if (!asymptotic) {
      for (const row of rows) bootstrap.add(row.g!);
    } else {
      const arms = nearFirst?.arms ?? (window ? await quantileArms(ds, { ev, events, table }, rows, level, window) : new Map<number, QuantileArm>());
      // A comparison is within one window and segment: when one of its arms is below the
      // asymptotic interval's minimum, every arm of it gets the bootstrap's event lists.
      const set = (row: StatsRow): string => `${row.window_start ?? ''}\u0000${row.segment ?? ''}`;
      const small = new Set(rows.filter((row) => row.quantile !== null && !arms.has(row.g!)).map(set));
      for (const row of rows) {
        if (small.has(set(row))) bootstrap.add(row.g!);
        if (arms.has(row.g!)) row.quantile_arm = arms.get(row.g!)!;
      }
    }
    if (bootstrap.size > 0) {
      const groups = [...bootstrap].join(', ');
      const samples = await unitSamples(
        ds,
        `SELECT r, g, events FROM ${table} WHERE included AND g IN (${groups})`,
        `WITH ${ev} SELECT u.r, CAST(e.v AS DOUBLE) AS v FROM ${events} AND u.g IN (${groups})`,
        rows.length,
      );
      for (const row of rows) if (bootstrap.has(row.g!)) row.samples = samples[row.g! - 1] ?? [];
    }
    return rows;
  } finally {
    await ds.connection.run(`DROP TABLE IF EXISTS ${table}`);
  }
}

/** A double as a DuckDB DOUBLE literal that reads back to the same number. */
function doubleLiteral(value: number): string {
  // toExponential() without digits gives the shortest exact form; the exponent makes it a DOUBLE, not a DECIMAL.
  return value.toExponential();
}

/**
 * A level p − δ that is certainly below every group's lower asymptotic outer level p − z·σ_p:
 * σ_p² = var(I − p̂N)/(n·mean_N²) over units, and |I_i − p̂N_i| ≤ N_i, so
 * σ_p² ≤ Σ N² / ((n − 1)·n·mean_N²) ≤ 2·Σ N² / (Σ N)² (n ≥ 2); δ takes z = 2 (> 1.96) and the
 * largest bound over the groups that can have the asymptotic interval (one level for all: each
 * extra level costs quantile_cont another selection over every event, ≈ 0.1 s per 10 M). Read from
 * the per-unit table alone (its `events` column is N_i), before any pass over the events.
 */
async function outerWindow(ds: Dataset, table: string, q: number): Promise<OuterWindow | undefined> {
  const groups = await ds.query<{ g: number; n: number; sum_n: number; sum_n2: number }>(
    `SELECT g, count(*) AS n, sum(events) AS sum_n, sum(events * events) AS sum_n2 FROM ${table} WHERE included AND events > 0 GROUP BY g`,
  );
  const events = new Map<number, number>();
  const units = new Map<number, number>();
  let delta = 0;
  for (const group of groups) {
    // Groups below the minimum go to the bootstrap whatever the window; they must not widen it.
    if (group.n < QUANTILE_ASYMPTOTIC_MIN_UNITS || group.sum_n < QUANTILE_ASYMPTOTIC_MIN_EVENTS) continue;
    events.set(group.g, group.sum_n);
    units.set(group.g, group.n);
    delta = Math.max(delta, (2 * Math.sqrt(2 * group.sum_n2)) / group.sum_n);
  }
  return events.size === 0 ? undefined : { lowerLevel: Math.max(0, q - delta), events, units };
}

/** The level below every outer level (see `outerWindow`). */
interface OuterWindow {
  readonly lowerLevel: number;
  /** Per group that may have the asymptotic interval, Σ N_i of the per-unit table: must equal the events the quantile was read from. */
  readonly events: ReadonlyMap<number, number>;
  /** Per such group, its units with events. */
  readonly units: ReadonlyMap<number, number>;
}

/**
 * The asymptotic quantile interval's sufficient statistics per group (Deng, Knoblich & Lu 2018,
 * see @abtel/stats `compareQuantileArms`), for the groups that meet its minimum, when the estimate
 * and the value a below every outer level (see `outerWindow`) came from `quantile_cont` over all
 * events: the events at or above a (a few percent of them for a p95) go to a small table, and
 * `armsFromNear` does the rest. A group whose counts do not add up (which should not happen) gets
 * no asymptotic statistics and goes to the bootstrap.
 */
async function quantileArms(
  ds: Dataset,
  sql: NearSql,
  rows: readonly StatsRow[],
  q: number,
  window: OuterWindow,
): Promise<Map<number, QuantileArm>> {
  const bounds = new Map<number, { value: number; a: number }>();
  for (const row of rows) {
    const events = window.events.get(row.g!);
    const levels = row.levels;
    if (events === undefined || !levels || row.quantile === null || row.event_count !== events) continue;
    const [value, a] = levels;
    if (value === undefined || a === undefined || !Number.isFinite(value) || !Number.isFinite(a)) continue;
    bounds.set(row.g!, { value, a });
  }
  if (bounds.size === 0) return new Map();
  const near = await nearTable(ds, sql, new Map([...bounds].map(([g, bound]) => [g, bound.a])));
  try {
    return await armsFromNear(ds, sql.table, near, new Map([...bounds].map(([g, bound]) => [g, bound.value])), window.events, q);
  } finally {
    await ds.connection.run(`DROP TABLE IF EXISTS ${near.name}`);
  }
}

/** SQL pieces of a quantile metric: the events CTE, the included events joined to the per-unit table, that table. */
interface NearSql {
  readonly ev: string;
  readonly events: string;
  readonly table: string;
}

/** A CASE over the group number `g` that gives each listed group its constant. */
function byGroup(column: string, values: ReadonlyMap<number, number>): string {
  return `CASE ${column} ${[...values].map(([g, value]) => `WHEN ${g} THEN ${doubleLiteral(value)}`).join(' ')} END`;
}

/**
 * The included events of the listed groups at or above their group's bound in a temporary table
 * (r, g, v, and k: the position by value within the group), and how many each group has there.
 * The bounds are constants in a CASE, not a joined table: joined, DuckDB paired every event with
 * every bound before the per-unit join.
 */
async function nearTable(ds: Dataset, sql: NearSql, bounds: ReadonlyMap<number, number>): Promise<{ name: string; held: Map<number, number> }> {
  const name = `${sql.table}_near`;
  // The smallest bound as a constant too: DuckDB filters the events while scanning, before the
  // join that gives each event its group.
  const lowest = Math.min(...bounds.values());
  // k: the row's 1-based position by value within its group, numbered once here for every
  // order statistic read later (see valuesAt).
  await ds.connection.run(
    `CREATE OR REPLACE TEMP TABLE ${name} AS WITH ${sql.ev}
     SELECT u.r, u.g, CAST(e.v AS DOUBLE) AS v, row_number() OVER (PARTITION BY u.g ORDER BY CAST(e.v AS DOUBLE)) AS k
     FROM ${sql.events} AND u.g IN (${[...bounds.keys()].join(', ')})
       AND CAST(e.v AS DOUBLE) >= ${doubleLiteral(lowest)} AND CAST(e.v AS DOUBLE) >= ${byGroup('u.g', bounds)}`,
  );
  const counted = await ds.query<{ g: number; held: number }>(`SELECT g, count(*) AS held FROM ${name} GROUP BY g`);
  return { name, held: new Map(counted.map((row) => [row.g, row.held])) };
}

/** The values at 1-based positions (k) of each group's near-table rows sorted by value, by "g:position". */
async function valuesAt(ds: Dataset, near: string, positions: ReadonlyMap<number, readonly number[]>): Promise<Map<string, number>> {
  const pairs = [...positions].flatMap(([g, list]) => list.map((position) => `(${g}, ${position})`));
  const picked = await ds.query<{ g: number; k: number; v: number }>(
    `WITH wanted(g, k) AS (VALUES ${[...new Set(pairs)].join(', ')})
     SELECT g, k, v FROM ${near} JOIN wanted USING (g, k)`,
  );
  return new Map(picked.map((row) => [`${row.g}:${row.k}`, row.v]));
}

/**
 * The 1-based near-table positions of the two order statistics a type-7 quantile at `level`
 * interpolates between, for a group of `events` events of which the largest `held` are in the
 * near table (rank − (events − held) + 1; below 1 when the rank is not held).
 */
function typeSevenPositions(events: number, held: number, level: number): [number, number] {
  const lo = Math.floor((events - 1) * level);
  const base = events - held;
  return [lo - base + 1, Math.min(lo + 1, events - 1) - base + 1];
}

/** The type-7 quantile at `level` of `events` events from its two order statistics. */
function typeSeven(events: number, level: number, low: number, high: number): number {
  const h = (events - 1) * level;
  return low + (h - Math.floor(h)) * (high - low);
}

/**
 * From a near table (the largest events of each group, see `nearTable`) and each group's estimate
 * (and its Σ N_i, `events`): per unit, the events above the estimate give I_i = N_i − above_i (N_i
 * from the per-unit table), summed per group; @abtel/stats turns the sums into the outer levels,
 * and DuckDB returns the type-7 quantiles' order statistics by position: four values per group
 * reach JavaScript, no list of events. A group whose outer ranks fall below the near table gets no
 * statistics.
 */
async function armsFromNear(
  ds: Dataset,
  table: string,
  near: { name: string; held: ReadonlyMap<number, number> },
  estimates: ReadonlyMap<number, number>,
  events: ReadonlyMap<number, number>,
  q: number,
): Promise<Map<number, QuantileArm>> {
  const arms = new Map<number, QuantileArm>();
  const sums = await ds.query<{ g: number; n: number; events: number; sum_i: number; sum_i2: number; sum_n2: number; sum_in: number }>(
    `WITH above AS (SELECT r, count(*) FILTER (WHERE v > ${byGroup('g', estimates)}) AS above FROM ${near.name} GROUP BY r),
     per_unit AS (
       SELECT x.g, x.events AS n, x.events - coalesce(p.above, 0) AS i
       FROM ${table} x LEFT JOIN above p ON p.r = x.r
       WHERE x.included AND x.events > 0 AND x.g IN (${[...estimates.keys()].join(', ')}))
     SELECT g, count(*) AS n, sum(n) AS events, sum(i) AS sum_i, sum(i * i) AS sum_i2, sum(n * n) AS sum_n2, sum(i * n) AS sum_in
     FROM per_unit GROUP BY g`,
  );
  const wanted = new Map<number, { counts: Omit<QuantileArm, 'value' | 'lower' | 'upper'>; levels: [number, number]; positions: number[] }>();
  for (const row of sums) {
    if (row.events !== events.get(row.g)) continue;
    const counts = { q, n: row.n, events: row.events, sumI: row.sum_i, sumISquares: row.sum_i2, sumNSquares: row.sum_n2, sumIN: row.sum_in };
    if (quantileAsymptoticIssue(counts) !== undefined) continue;
    const outer = quantileOuterLevels(counts);
    const positions = [outer.lower, outer.upper].flatMap((level) => typeSevenPositions(row.events, near.held.get(row.g) ?? 0, level));
    if (positions.every((position) => position >= 1)) wanted.set(row.g, { counts, levels: [outer.lower, outer.upper], positions });
  }
  if (wanted.size === 0) return arms;
  const values = await valuesAt(ds, near.name, new Map([...wanted].map(([g, { positions }]) => [g, positions])));
  for (const [g, { counts, levels, positions }] of wanted) {
    const at = (index: number): number => values.get(`${g}:${positions[index]}`) ?? Number.NaN;
    const lower = typeSeven(counts.events, levels[0], at(0), at(1));
    const upper = typeSeven(counts.events, levels[1], at(2), at(3));
    if (Number.isFinite(lower) && Number.isFinite(upper)) arms.set(g, { ...counts, value: estimates.get(g)!, lower, upper });
  }
  return arms;
}

// Near-first quantiles: the bound comes from a subsample of at least this many units per group ...
const NEAR_SAMPLE_UNITS = 2000;
// ... taken this far (in quantile level) below the lowest level needed, so that it almost always
// lies below it (the subsample's level error is about 0.006 at 2,000 units; every miss is caught).
const NEAR_MARGIN = 0.03;

/**
 * The estimate and the asymptotic statistics of every group that may have them, without a
 * quantile over all events (a selection over 10 M values cost ≈ 0.35 s, most of a p95 metric):
 * a bound below each group's lower outer level is read from a subsample of its units (every k-th
 * unit index), the events at or above it go to the near table, and since each group's event count
 * is known, the estimate's order statistics are found there by position. Undefined (nothing kept)
 * when some group's estimate falls below its bound: the caller then takes the quantile over all
 * events. The results are exact either way; only the bound is estimated.
 */
async function nearFirstQuantiles(
  ds: Dataset,
  sql: NearSql,
  q: number,
  window: OuterWindow,
): Promise<{ values: Map<number, number>; arms: Map<number, QuantileArm> } | undefined> {
  const level = window.lowerLevel - NEAR_MARGIN;
  if (!(level > 0)) return undefined;
  const groups = [...window.events.keys()];
  const every = Math.max(1, Math.floor(Math.min(...window.units.values()) / NEAR_SAMPLE_UNITS));
  const sampled = await ds.query<{ g: number; b: number | null }>(
    `WITH ${sql.ev} SELECT u.g, quantile_cont(CAST(e.v AS DOUBLE), ${doubleLiteral(level)}) AS b
     FROM ${sql.events} AND u.g IN (${groups.join(', ')}) AND u.unit_index % ${every} = 0 GROUP BY u.g`,
  );
  const bounds = new Map(sampled.filter((row) => row.b !== null && Number.isFinite(row.b)).map((row) => [row.g, row.b as number]));
  if (bounds.size !== groups.length) return undefined;
  const near = await nearTable(ds, sql, bounds);
  try {
    const positions = new Map<number, number[]>();
    for (const g of groups) {
      const events = window.events.get(g)!;
      const held = near.held.get(g) ?? 0;
      // The estimate's ranks, and the lower level's (below both outer levels: then all of theirs are held too).
      const list = typeSevenPositions(events, held, q);
      if (![...list, ...typeSevenPositions(events, held, window.lowerLevel)].every((position) => position >= 1)) return undefined;
      positions.set(g, list);
    }
    const picked = await valuesAt(ds, near.name, positions);
    const values = new Map<number, number>();
    for (const [g, [low, high]] of positions) {
      const value = typeSeven(window.events.get(g)!, q, picked.get(`${g}:${low}`) ?? Number.NaN, picked.get(`${g}:${high}`) ?? Number.NaN);
      if (!Number.isFinite(value)) return undefined;
      values.set(g, value);
    }
    return { values, arms: await armsFromNear(ds, sql.table, near, values, window.events, q) };
  } finally {
    await ds.connection.run(`DROP TABLE IF EXISTS ${near.name}`);
  }
}

/**
 * The typed array behind a DuckDB INTEGER or DOUBLE vector, when the installed @duckdb/node-api
 * keeps one (it does as `items`; not public API, hence the checks and the getItem fallback).
 * Only for columns without NULLs: the array does not carry validity.
 */
function typedItems<T extends Int32Array | Float64Array>(vector: DuckDBVector, type: new (length: number) => T): T | undefined {
  const items = (vector as unknown as { items?: unknown }).items;
  return items instanceof type ? items : undefined;
}

/** Visits every chunk of a materialised result with its column vectors. */
function eachChunk(result: DuckDBMaterializedResult, visit: (columns: DuckDBVector[], rows: number) => void): void {
  for (let index = 0; index < result.chunkCount; index++) {
    const chunk = result.getChunk(index);
    const columns = Array.from({ length: chunk.columnCount }, (_, column) => chunk.getColumnVector(column));
    visit(columns, chunk.rowCount);
  }
}

/**
 * Per-group lists of per-unit event values of a quantile metric. `unitsSql` gives (r, g, events)
 * for each included per-unit row, `valuesSql` gives (r, v) for each event value in any order; a
 * counting sort by r puts the units in r order (unit-id order within each group) without a sort of
 * events. Every r in `valuesSql` must be one of `unitsSql`, with exactly `events` values.
 */
async function unitSamples(ds: Dataset, unitsSql: string, valuesSql: string, groupCount: number): Promise<number[][][]> {
  // r numbers every per-unit row, included or not: size by the largest r. `events` is the number
  // of non-NULL values of each row, so every r's slice of the one array of values is known first.
  const units = await ds.connection.run(`SELECT r, g, CAST(events AS INTEGER) AS n FROM (${unitsSql}) ORDER BY r DESC`);
  let groupOf = new Int32Array(0);
  let starts = new Int32Array(0);
  eachChunk(units, ([r, g, n], rows) => {
    for (let row = 0; row < rows; row++) {
      const id = r!.getItem(row) as number;
      if (groupOf.length === 0) {
        groupOf = new Int32Array(id + 1);
        starts = new Int32Array(id + 2);
      }
      groupOf[id] = g!.getItem(row) as number;
      starts[id + 1] = n!.getItem(row) as number;
    }
  });
  for (let id = 1; id < starts.length; id++) starts[id]! += starts[id - 1]!;
  const sorted = new Float64Array(starts[starts.length - 1] ?? 0);
  const next = starts.slice(0, groupOf.length);
  const mismatch = (): Error => new Error('quantile samples: the values read do not match the per-unit event counts (a bug: please report it)');
  // Streamed chunk by chunk straight into each r's slice (reading a vector copies it out of DuckDB:
  // only one chunk's copy at a time, and DuckDB does not hold the whole result either).
  const events = await ds.connection.stream(valuesSql);
  for (let chunk = await events.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await events.fetchChunk()) {
    const rows = chunk.rowCount;
    const r = chunk.getColumnVector(0);
    const v = chunk.getColumnVector(1);
    const rowIds = typedItems(r, Int32Array) ?? Int32Array.from({ length: rows }, (_, row) => r.getItem(row) as number);
    const values = typedItems(v, Float64Array) ?? Float64Array.from({ length: rows }, (_, row) => v.getItem(row) as number);
    if (rowIds.length !== rows || values.length !== rows) throw mismatch();
    for (let row = 0; row < rows; row++) {
      const id = rowIds[row]!;
      if (id >= next.length || next[id]! >= starts[id + 1]!) throw mismatch();
      sorted[next[id]!++] = values[row]!;
    }
  }
  for (let id = 0; id < next.length; id++) if (next[id] !== starts[id + 1]) throw mismatch();
  const groups: number[][][] = Array.from({ length: groupCount }, () => []);
  for (let id = 1; id < groupOf.length; id++) {
    const from = starts[id]!;
    const to = starts[id + 1]!;
    if (to > from) groups[groupOf[id]! - 1]?.push(Array.from(sorted.subarray(from, to)));
  }
  return groups;
}

/**
 * Per-arm sufficient statistics of one metric for an experiment (optionally per segment value, or
 * for units first exposed in a time range). Every planned variation appears, with zeros when it
 * has no exposed units. The first call on a dataset materialises the experiment's working set
 * (see `prepareExperiment`).
 * @example
 * const arms = await armMetricStats(ds, definition, { name: 'resolved', kind: 'binary', from: { outcome: 'resolved' }, direction: 'increase' });
 * // [{ variation: 'control', units: 6650, n: 6650, sum: 1995, sumSquares: 1995 }, …]
 */
export async function armMetricStats(
  ds: Dataset,
  def: ExperimentDefinition,
  metric: MetricDefinition,
  options: ArmMetricOptions = {},
): Promise<ArmMetricStats[]> {
  const rows = await metricRows(ds, def, metric, options);
  const stats = rows.map((row) => toArmStats(row, metric));
  if (!options.segment) {
    for (const variation of def.variations) {
      if (!stats.some((arm) => arm.variation === variation.key)) stats.push(emptyArm(variation.key, metric));
    }
    const order = def.variations.map((v) => v.key);
    stats.sort((a, b) => rank(order, a.variation) - rank(order, b.variation));
  }
  return stats;
}

function rank(order: string[], key: string): number {
  const index = order.indexOf(key);
  return index < 0 ? order.length : index;
}

function emptyArm(variation: string, metric: MetricDefinition): ArmMetricStats {
  return toArmStats(
    {
      variation,
      segment: null,
      window_start: null,
      units: 0,
      n: 0,
      sum: 0,
      sum_squares: 0,
      denom_sum: 0,
      denom_sum_squares: 0,
      cross_sum: 0,
      covariate_sum: 0,
      covariate_sum_squares: 0,
      covariate_cross_sum: 0,
      samples: [],
      quantile: null,
    },
    metric,
  );
}

/** Population of an experiment: exposed units per arm, duplicates, and the cumulative timeline. */
export interface Population {
  exposed: Record<string, number>;
  duplicateExposures: number;
  multipleExposureUnits: number;
  firstExposure?: string;
  lastExposure?: string;
  timeline: { bucket: string; variation: string; cumulative: number }[];
}

/** Bucket sizes of the exposure timeline, in seconds: 1 s to 1 week. */
const TIMELINE_BUCKETS = [1, 5, 15, 60, 5 * 60, 15 * 60, 3600, 6 * 3600, 86_400, 7 * 86_400];

/**
 * The exposure timeline's bucket for exposures spread over `spanSeconds`: the smallest that gives
 * at most 60 buckets, so that a ten-second run draws ten points instead of one, and a quarter
 * draws weeks.
 * @example
 * timelineBucketSeconds(10); // 1
 * timelineBucketSeconds(6 * 3600); // 900 (15 minutes)
 */
export function timelineBucketSeconds(spanSeconds: number): number {
  return TIMELINE_BUCKETS.find((bucket) => spanSeconds / bucket <= 60) ?? TIMELINE_BUCKETS.at(-1)!;
}

/**
 * Exposed units per variation, duplicate exposure events, units seen in more than one variation,
 * and a cumulative exposure timeline (at most about 60 buckets, see timelineBucketSeconds).
 * @example
 * const { exposed } = await population(ds, definition); // { control: 6650, treatment: 6702 }
 */
export async function population(ds: Dataset, def: ExperimentDefinition): Promise<Population> {
  const { units } = await prepareExperiment(ds, def);
  const perArm = await ds.query<{ variation: string; units: number; duplicates: number; multiple: number; first: string | null; last: string | null }>(
    `SELECT variation, count(*) AS units, sum(exposure_count - 1) AS duplicates,
            count(*) FILTER (WHERE variation_count > 1) AS multiple,
            min(first_exposure_time) AS first, max(first_exposure_time) AS last
     FROM ${units} GROUP BY variation`,
  );
  const exposed: Record<string, number> = Object.fromEntries(def.variations.map((v) => [v.key, 0]));
  for (const row of perArm) exposed[row.variation] = row.units;
  const firsts = perArm.map((r) => r.first).filter((t): t is string => t !== null).sort();
  const lasts = perArm.map((r) => r.last).filter((t): t is string => t !== null).sort();
  const result: Population = {
    exposed,
    duplicateExposures: perArm.reduce((sum, row) => sum + row.duplicates, 0),
    multipleExposureUnits: perArm.reduce((sum, row) => sum + row.multiple, 0),
    timeline: [],
  };
  if (firsts[0]) result.firstExposure = firsts[0];
  if (lasts.length > 0) result.lastExposure = lasts[lasts.length - 1]!;
  if (result.firstExposure && result.lastExposure) {
    const seconds = timelineBucketSeconds((Date.parse(result.lastExposure) - Date.parse(result.firstExposure)) / 1000);
    result.timeline = await ds.query<{ bucket: string; variation: string; cumulative: number }>(
      `WITH b AS (SELECT time_bucket(INTERVAL '${seconds} seconds', first_exposure_time) AS bucket, variation, count(*) AS n
                  FROM ${units} GROUP BY ALL)
       SELECT bucket, variation, sum(n) OVER (PARTITION BY variation ORDER BY bucket) AS cumulative
       FROM b ORDER BY bucket, variation`,
    );
  }
  return result;
}

/** Health of an experiment's data. */
export interface Health {
  assignmentMismatches: number;
  assignmentChecked: number;
  exposuresWithoutCall: number;
  outcomesWithoutExposure: number;
  /**
   * Calls that carry the experiment as a second experiment of their conversation but name no unit
   * of it (telemetry without `abtel.assignment.ids`, primary experiment of another unit kind):
   * left out of its call metrics.
   */
  unattributedCalls: number;
  /**
   * Outcomes and evaluations of the experiment (naming it, or naming none in a conversation that is
   * in it) that name no unit of it: telemetry without `abtel.assignment.ids` on its events, for an
   * experiment whose unit is not the conversation. Left out of its outcome and evaluation metrics.
   */
  unattributedOutcomes: number;
  unattributedEvaluations: number;
  lastEventTime?: string;
  badLines: number;
}

/**
 * Data health: the assignment audit (each exposed unit's variation recomputed from the definition
 * with the documented hash, for exposures under the current version), exposures with no
 * gen_ai call, outcomes with no exposure, the newest event time, and bad lines.
 * @example
 * const { assignmentMismatches, assignmentChecked } = await health(ds, definition);
 */
export async function health(ds: Dataset, def: ExperimentDefinition): Promise<Health> {
  const { units, unitCalls, outcomes, evaluations, outcomeEvents, evaluationEvents } = await prepareExperiment(ds, def);
  const key = sqlString(def.key);
  const audit = await assignmentAudit(ds, def, units);
  const spanEnd = await newestSpanEnd(ds, units, key);
  // Counting the unattributed events scans every call (in which conversations is the experiment?):
  // only done when some event found no unit of the experiment, which is rare.
  const [unitless] = await ds.query<{ outcomes: number; evaluations: number }>(
    `SELECT (SELECT count(*) FROM ${outcomeEvents} WHERE unit_of IS NULL) AS outcomes,
            (SELECT count(*) FROM ${evaluationEvents} WHERE unit_of IS NULL) AS evaluations`,
  );
  const countOutcomes = Number(unitless?.outcomes ?? 0) > 0;
  const countEvaluations = Number(unitless?.evaluations ?? 0) > 0;
  // The experiment's conversations once for both counts (a scan of every call), only when needed.
  const conversations = countOutcomes || countEvaluations ? `WITH abtel_experiment_conversations AS MATERIALIZED (${experimentConversationsSql(def)}) ` : '';
  const unattributedEvents = (events: string, count: boolean) => (count ? unattributedEventsSql(def, events, 'abtel_experiment_conversations') : '0');
  const [counts] = await ds.query<{
    without_call: number;
    orphan_outcomes: number;
    unattributed_calls: number;
    unattributed_outcomes: number;
    unattributed_evaluations: number;
    last_event: string | null;
  }>(
    `${conversations}SELECT ${unattributedCallsSql(def)} AS unattributed_calls,
       ${unattributedEvents(outcomeEvents, countOutcomes)} AS unattributed_outcomes,
       ${unattributedEvents(evaluationEvents, countEvaluations)} AS unattributed_evaluations,
       (SELECT count(*) FROM ${units} x WHERE NOT EXISTS (SELECT 1 FROM ${unitCalls} c WHERE c.u = x.unit_index)) AS without_call,
       -- Two disjoint counts (each a plain anti join; one OR of two NOT EXISTS costs more): outcomes
       -- naming the experiment without its exposure, and outcomes naming none without any
       -- experiment's exposure (exposure_events has a row for every exposed unit); those with no
       -- unit of the experiment at all are unattributed_outcomes instead.
       -- (From the prepared outcome events: the outcomes view parses every outcome's attributes.)
       (SELECT count(*) FROM ${outcomeEvents} o WHERE o.experiment_key = ${key} AND o.unit_of IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM ${units} x WHERE x.unit_id = o.unit_of))
       + (SELECT count(*) FROM ${outcomeEvents} o WHERE o.experiment_key IS NULL
          AND NOT EXISTS (SELECT 1 FROM exposure_events x WHERE x.unit_id = o.unit_id)
          AND NOT EXISTS (SELECT 1 FROM ${units} x WHERE x.unit_id = o.unit_of)) AS orphan_outcomes,
       -- The experiment's own newest data (other experiments in the same files may still flow):
       -- its events, the outcomes and judge scores of its units, the spans that carry it.
       greatest((SELECT max(time) FROM events WHERE experiment_key = ${key}), (SELECT max(time) FROM ${outcomes}),
                (SELECT max(time) FROM ${evaluations}), ${spanEnd}) AS last_event`,
  );
  const result: Health = {
    assignmentMismatches: audit.mismatches,
    assignmentChecked: audit.checked,
    exposuresWithoutCall: counts?.without_call ?? 0,
    outcomesWithoutExposure: counts?.orphan_outcomes ?? 0,
    unattributedCalls: counts?.unattributed_calls ?? 0,
    unattributedOutcomes: counts?.unattributed_outcomes ?? 0,
    unattributedEvaluations: counts?.unattributed_evaluations ?? 0,
    badLines: ds.badLineCount,
  };
  if (counts?.last_event) result.lastEventTime = counts.last_event;
  return result;
}

/**
 * The newest end of a span that carries the experiment (`key`, an SQL string), as SQL (a literal,
 * or NULL without such spans). When some span ends at or after the experiment's newest exposure
 * (its calls come after it), the newest end is among those:
 * filtered by a constant, the Parquet reader skips every file whose statistics end earlier (one or
 * two files instead of a scan of every span's end time, ≈ 0.1 s at 10 M spans). Otherwise (no
 * exposures, or no span ending after them) every span is read.
 */
async function newestSpanEnd(ds: Dataset, units: string, key: string): Promise<string> {
  // Microseconds since the epoch (below 2^53 until the year 2255: exact as numbers).
  const [newestExposure] = await ds.query<{ us: number | null }>(`SELECT epoch_us(max(first_exposure_time)) AS us FROM ${units}`);
  const read = async (where: string): Promise<number | null> => {
    const [row] = await ds.query<{ us: number | null }>(`SELECT epoch_us(max(end_time)) AS us FROM spans s WHERE ${carriesExperiment('s', key)}${where}`);
    return row?.us ?? null;
  };
  const since = newestExposure?.us ?? null;
  const bound = since === null ? undefined : timestampLiteral(since);
  const newest = (bound === undefined ? null : await read(` AND end_time >= ${bound}`)) ?? (await read(''));
  return newest === null ? 'CAST(NULL AS TIMESTAMP)' : `make_timestamp(${newest})`;
}

/**
 * A TIMESTAMP literal at or before epoch microseconds `us` (whole milliseconds): a constant that
 * DuckDB compares with Parquet statistics, where `make_timestamp(us)` is not folded in time.
 * Undefined outside the years 0–9999, which ISO 8601 writes with a sign (OTLP's unsigned
 * nanoseconds end in 2554; a timestamp can come from elsewhere).
 */
function timestampLiteral(us: number): string | undefined {
  const ms = Math.floor(us / 1000);
  // Beyond ±8.64e15 ms a JavaScript Date is invalid (toISOString throws).
  if (!(Math.abs(ms) <= 8.64e15)) return undefined;
  const iso = new Date(ms).toISOString();
  return /^\d{4}-/.test(iso) ? `TIMESTAMP '${iso.replace('T', ' ').replace('Z', '')}'` : undefined;
}

/**
 * Recomputes the planned variation of every exposed unit under the current version with the
 * assignment hash (`bucketOf`, `variationForBucket`: the same function as `bucketSql` and
 * `variationSql` in SQL, with shared test vectors) and counts the units exposed to another one.
 * In JavaScript because the hash costs SQL list lambdas per byte (≈ 4 µs per unit in DuckDB).
 */
async function assignmentAudit(ds: Dataset, def: ExperimentDefinition, units: string): Promise<{ checked: number; mismatches: number }> {
  const salt = def.salt ?? def.key;
  // Two JSON arrays in one row: decoding 200 k strings one by one from DuckDB's vectors cost
  // ≈ 0.4 µs each, more than the hash; JSON.parse reads them in one native pass.
  const [row] = await ds.query<{ ids: string | null; variations: string | null }>(
    `SELECT CAST(to_json(list(unit_id ORDER BY unit_index)) AS VARCHAR) AS ids,
            CAST(to_json(list(variation ORDER BY unit_index)) AS VARCHAR) AS variations
     FROM ${units} WHERE experiment_version IS NULL OR experiment_version = ${Number(def.version)}`,
  );
  const unitIds = JSON.parse(row?.ids ?? '[]') as string[];
  const variations = JSON.parse(row?.variations ?? '[]') as (string | null)[];
  let mismatches = 0;
  for (let index = 0; index < unitIds.length; index++) {
    if (variationForBucket(def, bucketOf(salt, unitIds[index]!)) !== variations[index]) mismatches += 1;
  }
  return { checked: unitIds.length, mismatches };
}

/**
 * Per-window, per-arm statistics of a (guardrail) metric: windows of `windowMinutes` by call time
 * for span metrics (units active in the window), by first exposure time for outcome and
 * evaluation metrics (exposure cohorts). Windows are aligned to whole multiples of the width.
 * @example
 * const windows = await guardrailWindows(ds, definition, errorRate, 60);
 * // [{ windowStart: '2026-11-01T00:00:00.000Z', stats: [{ variation: 'control', … }, …] }, …]
 */
export async function guardrailWindows(
  ds: Dataset,
  def: ExperimentDefinition,
  metric: MetricDefinition,
  windowMinutes: number,
): Promise<{ windowStart: string; stats: ArmMetricStats[] }[]> {
  // Guardrail windows read each arm's value only: a quantile's point estimate, no interval statistics.
  const rows = await metricRows(ds, def, metric, { windowMinutes, quantileInterval: false });
  const windows = new Map<string, ArmMetricStats[]>();
  for (const row of rows) {
    if (row.window_start === null) continue;
    const list = windows.get(row.window_start) ?? [];
    list.push(toArmStats(row, metric));
    windows.set(row.window_start, list);
  }
  return [...windows.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([windowStart, stats]) => ({ windowStart, stats }));
}

/**
 * Judge scores per time window, arm and evaluation name: n, mean and sample standard deviation
 * (null for a window with one score, where it is undefined).
 * @example
 * const trend = await judgeTrend(ds, definition, 60);
 */
export async function judgeTrend(
  ds: Dataset,
  def: ExperimentDefinition,
  windowMinutes: number,
): Promise<{ windowStart: string; variation: string; name: string; n: number; mean: number; sd: number | null }[]> {
  const { evaluations } = await prepareExperiment(ds, def);
  const interval = `INTERVAL '${Math.max(1, Math.round(windowMinutes))} minutes'`;
  return ds.query(
    `SELECT time_bucket(${interval}, time) AS windowStart, variation, name, count(score) AS n,
            avg(score) AS mean, stddev_samp(score) AS sd
     FROM ${evaluations} WHERE score IS NOT NULL AND name IS NOT NULL
     GROUP BY ALL ORDER BY windowStart, name, variation`,
  );
}

/**
 * Exposed units per segment value and arm (for the segment-mix test).
 * @example
 * const mix = await segmentMix(ds, definition, 'plan'); // [{ value: 'free', variation: 'control', units: 3300 }, …]
 */
export async function segmentMix(
  ds: Dataset,
  def: ExperimentDefinition,
  segment: string,
): Promise<{ value: string; variation: string; units: number }[]> {
  const units = unitsWithAttributes(await prepareExperiment(ds, def), def, [segmentAttribute(segment)]);
  return ds.query(
    `SELECT coalesce(${segmentValueSql('x', segment)}, '(none)') AS value, variation, count(*) AS units
     FROM ${units} x GROUP BY ALL ORDER BY value, variation`,
  );
}

/**
 * Segment names (`abtel.segment.<name>` attributes, prefix removed) present on any exposure of the
 * experiment, sorted. Read over every exposure event, not only first exposures, so a segment that
 * appears only on later exposures still counts as present.
 * @example
 * await segmentAttributesSeen(ds, definition); // ['locale', 'plan']
 */
export async function segmentAttributesSeen(ds: Dataset, def: ExperimentDefinition): Promise<string[]> {
  const prefix = sqlString(ATTR_ABTEL_SEGMENT_PREFIX);
  const rows = await ds.query<{ name: string }>(
    `SELECT DISTINCT substr(k, length(${prefix}) + 1) AS name
     FROM (SELECT unnest(json_keys(attributes)) AS k FROM exposure_events WHERE experiment_key = ${sqlString(def.key)})
     WHERE starts_with(k, ${prefix}) ORDER BY name`,
  );
  return rows.map((row) => row.name);
}

/**
 * Conversations whose gen_ai calls carry the experiment but that never had an exposure: assigned
 * (or stamped) yet never exposed, so excluded from every metric. Counted for the population table.
 * @example
 * const excluded = await excludedUnits(ds, definition); // 20
 */
export async function excludedUnits(ds: Dataset, def: ExperimentDefinition): Promise<number> {
  const { units } = await prepareExperiment(ds, def);
  const [row] = await ds.query<{ n: number }>(
    // Distinct conversations first (20 k from a million calls), then the anti join: half the work
    // of testing every call against the exposures.
    `SELECT count(*) AS n
     FROM (SELECT DISTINCT conversation_id FROM gen_ai_calls
           WHERE experiment_key = ${sqlString(def.key)} AND conversation_id IS NOT NULL) c
     ANTI JOIN ${units} e ON e.conversation_id = c.conversation_id`,
  );
  return row?.n ?? 0;
}
