/**
 * The per-experiment working set of an analysis, materialised once per dataset: the exposed units
 * (numbered in unit-id order), their gen_ai calls reduced to the columns the metrics read, and the
 * experiment's outcomes and evaluations. Every statistic of a report then reads these small,
 * typed, in-memory tables instead of scanning the spans (Parquet or parsed JSON) and re-deriving
 * the first exposure per unit again for each metric, segment and window.
 */
import { ATTR_ABTEL_SEGMENT_PREFIX, type ExperimentDefinition, type MetricDefinition } from '@abtel/core';
import { sqlString } from '@abtel/files';
import { jsonPath } from './json-path.js';
import type { Dataset } from './dataset.js';

/** Names of the tables that hold one experiment's working set, and what they contain. */
export interface PreparedExperiment {
  readonly key: string;
  /**
   * Exposed units: unit_index (1…n in unit-id order), unit_id, conversation_id, variation,
   * experiment_version, first_exposure_time, exposure_count, variation_count and attributes: of
   * the first exposure's attributes, only those named in `unitAttributes`.
   */
  readonly units: string;
  /**
   * The exposure attributes kept in `units.attributes`: the segments asked for when preparing
   * (`abtel.segment.<name>`) and the metrics' covariate attributes. Exposures carry a few hundred
   * bytes of attributes each: keeping all of them for 200 k units made DuckDB evict the 10 M-call
   * working set to disk under its memory limit; see `unitsWithAttributes` for the others.
   */
  readonly unitAttributes: ReadonlySet<string>;
  /** The exposed units' gen_ai calls: u (unit_index), t (start time) and one column per value read. */
  readonly calls: string;
  /** Value columns present in `calls`, by the SQL expression over `gen_ai_calls` they hold. */
  readonly callColumns: ReadonlyMap<string, string>;
  /**
   * Per exposed unit with calls: u, calls (count), and for each column cN of `calls`: cN_s (sum as
   * DOUBLE), cN_n (count of non-NULL values), cN_b (1.0 when any value > 0, 0.0 when none, NULL
   * when all are NULL); calls_s/_n/_b for the call count itself, none_* for a value that is never set.
   */
  readonly unitCalls: string;
  /** The experiment's evaluations with the unit_index of their unit. */
  readonly evaluations: string;
  /**
   * The outcomes of the exposed units that name this experiment or none: unit_index, name, value,
   * time. Read once instead of from the events for each outcome metric and segment readout.
   */
  readonly outcomes: string;
  /**
   * The outcomes (`outcomeEvents`) and evaluations (`evaluationEvents`) that name this experiment
   * or none, each with `unit_of`, its unit in this experiment by `unitIdSql` (NULL when it names
   * none): time, conversation_id, experiment_key, unit_of and the values (outcomes also their own
   * unit_id, the outcomes view's). `outcomes` and
   * `evaluations` are their rows whose unit is exposed; the health check counts those without a
   * unit from here instead of resolving the events again.
   */
  readonly outcomeEvents: string;
  readonly evaluationEvents: string;
}

/** Span values readable from gen_ai_calls (metric `from: { span_value }`), as SQL over its columns. */
const SPAN_VALUE_COLUMNS: Readonly<Record<string, string>> = {
  duration_ms: 'duration_ms',
  error: 'is_error',
  input_tokens: 'input_tokens',
  output_tokens: 'output_tokens',
  total_tokens: 'total_tokens',
  cost_usd: 'cost_usd',
  calls: '1.0',
};
/** Span attributes that gen_ai_calls already has as a column (metric `from: { span_attribute }`). */
const ATTRIBUTE_COLUMNS: Readonly<Record<string, string>> = {
  'abtel.usage.cost_usd': 'cost_usd',
  'gen_ai.usage.input_tokens': 'input_tokens',
  'gen_ai.usage.output_tokens': 'output_tokens',
};

/**
 * The SQL expression over `gen_ai_calls` a span metric reads, or undefined for other sources. Any
 * span attribute without its own column is read from `attributes` as a number (NULL when absent or
 * not numeric).
 * @example
 * spanValueSql({ from: { span_value: 'duration_ms' } }); // 'duration_ms'
 */
export function spanValueSql(metric: Pick<MetricDefinition, 'from'>): string | undefined {
  const from = metric.from;
  if ('span_value' in from) return SPAN_VALUE_COLUMNS[from.span_value] ?? 'NULL';
  if ('span_attribute' in from) {
    return ATTRIBUTE_COLUMNS[from.span_attribute] ?? `otlp_json_attr_num(attributes, ${sqlString(from.span_attribute)})`;
  }
  return undefined;
}

