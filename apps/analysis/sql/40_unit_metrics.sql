-- unit_metrics: one row per (experiment, variation, unit) with the standard per-unit aggregates.
-- Units are the exposed units; a unit without calls has calls = 0. A unit's calls are the calls
-- with its unit id that carry the experiment (abtel.experiment.key, or an abtel.experiments entry
-- `key=variation`): a user in two user-level experiments has calls of the other one too.
CREATE OR REPLACE VIEW unit_metrics AS
WITH calls AS (
  SELECT x.experiment_key, x.unit_id, count(*) AS calls, sum(c.is_error) AS errors,
         sum(c.duration_ms) AS duration_ms_sum, sum(c.input_tokens) AS input_tokens_sum,
         sum(c.output_tokens) AS output_tokens_sum, sum(c.total_tokens) AS total_tokens_sum, sum(c.cost_usd) AS cost_usd_sum
  -- The exposed (experiment, unit) pairs, without the exposures view's window functions: the
  -- outer query reads that view once.
  FROM (SELECT DISTINCT experiment_key, unit_id FROM exposure_events) x
  JOIN gen_ai_calls c ON c.unit_id = x.unit_id
  WHERE abtel_carries_experiment(c.experiment_key, c.experiments, x.experiment_key)
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
