-- unit_metrics: one row per (experiment, variation, unit) with the standard per-unit aggregates.
-- Units are the exposed units; a unit without calls has calls = 0. A unit's calls are the calls
-- that carry the experiment (abtel.experiment.key, or an abtel.experiments entry `key=variation`)
-- and belong to the unit in that experiment (abtel_unit_id): a user in two user-level
-- experiments has calls of the other one too, and in a conversation of two experiments the
-- second one's unit is not the span's abtel.assignment.id.
CREATE OR REPLACE VIEW unit_metrics AS
WITH exposed AS (
  -- The exposed (experiment, unit) pairs, without the exposures view's window functions: the
  -- outer query reads that view once.
  SELECT DISTINCT experiment_key, unit_id FROM exposure_events
),
-- Each call once per exposed experiment it carries, with its unit in that experiment.
call_units AS (
  SELECT e.experiment_key AS wanted_key,
         abtel_unit_id(c.experiment_key, c.assignment_unit, c.assignment_id, c.conversation_id, c.assignment_ids,
                       e.experiment_key, e.unit) AS wanted_unit_id,
         c.is_error, c.duration_ms, c.input_tokens, c.output_tokens, c.total_tokens, c.cost_usd
  FROM gen_ai_calls c JOIN experiment_units e ON abtel_carries_experiment(c.experiment_key, c.experiments, e.experiment_key)
),
calls AS (
  SELECT x.experiment_key, x.unit_id, count(*) AS calls, sum(c.is_error) AS errors,
         sum(c.duration_ms) AS duration_ms_sum, sum(c.input_tokens) AS input_tokens_sum,
         sum(c.output_tokens) AS output_tokens_sum, sum(c.total_tokens) AS total_tokens_sum, sum(c.cost_usd) AS cost_usd_sum
  FROM exposed x
  JOIN call_units c ON c.wanted_key = x.experiment_key AND c.wanted_unit_id = x.unit_id
  GROUP BY x.experiment_key, x.unit_id
),
scores AS (
  SELECT experiment_key, unit_id, count(score) AS eval_count, sum(score) AS eval_score_sum
  FROM evaluations
  WHERE experiment_key IS NOT NULL
  GROUP BY experiment_key, unit_id
)
SELECT x.experiment_key, x.variation, x.unit_id, x.conversation_id, x.first_exposure_time,
       x.exposure_count, x.variation_count, x.segments,
       coalesce(c.calls, 0) AS calls, coalesce(c.errors, 0) AS errors,
       coalesce(c.duration_ms_sum, 0) AS duration_ms_sum, coalesce(c.input_tokens_sum, 0) AS input_tokens_sum,
       coalesce(c.output_tokens_sum, 0) AS output_tokens_sum, coalesce(c.total_tokens_sum, 0) AS total_tokens_sum,
       coalesce(c.cost_usd_sum, 0) AS cost_usd_sum,
       coalesce(s.eval_count, 0) AS eval_count, coalesce(s.eval_score_sum, 0) AS eval_score_sum
FROM exposures x
LEFT JOIN calls c ON c.unit_id = x.unit_id AND c.experiment_key = x.experiment_key
LEFT JOIN scores s ON s.unit_id = x.unit_id AND s.experiment_key = x.experiment_key;