const prepared = new WeakMap<Dataset, Map<string, Promise<PreparedExperiment>>>();
let tableCounter = 0;

/** Experiments whose exposures come from feature flags: make `exposures` see them. */
async function registerFlagExposures(ds: Dataset, def: ExperimentDefinition): Promise<void> {
  const exposure = (def as { exposure?: { source?: string; flagKey?: string } }).exposure;
  if (exposure?.source !== 'feature_flag') return;
  const flagKey = exposure.flagKey ?? def.key;
  await ds.connection.run(
    `DELETE FROM exposure_flags WHERE experiment_key = ${sqlString(def.key)};
     INSERT INTO exposure_flags VALUES (${sqlString(flagKey)}, ${sqlString(def.key)});`,
  );
}

/**
 * Materialises an experiment's working set on the dataset (once; later calls return the same
 * tables). Pass every metric the analysis will compute so that their call values are collected in
 * the same scan, and the segments it will read out (default: the experiment's `segments`) so that
 * the units keep those attributes; anything else is still computed, more slowly (from
 * `gen_ai_calls`, or with the exposures' attributes joined back).
 * @example
 * const ds = await openDataset({ inputs: ['./data'] });
 * const working = await prepareExperiment(ds, definition, metrics);
 * console.log(await ds.query(`SELECT variation, count(*) AS units FROM ${working.units} GROUP BY ALL`));
 */
export function prepareExperiment(
  ds: Dataset,
  def: ExperimentDefinition,
  metrics: readonly MetricDefinition[] = [],
  segments: readonly string[] = def.segments ?? [],
): Promise<PreparedExperiment> {
  let byKey = prepared.get(ds);
  if (!byKey) {
    byKey = new Map();
    prepared.set(ds, byKey);
  }
  // The exposure source decides which events are exposures: part of the key with the experiment.
  const key = JSON.stringify([def.key, (def as { exposure?: unknown }).exposure ?? null]);
  const cached = byKey.get(key);
  if (cached) return cached;
  const work = materialise(ds, def, metrics, segments);
  byKey.set(key, work);
  work.catch(() => byKey.delete(key));
  return work;
}

/** Value columns for the calls table: the standard ones the metrics read, or all of them. */
function callColumnsFor(metrics: readonly MetricDefinition[]): Map<string, string> {
  const expressions = new Set<string>();
  if (metrics.length === 0) {
    for (const column of Object.values(SPAN_VALUE_COLUMNS)) expressions.add(column);
  }
  for (const metric of metrics) {
    const expression = spanValueSql(metric);
    if (expression !== undefined) expressions.add(expression);
  }
  expressions.delete('1.0');
  expressions.delete('NULL');
  return new Map([...expressions].map((expression, index) => [expression, `c${index}`]));
}

