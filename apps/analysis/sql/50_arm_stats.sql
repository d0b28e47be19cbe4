-- arm_stats: sufficient statistics per (experiment, variation) over unit_metrics: units, sums,
-- sums of squares and cross products with the per-unit call count (for ratio metrics such as
-- latency per call: R = Σ duration / Σ calls, delta method over units). @abtel/stats turns these
-- into tests; outcome metrics by name are computed by abtel's armMetricStats.
CREATE OR REPLACE VIEW arm_stats AS
SELECT experiment_key, variation,
       count(*) AS units,
       count(*) FILTER (WHERE calls > 0) AS units_with_calls,
       sum(calls) AS calls_sum, sum(calls * calls) AS calls_sum_squares,
       sum(errors) AS errors_sum, sum(errors * errors) AS errors_sum_squares, sum(errors * calls) AS errors_calls_cross,
       sum(duration_ms_sum) AS duration_ms_sum, sum(duration_ms_sum * duration_ms_sum) AS duration_ms_sum_squares,
       sum(duration_ms_sum * calls) AS duration_ms_calls_cross,
       sum(input_tokens_sum) AS input_tokens_sum, sum(input_tokens_sum * input_tokens_sum) AS input_tokens_sum_squares,
       sum(input_tokens_sum * calls) AS input_tokens_calls_cross,
       sum(output_tokens_sum) AS output_tokens_sum, sum(output_tokens_sum * output_tokens_sum) AS output_tokens_sum_squares,
       sum(output_tokens_sum * calls) AS output_tokens_calls_cross,
       sum(cost_usd_sum) AS cost_usd_sum, sum(cost_usd_sum * cost_usd_sum) AS cost_usd_sum_squares,
       sum(cost_usd_sum * calls) AS cost_usd_calls_cross,
       sum(eval_count) AS eval_count_sum, sum(eval_score_sum) AS eval_score_sum,
       sum(eval_score_sum * eval_score_sum) AS eval_score_sum_squares, sum(eval_score_sum * eval_count) AS eval_score_count_cross
FROM unit_metrics
GROUP BY experiment_key, variation;
