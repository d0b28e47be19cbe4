-- outcomes: abtel.outcome events (value = coalesce(doubleValue, intValue); booleans 1/0).
-- experiment_key is the experiment the outcome names itself (recordOutcome's experimentKey; NULL:
-- every experiment it belongs to). The outcome's unit in experiment E is
-- abtel_unit_id(unit_experiment_key, assignment_unit, assignment_id, conversation_id,
-- assignment_ids, E, E's unit): its abtel.assignment.ids entry for E (@abtel/node stamps every
-- experiment of the conversation), else the conversation for a conversation-level E, else
-- assignment_id when it is of E's kind. unit_experiment_key, assignment_unit and assignment_id are
-- the event's own, or for a span event its span's (what the event inherits); unit_id is
-- coalesce(assignment_id, conversation_id), the unit of that experiment.
-- An event's own abtel.experiment.key and abtel.assignment.ids. A log record's experiment_key
-- column is its own; a span event's is its span's, so its own key is read from its attributes.
-- otlp_json_attr_str_list searches the text first, keeping JSON parsing to the events that have a
-- list (parsing every event's attributes cost 70 ms per 280 k outcomes).
CREATE OR REPLACE MACRO abtel_event_experiment_key(origin, experiment_key, attributes) AS
  CASE WHEN origin = 'log' THEN experiment_key ELSE otlp_json_attr_str(attributes, 'abtel.experiment.key') END;
CREATE OR REPLACE MACRO abtel_event_assignment_ids(attributes) AS otlp_json_attr_str_list(attributes, 'abtel.assignment.ids');

CREATE OR REPLACE VIEW outcomes AS
SELECT time, conversation_id, coalesce(assignment_id, conversation_id) AS unit_id,
       abtel_event_experiment_key(origin, experiment_key, attributes) AS experiment_key,
       outcome_name AS name, outcome_value AS value,
       experiment_key AS unit_experiment_key, assignment_unit, assignment_id,
       abtel_event_assignment_ids(attributes) AS assignment_ids
FROM events
WHERE event_name = 'abtel.outcome' AND outcome_name IS NOT NULL;

-- Whether a span carries experiment `wanted`: as its abtel.experiment.key, or as an entry
-- `key=variation` of abtel.experiments (a conversation in several experiments). Spans from before
-- the assignment carry neither. unit_metrics and abtel's own analysis attribute calls with it.
CREATE OR REPLACE MACRO abtel_carries_experiment(experiment_key, experiments, wanted) AS
  experiment_key = wanted OR list_contains(list_transform(experiments, e -> split_part(e, '=', 1)), wanted);

-- The unit of experiment `wanted` (randomised on `wanted_unit`) that a call, outcome or evaluation
-- belongs to; the one rule by which unit_metrics, the evaluations view and abtel's analysis
-- attribute them. abtel.assignment.unit/.id describe only one experiment (`experiment_key`: a
-- span's first, primary, experiment), so: the row's `wanted=<id>` entry of abtel.assignment.ids
-- (@abtel/node stamps it on spans when several experiments are active, and on outcomes and
-- evaluations whenever the conversation's experiments are known); else its abtel.assignment.id
-- when `wanted` is the experiment that id belongs to; else the conversation when `wanted`
-- randomises conversations; else its unit id when `experiment_key` randomises the same kind of
-- unit (assignment_unit); else an abtel.assignment.id that says no unit kind (one an application
-- set on an outcome itself). Otherwise NULL: the row cannot be attributed to a unit of `wanted`
-- (older telemetry, or an event recorded where the conversation's units were not known; abtel's
-- report counts these in a warning).
-- Experiment keys never contain '=' (KEY_PATTERN); unit ids may, so the id is all after the first.
-- (The list is searched only where there is one: most rows have none, and the lambda over their
-- NULL lists cost as much again as the rest: 258-271 ms against 136-141 ms over 10 M calls.)
CREATE OR REPLACE MACRO abtel_unit_id_without_ids(experiment_key, assignment_unit, assignment_id, conversation_id, wanted, wanted_unit) AS
  CASE WHEN experiment_key = wanted AND assignment_id IS NOT NULL THEN assignment_id
       WHEN wanted_unit = 'conversation' THEN conversation_id
       WHEN wanted_unit = assignment_unit THEN coalesce(assignment_id, conversation_id)
       WHEN assignment_unit IS NULL THEN assignment_id END;
CREATE OR REPLACE MACRO abtel_unit_id(experiment_key, assignment_unit, assignment_id, conversation_id, assignment_ids, wanted, wanted_unit) AS
  CASE WHEN assignment_ids IS NULL
       THEN abtel_unit_id_without_ids(experiment_key, assignment_unit, assignment_id, conversation_id, wanted, wanted_unit)
       ELSE coalesce(substr(list_filter(assignment_ids, e -> starts_with(e, wanted || '='))[1], length(wanted) + 2),
                     abtel_unit_id_without_ids(experiment_key, assignment_unit, assignment_id, conversation_id, wanted, wanted_unit)) END;

-- gen_ai_calls: one row per gen_ai span (a span with gen_ai.operation.name or a request model).
-- unit_id is the unit of the span's primary experiment (experiment_key); a call's unit in another
-- experiment it carries is abtel_unit_id(…) over experiment_key, assignment_unit, assignment_id,
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

-- abtel_conversation_units(experiments): for each experiment of the relation named `experiments`
-- (columns experiment_key, unit) that randomises something other than the conversation, the unit
-- of it in each conversation where the telemetry names exactly one: the conversation's exposures
-- of the experiment, and its calls that carry it with their unit in it (abtel_unit_id). An outcome
-- or evaluation that names no unit of an experiment (recorded by another service, with the
-- conversation id alone) belongs to that unit: for a user-level experiment, the user the
-- conversation's own spans and exposures name. A conversation whose telemetry names two units of
-- it (a conversation id reused across users) gives none, and its events stay unattributed (counted
-- in abtel's report). Conversation-level experiments never need it: their unit is the conversation.
-- The views pass 'experiment_units'; abtel's analysis a one-row table with the definition's unit.
-- A filter on conversation_id reaches both scans (it is a grouping key), so looking up a few
-- conversations reads only their rows.
CREATE OR REPLACE MACRO abtel_conversation_units(experiments) AS TABLE
SELECT experiment_key, conversation_id, min(unit_id) AS unit_id
FROM (
  SELECT x.experiment_key, x.conversation_id, x.unit_id
  FROM exposure_events x JOIN query_table(experiments) w ON w.experiment_key = x.experiment_key
  WHERE w.unit IS DISTINCT FROM 'conversation' AND x.conversation_id IS NOT NULL
  UNION ALL
  SELECT w.experiment_key, c.conversation_id,
         abtel_unit_id(c.experiment_key, c.assignment_unit, c.assignment_id, c.conversation_id, c.assignment_ids,
                       w.experiment_key, w.unit) AS unit_id
  FROM gen_ai_calls c JOIN query_table(experiments) w ON abtel_carries_experiment(c.experiment_key, c.experiments, w.experiment_key)
  WHERE w.unit IS DISTINCT FROM 'conversation' AND c.conversation_id IS NOT NULL
)
WHERE unit_id IS NOT NULL
GROUP BY experiment_key, conversation_id
HAVING count(DISTINCT unit_id) = 1;

-- conversation_units: abtel_conversation_units of the experiments as their exposures describe them
-- (experiment_units): (experiment_key, conversation_id, unit_id).
CREATE OR REPLACE VIEW conversation_units AS
SELECT * FROM abtel_conversation_units('experiment_units');

-- evaluation_events_resolved: gen_ai.evaluation.result events with what attributes them to units,
-- before attribution to an experiment arm. experiment_key is the experiment the evaluation names
-- itself (NULL: every experiment it belongs to). An evaluation that carries no unit of its own (no
-- abtel.assignment.ids, .id or .unit: a judge that knows only the response) takes the conversation
-- and units of the call it names by gen_ai.response.id. unit_experiment_key, assignment_unit,
-- assignment_id, conversation_id and assignment_ids go to abtel_unit_id as for outcomes; unit_id is
-- coalesce(assignment_id, conversation_id) of that.
CREATE OR REPLACE VIEW evaluation_events_resolved AS
WITH evaluation_events AS (
  SELECT *, assignment_id IS NULL AND assignment_unit IS NULL AND assignment_ids IS NULL AS unitless
  FROM (SELECT *, abtel_event_assignment_ids(attributes) AS assignment_ids FROM events WHERE event_name = 'gen_ai.evaluation.result')
),
-- Calls of the evaluations that carry no unit; a pure equality join keeps it a hash join (an IS
-- NULL condition inside the join made DuckDB fall back to a nested loop). An evaluation that names
-- its conversation needs its call only when some experiment in the data randomises something else
-- than conversations (its unit is the conversation in all others): without such exposures the
-- lookup, a scan of every call, is skipped for them.
by_response AS (
  SELECT response_id, any_value({'conversation_id': conversation_id, 'experiment_key': experiment_key,
           'assignment_unit': assignment_unit, 'assignment_id': assignment_id, 'assignment_ids': assignment_ids}) AS call
  FROM gen_ai_calls
  WHERE response_id IN (SELECT response_id FROM evaluation_events WHERE unitless AND response_id IS NOT NULL
                          AND (conversation_id IS NULL
                               OR EXISTS (SELECT 1 FROM exposure_events WHERE assignment_unit IS DISTINCT FROM 'conversation')))
  GROUP BY response_id
),
resolved AS (
  SELECT v.*, CASE WHEN v.unitless AND r.call IS NOT NULL THEN r.call END AS call
  FROM evaluation_events v LEFT JOIN by_response r ON r.response_id = v.response_id
)
SELECT time, coalesce(conversation_id, call.conversation_id) AS conversation_id,
       coalesce(assignment_id, conversation_id, call.assignment_id, call.conversation_id) AS unit_id, response_id,
       evaluation_name AS name, score_value AS score, score_label AS label,
       judge_model, judge_version, sample_rate, eval_source AS source,
       abtel_event_experiment_key(origin, experiment_key, attributes) AS experiment_key,
       CASE WHEN call IS NULL THEN experiment_key ELSE call.experiment_key END AS unit_experiment_key,
       CASE WHEN call IS NULL THEN assignment_unit ELSE call.assignment_unit END AS assignment_unit,
       CASE WHEN call IS NULL THEN assignment_id ELSE call.assignment_id END AS assignment_id,
       CASE WHEN call IS NULL THEN assignment_ids ELSE call.assignment_ids END AS assignment_ids
FROM resolved;

-- evaluations: the resolved evaluations attributed to the experiment arms: once per experiment
-- (experiment_units) whose exposed unit abtel_unit_id finds, or else its conversation's unit in it
-- (conversation_units) (only the experiment an evaluation names, when it names one); unit_id is the unit in that experiment. An evaluation attributed to
-- no experiment is one row with NULL experiment_key and variation and its own unit_id.
CREATE OR REPLACE VIEW evaluations AS
WITH numbered AS (
  SELECT *, row_number() OVER () AS evaluation_row FROM evaluation_events_resolved
),
named AS (
  SELECT v.*, e.experiment_key AS wanted_key,
         abtel_unit_id(v.unit_experiment_key, v.assignment_unit, v.assignment_id, v.conversation_id, v.assignment_ids,
                       e.experiment_key, e.unit) AS named_unit_id
  FROM numbered v LEFT JOIN experiment_units e ON v.experiment_key IS NULL OR v.experiment_key = e.experiment_key
),
-- An evaluation that names no unit of the experiment takes its conversation's (conversation_units).
candidates AS (
  SELECT n.*, coalesce(n.named_unit_id, cu.unit_id) AS wanted_unit_id
  FROM named n LEFT JOIN conversation_units cu
    ON n.named_unit_id IS NULL AND cu.experiment_key = n.wanted_key AND cu.conversation_id = n.conversation_id
),
matched AS (
  SELECT c.*, x.variation, x.experiment_key AS matched_key,
         count(x.experiment_key) OVER (PARTITION BY c.evaluation_row) AS matches,
         row_number() OVER (PARTITION BY c.evaluation_row ORDER BY c.wanted_key) AS candidate
  FROM candidates c LEFT JOIN exposures x ON x.experiment_key = c.wanted_key AND x.unit_id = c.wanted_unit_id
)
SELECT time, conversation_id, CASE WHEN matched_key IS NULL THEN unit_id ELSE wanted_unit_id END AS unit_id,
       response_id, name, score, label, judge_model, judge_version, sample_rate, source,
       matched_key AS experiment_key, variation
FROM matched
WHERE matched_key IS NOT NULL OR (matches = 0 AND candidate = 1);