async function materialise(
  ds: Dataset,
  def: ExperimentDefinition,
  metrics: readonly MetricDefinition[],
  segments: readonly string[],
): Promise<PreparedExperiment> {
  await registerFlagExposures(ds, def);
  const id = ++tableCounter;
  const key = sqlString(def.key);
  const units = `abtel_units_${id}`;
  const calls = `abtel_calls_${id}`;
  const evaluations = `abtel_evaluations_${id}`;
  const outcomes = `abtel_outcomes_${id}`;
  const outcomeEvents = `abtel_outcome_events_${id}`;
  const evaluationEvents = `abtel_evaluation_events_${id}`;
  const unitCalls = `abtel_unit_calls_${id}`;
  const callColumns = callColumnsFor(metrics);
  const unitAttributes = new Set([
    ...segments.map(segmentAttribute),
    ...metrics.flatMap((metric) => covariateAttributes(metric)),
  ]);
  const attributes =
    unitAttributes.size === 0
      ? `'{}'::JSON`
      : `json_object(${[...unitAttributes].map((name) => `${sqlString(name)}, json_extract(attributes, ${jsonPath(name)})`).join(', ')})`;
  // The exposures view's first exposure per unit (by its abtel_exposure_order: earliest, then
  // variation, then fixed tie-breaks) with its counts, restated for one experiment: grouping with
  // arg_min instead of the view's window functions, and only the attributes kept carried along
  // (the view's whole attributes object through a window sort cost ≈ 0.2 s at 200 k units).
  await ds.connection.run(`CREATE OR REPLACE TEMP TABLE ${units} AS
    SELECT CAST(row_number() OVER (ORDER BY unit_id) AS INTEGER) AS unit_index,
           unit_id, f.conversation_id, f.variation, f.experiment_version, f.time AS first_exposure_time,
           exposure_count, variation_count, f.attributes
    FROM (SELECT unit_id,
                 arg_min({'conversation_id': conversation_id, 'variation': variation, 'experiment_version': experiment_version,
                          'time': time, 'attributes': ${attributes}},
                         abtel_exposure_order(time, variation, conversation_id, experiment_version, attributes)) AS f,
                 count(*) AS exposure_count, count(DISTINCT variation) AS variation_count
          FROM exposure_events WHERE experiment_key = ${key} GROUP BY unit_id)`);
  const values = [...callColumns].map(([expression, column]) => `, ${expression} AS ${column}`).join('');
  // gen_ai_calls is read once here, keeping only the exposed units' calls that carry the
  // experiment, keyed by an integer. A unit id alone is not enough: a user in two user-level
  // experiments has calls in conversations of the other one, and conversation ids can repeat.
  // The unit is the call's unit in this experiment, which is not the span's abtel.assignment.id
  // when the experiment is the second one of the conversation (see unitIdSql).
  await ds.connection.run(`CREATE OR REPLACE TEMP TABLE ${calls} AS
    SELECT x.unit_index AS u, c.start_time AS t${values}
    FROM gen_ai_calls c JOIN ${units} x ON x.unit_id = ${unitIdSql('c', def)}
    WHERE ${carriesExperiment('c', key)}`);
  // cN_b: the maximum of a boolean is NULL over NULLs alone, as the binary metric's value over no
  // values is (a CASE per row cost ≈ 12 ms more per column at 10 M calls).
  const sums = [...callColumns.values()]
    .map((column) => `, sum(CAST(${column} AS DOUBLE)) AS ${column}_s, count(${column}) AS ${column}_n,
       CAST(max(${column} > 0) AS DOUBLE) AS ${column}_b`)
    .join('');
  await ds.connection.run(`CREATE OR REPLACE TEMP TABLE ${unitCalls} AS
    SELECT u, count(*) AS calls, CAST(count(*) AS DOUBLE) AS calls_s, count(*) AS calls_n, 1.0 AS calls_b,
           CAST(NULL AS DOUBLE) AS none_s, 0 AS none_n, CAST(NULL AS DOUBLE) AS none_b${sums}
    FROM ${calls} GROUP BY u`);
  // Outcomes and evaluations by the same rule as calls: their unit in this experiment, which for a
  // user-level experiment is not the conversation they name. Resolved once (the evaluations' view
  // looks calls up by response id), kept with the unit found so that the health check can count
  // the ones without a unit.
  await ds.connection.run(`CREATE OR REPLACE TEMP TABLE ${evaluationEvents} AS
    SELECT v.time, v.conversation_id, v.experiment_key, ${unitIdSql('v', def, 'unit_experiment_key')} AS unit_of, v.name, v.score, v.label
    FROM evaluation_events_resolved v WHERE v.experiment_key IS NULL OR v.experiment_key = ${key}`);
  await ds.connection.run(`CREATE OR REPLACE TEMP TABLE ${outcomeEvents} AS
    SELECT o.time, o.conversation_id, o.unit_id, o.experiment_key, ${unitIdSql('o', def, 'unit_experiment_key')} AS unit_of, o.name, o.value
    FROM outcomes o WHERE o.experiment_key IS NULL OR o.experiment_key = ${key}`);
  await attributeByConversation(ds, def, [outcomeEvents, evaluationEvents]);
  await ds.connection.run(`CREATE OR REPLACE TEMP TABLE ${evaluations} AS
    SELECT x.unit_index, v.time, v.conversation_id, x.unit_id, v.name, v.score, v.label, x.variation
    FROM ${evaluationEvents} v JOIN ${units} x ON x.unit_id = v.unit_of`);
  await ds.connection.run(`CREATE OR REPLACE TEMP TABLE ${outcomes} AS
    SELECT x.unit_index, o.name, o.value, o.time
    FROM ${outcomeEvents} o JOIN ${units} x ON x.unit_id = o.unit_of`);
  return { key: def.key, units, unitAttributes, calls, callColumns, unitCalls, evaluations, outcomes, outcomeEvents, evaluationEvents };
}

