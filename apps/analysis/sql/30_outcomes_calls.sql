-- outcomes: abtel.outcome events (value = coalesce(doubleValue, intValue); booleans 1/0).
CREATE OR REPLACE VIEW outcomes AS
SELECT time, conversation_id, coalesce(assignment_id, conversation_id) AS unit_id, experiment_key,
       outcome_name AS name, outcome_value AS value
FROM events
WHERE event_name = 'abtel.outcome' AND outcome_name IS NOT NULL;

-- Whether a span carries experiment `wanted`: as its abtel.experiment.key, or as an entry
-- `key=variation` of abtel.experiments (a conversation in several experiments). Spans from before
-- the assignment carry neither. unit_metrics and abtel's own analysis attribute calls with it.
CREATE OR REPLACE MACRO abtel_carries_experiment(experiment_key, experiments, wanted) AS
  experiment_key = wanted OR list_contains(list_transform(experiments, e -> split_part(e, '=', 1)), wanted);

-- The unit of experiment `wanted` (randomised on `wanted_unit`) that a call carrying it belongs
-- to. abtel.assignment.unit/.id describe only the conversation's first (primary) experiment, so:
-- the call's `wanted=<id>` entry of abtel.assignment.ids (telemetry from @abtel/node with several
-- experiments active); else the span's own unit id when `wanted` is its primary experiment; else
-- the conversation when `wanted` randomises conversations; else the span's unit id when the
-- primary randomises the same kind of unit. Otherwise NULL: the call cannot be attributed to a
-- unit of `wanted` (older telemetry; abtel's report counts these calls in a warning).
-- Experiment keys never contain '=' (KEY_PATTERN); unit ids may, so the id is all after the first.
CREATE OR REPLACE MACRO abtel_call_unit_id(experiment_key, assignment_unit, assignment_id, conversation_id, assignment_ids, wanted, wanted_unit) AS
  coalesce(
    substr(list_filter(assignment_ids, e -> starts_with(e, wanted || '='))[1], length(wanted) + 2),
    CASE WHEN experiment_key = wanted THEN coalesce(assignment_id, conversation_id)
         WHEN wanted_unit = 'conversation' THEN conversation_id
         WHEN wanted_unit = assignment_unit THEN coalesce(assignment_id, conversation_id) END);

-- gen_ai_calls: one row per gen_ai span (a span with gen_ai.operation.name or a request model).
-- unit_id is the unit of the span's primary experiment (experiment_key); a call's unit in another
-- experiment it carries is abtel_call_unit_id(…) over assignment_unit, assignment_id,
-- conversation_id and assignment_ids.
CREATE OR REPLACE VIEW gen_ai_calls AS
SELECT trace_id, span_id, conversation_id, coalesce(assignment_id, conversation_id) AS unit_id,
       experiment_key, variation, experiments, assignment_unit, assignment_id, assignment_ids, start_time, duration_ms,
       input_tokens, output_tokens,
       CASE WHEN input_tokens IS NULL AND output_tokens IS NULL THEN NULL
            ELSE coalesce(input_tokens, 0) + coalesce(output_tokens, 0) END AS total_tokens,
       cost_usd,
       CASE WHEN status_code = 2 OR error_type IS NOT NULL THEN 1 ELSE 0 END AS is_error,
       coalesce(response_model, request_model) AS model, operation_name, response_id, attributes
FROM spans
WHERE operation_name IS NOT NULL OR request_model IS NOT NULL;

-- evaluation_events_resolved: gen_ai.evaluation.result events with their unit (conversation, or the
-- call's conversation found by gen_ai.response.id), before attribution to an experiment arm.
CREATE OR REPLACE VIEW evaluation_events_resolved AS
WITH evaluation_events AS (
  SELECT * FROM events WHERE event_name = 'gen_ai.evaluation.result'
),
-- Calls of the evaluations that name only a response id; a pure equality join keeps it a hash
-- join (an IS NULL condition inside the join made DuckDB fall back to a nested loop).
by_response AS (
  SELECT response_id, any_value(unit_id) AS unit_id, any_value(conversation_id) AS conversation_id
  FROM gen_ai_calls
  WHERE response_id IN (SELECT response_id FROM evaluation_events
                        WHERE conversation_id IS NULL AND assignment_id IS NULL AND response_id IS NOT NULL)
  GROUP BY response_id
)
SELECT v.time, coalesce(v.conversation_id, r.conversation_id) AS conversation_id,
       coalesce(v.assignment_id, v.conversation_id, r.unit_id) AS unit_id, v.response_id,
       v.evaluation_name AS name, v.score_value AS score, v.score_label AS label,
       v.judge_model, v.judge_version, v.sample_rate, v.eval_source AS source, v.experiment_key
FROM evaluation_events v LEFT JOIN by_response r ON r.response_id = v.response_id;

-- evaluations: the resolved evaluations attributed to the experiment arms through the exposures of
-- their unit (an evaluation naming an experiment only to that experiment's exposures).
CREATE OR REPLACE VIEW evaluations AS
SELECT v.time, v.conversation_id, v.unit_id, v.response_id, v.name, v.score, v.label,
       v.judge_model, v.judge_version, v.sample_rate, v.source,
       x.experiment_key, x.variation
FROM evaluation_events_resolved v
LEFT JOIN exposures x ON x.unit_id = v.unit_id AND x.experiment_key = coalesce(v.experiment_key, x.experiment_key);
