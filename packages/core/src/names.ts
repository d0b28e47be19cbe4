/**
 * Attribute and event names of the abtel telemetry contract (DESIGN.md). New concepts use the
 * `abtel.` prefix; standard names are used verbatim where the meaning matches.
 */

/** `abtel.experiment.key`: the experiment key a span or event belongs to. */
export const ATTR_ABTEL_EXPERIMENT_KEY = 'abtel.experiment.key';
/** `abtel.experiment.variation`: the assigned variation key. */
export const ATTR_ABTEL_EXPERIMENT_VARIATION = 'abtel.experiment.variation';
/** `abtel.experiment.version`: the definition version the assignment was made under. */
export const ATTR_ABTEL_EXPERIMENT_VERSION = 'abtel.experiment.version';
/** `abtel.assignment.unit`: request | conversation | user | account | workflow. */
export const ATTR_ABTEL_ASSIGNMENT_UNIT = 'abtel.assignment.unit';
/** `abtel.assignment.id`: the unit's key when it is not the conversation id. */
export const ATTR_ABTEL_ASSIGNMENT_ID = 'abtel.assignment.id';
/** `abtel.experiments`: string[] of `key=variation` when several experiments are active. */
export const ATTR_ABTEL_EXPERIMENTS = 'abtel.experiments';
/**
 * `abtel.assignment.ids`: string[] of `key=id`, the unit id of each active experiment in the order
 * of `abtel.experiments`: on spans when several experiments are active (`abtel.assignment.id`
 * names only the first experiment's unit, and only when it is not the conversation); on outcome
 * and evaluation events whenever the recording process knows the conversation's experiments.
 */
export const ATTR_ABTEL_ASSIGNMENT_IDS = 'abtel.assignment.ids';
/** `abtel.assignment.migrated`: true when a lifecycle rule moved the unit off its assigned variation. */
export const ATTR_ABTEL_ASSIGNMENT_MIGRATED = 'abtel.assignment.migrated';
/** `abtel.segment.<name>`: prefix of pre-treatment segment attributes on exposures. */
export const ATTR_ABTEL_SEGMENT_PREFIX = 'abtel.segment.';
/** `abtel.outcome.name`: name of a product outcome. */
export const ATTR_ABTEL_OUTCOME_NAME = 'abtel.outcome.name';
/** `abtel.outcome.value`: value of a product outcome (double; booleans 1/0). */
export const ATTR_ABTEL_OUTCOME_VALUE = 'abtel.outcome.value';
/** `abtel.evaluation.judge.model`: the model that produced an evaluation. */
export const ATTR_ABTEL_EVALUATION_JUDGE_MODEL = 'abtel.evaluation.judge.model';
/** `abtel.evaluation.judge.version`: the judge prompt/rubric version. */
export const ATTR_ABTEL_EVALUATION_JUDGE_VERSION = 'abtel.evaluation.judge.version';
/** `abtel.evaluation.sample_rate`: the share of calls the judge sampled (for reweighting). */
export const ATTR_ABTEL_EVALUATION_SAMPLE_RATE = 'abtel.evaluation.sample_rate';
/** `abtel.evaluation.source`: online | offline | human. */
export const ATTR_ABTEL_EVALUATION_SOURCE = 'abtel.evaluation.source';
/** `abtel.usage.cost_usd`: estimated cost of a gen_ai call in US dollars. */
export const ATTR_ABTEL_USAGE_COST_USD = 'abtel.usage.cost_usd';

/** `abtel.exposure`: once per (experiment, unit), when the assigned behaviour is first used. */
export const EVENT_ABTEL_EXPOSURE = 'abtel.exposure';
/** `abtel.outcome`: a product outcome, possibly hours later and from another service. */
export const EVENT_ABTEL_OUTCOME = 'abtel.outcome';

/** The assignment units a definition may randomise on. */
export const ASSIGNMENT_UNITS = ['request', 'conversation', 'user', 'account', 'workflow'] as const;
export type AssignmentUnit = (typeof ASSIGNMENT_UNITS)[number];