/**
 * Gives the events of `tables` (prepared outcome or evaluation events with `unit_of`) that name no
 * unit of `def` the unit of their conversation in it, by the views' `abtel_conversation_units`
 * macro (sql/30_outcomes_calls.sql): an outcome recorded by another service with the conversation
 * id alone counts for the user whose conversation it was. Only conversations of such events are
 * looked up, and nothing runs when there are none (the usual case with current telemetry), or
 * when `def` randomises conversations (the conversation is then the unit already).
 */
async function attributeByConversation(ds: Dataset, def: ExperimentDefinition, tables: readonly string[]): Promise<void> {
  if (def.unit === 'conversation') return;
  const unattributed = tables.map((table) => `SELECT conversation_id FROM ${table} WHERE unit_of IS NULL AND conversation_id IS NOT NULL`).join(' UNION ');
  const [pending] = await ds.query<{ found: boolean }>(`SELECT EXISTS (${unattributed}) AS found`);
  if (pending?.found !== true) return;
  const units = `abtel_conversation_units_${++tableCounter}`;
  await ds.connection.run(`CREATE OR REPLACE TEMP TABLE ${units} AS SELECT * FROM ${conversationUnitsSql(def, unattributed)}`);
  for (const table of tables) {
    await ds.connection.run(`UPDATE ${table} SET unit_of = u.unit_id FROM ${units} u
      WHERE ${table}.unit_of IS NULL AND ${table}.conversation_id = u.conversation_id`);
  }
  await ds.connection.run(`DROP TABLE ${units}`);
}

/**
 * SQL: a subquery of (conversation_id, unit_id), the unit of `def` that each conversation among
 * `conversations` (a query of conversation ids) names, by the views' `abtel_conversation_units`
 * macro (sql/30_outcomes_calls.sql) with the definition's unit. The macro reads its experiments
 * from a relation, here a one-row CTE; the conversation filter reaches its scans.
 * @example
 * conversationUnitsSql(definition, 'SELECT conversation_id FROM o WHERE unit_of IS NULL');
 */
export function conversationUnitsSql(def: Pick<ExperimentDefinition, 'key' | 'unit'>, conversations: string): string {
  return `(WITH wanted AS (SELECT ${sqlString(def.key)} AS experiment_key, ${sqlString(def.unit)} AS unit)
           SELECT conversation_id, unit_id FROM abtel_conversation_units('wanted') WHERE conversation_id IN (${conversations}))`;
}

/**
 * SQL: whether the span row `alias` carries the experiment whose key is the SQL string `key`, through
 * the views' `abtel_carries_experiment` macro (sql/30_outcomes_calls.sql), so that abtel's analysis
 * and the `unit_metrics` view attribute calls by one rule.
 * @example
 * carriesExperiment('c', "'support-persona'"); // abtel_carries_experiment(c.experiment_key, c.experiments, 'support-persona')
 */
export function carriesExperiment(alias: string, key: string): string {
  return `abtel_carries_experiment(${alias}.experiment_key, ${alias}.experiments, ${key})`;
}

/**
 * SQL: the unit of experiment `def` that the row `alias` belongs to, through the views'
 * `abtel_unit_id` macro (sql/30_outcomes_calls.sql; the `unit_metrics` and `evaluations` views use
 * it too), for a `gen_ai_calls` row or (with `keyColumn` `unit_experiment_key`) an `outcomes` or
 * `evaluation_events_resolved` row: its `abtel.assignment.ids` entry, else its own unit id when
 * `def` is the experiment that id belongs to, else the conversation for a conversation-level
 * `def`, else its unit id when it is of `def`'s kind; NULL when none applies (see
 * `unattributedCallsSql`, `unattributedEventsSql`).
 * @example
 * unitIdSql('c', definition); // abtel_unit_id(c.experiment_key, …, 'support-persona', 'conversation')
 * unitIdSql('o', definition, 'unit_experiment_key'); // abtel_unit_id(o.unit_experiment_key, …)
 */
export function unitIdSql(
  alias: string,
  def: Pick<ExperimentDefinition, 'key' | 'unit'>,
  keyColumn: 'experiment_key' | 'unit_experiment_key' = 'experiment_key',
): string {
  return `abtel_unit_id(${alias}.${keyColumn}, ${alias}.assignment_unit, ${alias}.assignment_id, ${alias}.conversation_id,
    ${alias}.assignment_ids, ${sqlString(def.key)}, ${sqlString(def.unit)})`;
}

/**
 * SQL: the number of gen_ai calls that carry experiment `def` as a second experiment of their
 * conversation but name no unit of it (telemetry from before `abtel.assignment.ids`, where the
 * conversation's primary experiment randomises another kind of unit). They are left out of the
 * experiment's call metrics; the report says how many.
 * @example
 * await ds.query(`SELECT ${unattributedCallsSql(definition)} AS n`);
 */
export function unattributedCallsSql(def: Pick<ExperimentDefinition, 'key' | 'unit'>): string {
  // Only a span with abtel.experiments can carry a second experiment (a cheap first filter).
  return `(SELECT count(*) FROM gen_ai_calls c
    WHERE c.experiments IS NOT NULL AND ${carriesExperiment('c', sqlString(def.key))} AND c.experiment_key IS DISTINCT FROM ${sqlString(def.key)}
      AND ${unitIdSql('c', def)} IS NULL)`;
}

/**
 * SQL: the conversations of experiment `def`: those with an exposure of it or a call that carries
 * it (a scan of every call). `unattributedEventsSql` counts the events of these conversations.
 * @example
 * `WITH conversations AS MATERIALIZED (${experimentConversationsSql(definition)}) SELECT …`
 */
export function experimentConversationsSql(def: Pick<ExperimentDefinition, 'key'>): string {
  const key = sqlString(def.key);
  return `SELECT conversation_id FROM exposure_events WHERE experiment_key = ${key}
    UNION SELECT c.conversation_id FROM gen_ai_calls c WHERE ${carriesExperiment('c', key)}`;
}

/**
 * SQL: the number of outcomes or evaluations of experiment `def` that name no unit of it: rows of
 * `events` (a prepared `outcomeEvents` or `evaluationEvents` table) without `unit_of` that name
 * `def`, or name no experiment and belong to one of its conversations (`conversations`, a relation
 * of `experimentConversationsSql`, so that counting outcomes and evaluations scans the calls once).
 * They come from telemetry without `abtel.assignment.ids` on events (older @abtel/node, or an
 * outcome recorded where the conversation's units were not known) when `def` randomises something
 * other than the conversation and neither the event nor its conversation names a unit of that kind.
 * They are left out of its outcome and evaluation metrics; the report says how many.
 * @example
 * const working = await prepareExperiment(ds, definition);
 * await ds.query(`WITH c AS (${experimentConversationsSql(definition)}) SELECT ${unattributedEventsSql(definition, working.outcomeEvents, 'c')} AS n`);
 */
export function unattributedEventsSql(def: Pick<ExperimentDefinition, 'key'>, events: string, conversations: string): string {
  return `(SELECT count(*) FROM ${events} v
    WHERE v.unit_of IS NULL
      AND (v.experiment_key = ${sqlString(def.key)} OR v.conversation_id IN (SELECT conversation_id FROM ${conversations})))`;
}

/**
 * The exposure attributes a metric's covariate reads: the attribute itself, then (when it has no
 * number) the segment of the same name.
 * @example
 * covariateAttributes({ covariate: { attribute: 'tenure' } }); // ['tenure', 'abtel.segment.tenure']
 */
export function covariateAttributes(metric: Pick<MetricDefinition, 'covariate'>): string[] {
  const attribute = metric.covariate?.attribute;
  if (attribute === undefined) return [];
  const name = attribute.startsWith(ATTR_ABTEL_SEGMENT_PREFIX) ? attribute.slice(ATTR_ABTEL_SEGMENT_PREFIX.length) : attribute;
  return [attribute, segmentAttribute(name)];
}

/**
 * The exposure attribute that carries segment `name`.
 * @example
 * segmentAttribute('plan'); // 'abtel.segment.plan'
 */
export function segmentAttribute(name: string): string {
  return `${ATTR_ABTEL_SEGMENT_PREFIX}${name}`;
}

/**
 * The prepared units as SQL that has every attribute in `names` in its `attributes` column: the
 * units table itself when it keeps them, else the units with their first exposure's attributes
 * joined back from the exposures view (a segment or covariate that was not prepared).
 * @example
 * unitsWithAttributes(prepared, def, ['abtel.segment.plan']); // 'abtel_units_1'
 */
export function unitsWithAttributes(prepared: PreparedExperiment, def: ExperimentDefinition, names: readonly string[]): string {
  if (names.every((name) => prepared.unitAttributes.has(name))) return prepared.units;
  return `(SELECT x.* REPLACE (e.attributes AS attributes) FROM ${prepared.units} x
           JOIN exposures e ON e.experiment_key = ${sqlString(def.key)} AND e.unit_id = x.unit_id)`;
}
