-- OTLP JSON → flat rows, as plain DuckDB SQL (runs unchanged in the duckdb CLI).
--
-- abtel itself parses raw files with its own scanner (@abtel/files, src/internal/scan.ts and
-- flatten.ts) into the same columns; these macros are the SQL-only path for the duckdb CLI (and
-- the reference the scanner's semantics follow), plus helpers both paths use
-- (otlp_json_attr_str/otlp_json_attr_num over the `attributes` JSON).
--
-- Input: any relation with columns (source_file VARCHAR, source_line BIGINT, line VARCHAR), one
-- OTLP JSON document per row (a JSON Lines line, or a whole pretty-printed file). Pass its name
-- to the table macros: `FROM otlp_spans('my_lines')`, `FROM otlp_log_events('my_lines')`.
--
-- Why an explicit structure (json_transform) instead of read_json's inference: inference truncates
-- doubles that look like integers, compares mixed int/string values as text and fails on attribute
-- kinds first seen after its sample. Numbers are read as coalesce(doubleValue, intValue) because
-- the JavaScript SDK sends whole-number doubles as intValue (and int64 may be a JSON string).
--
-- A line that is not valid JSON (torn write) or not an OTLP object is never dropped silently: both
-- macros emit one marker row for it with line_status 'invalid', 'metrics' or 'not_otlp' and all
-- data columns NULL; readers filter on line_status IS NULL and report the rest.

CREATE OR REPLACE MACRO otlp_any_value_struct() AS
  '{"stringValue":"VARCHAR","boolValue":"BOOLEAN","intValue":"VARCHAR","doubleValue":"DOUBLE","arrayValue":"JSON","kvlistValue":"JSON","bytesValue":"VARCHAR"}';

-- Typed JSON of one AnyValue: strings, numbers (int64 kept exact when it fits), booleans, arrays;
-- a kvlist is kept as its OTLP JSON.
CREATE OR REPLACE MACRO otlp_value_json(v) AS CASE
  WHEN v IS NULL THEN 'null'::JSON
  WHEN v.stringValue IS NOT NULL THEN to_json(v.stringValue)
  WHEN v.boolValue IS NOT NULL THEN to_json(v.boolValue)
  WHEN v.intValue IS NOT NULL THEN coalesce(to_json(try_cast(v.intValue AS BIGINT)), to_json(v.intValue))
  WHEN v.doubleValue IS NOT NULL THEN to_json(v.doubleValue)
  WHEN v.arrayValue IS NOT NULL THEN to_json(list_transform(
    json_extract(v.arrayValue, '$.values[*]'),
    e -> coalesce(json_extract(e, '$.stringValue'), json_extract(e, '$.boolValue'), json_extract(e, '$.doubleValue'),
                  to_json(try_cast(json_extract_string(e, '$.intValue') AS BIGINT)), json_extract(e, '$.kvlistValue'),
                  json_extract(e, '$.arrayValue'))))
  WHEN v.kvlistValue IS NOT NULL THEN v.kvlistValue
  WHEN v.bytesValue IS NOT NULL THEN to_json(v.bytesValue)
  ELSE 'null'::JSON
END;

-- All attributes as one JSON object with typed values (unknown attributes are kept, never an error).
CREATE OR REPLACE MACRO otlp_attributes_json(attrs) AS
  CASE WHEN attrs IS NULL OR len(attrs) = 0 THEN '{}'::JSON
  -- The first occurrence of a key wins (as in abtel's own parser).
  ELSE ('{' || array_to_string(list_transform(list_filter(attrs, (a, i) -> a.key IS NOT NULL
      AND list_position(list_transform(attrs, x -> x.key), a.key) = i), a -> to_json(a.key) || ':' || otlp_value_json(a.value)), ',') || '}')::JSON
  END;

-- The AnyValue of one attribute key (first occurrence), NULL when absent. Readers pick each key
-- once in a CTE and convert the picked value with otlp_value_str / otlp_value_num, so that the
-- list scan is not repeated inside every coalesce branch.
CREATE OR REPLACE MACRO otlp_attr(attrs, k) AS list_filter(attrs, a -> a.key = k)[1].value;
-- The same with the key list computed once per row (list_transform(attrs, a -> a.key)): a native
-- list_position per key instead of a lambda per key, which matters at millions of spans.
CREATE OR REPLACE MACRO otlp_attr_at(attrs, keys, k) AS attrs[list_position(keys, k)].value;
-- An AnyValue as text: strings as is, numbers and booleans in their text form.
CREATE OR REPLACE MACRO otlp_value_str(v) AS
  coalesce(v.stringValue, v.intValue, CAST(v.doubleValue AS VARCHAR), CAST(v.boolValue AS VARCHAR));
-- An AnyValue as a number: coalesce(doubleValue, intValue); booleans count as 1/0; numeric strings are accepted.
CREATE OR REPLACE MACRO otlp_value_num(v) AS
  coalesce(v.doubleValue, try_cast(v.intValue AS DOUBLE), CAST(v.boolValue AS DOUBLE), try_cast(v.stringValue AS DOUBLE));
-- One attribute of a typed JSON attributes object (the `attributes` columns), by key: as text, and
-- as a number (booleans 1/0, numeric strings accepted). Keys are quoted in the path, so dots are fine.
CREATE OR REPLACE MACRO otlp_json_attr_str(attributes, k) AS json_extract_string(attributes, '$."' || k || '"');
-- A string-list attribute (e.g. abtel.assignment.ids) as VARCHAR[], NULL when absent. The text
-- search first: most objects have no such key, and parsing each of them to find none is the cost.
CREATE OR REPLACE MACRO otlp_json_attr_str_list(attributes, k) AS
  CASE WHEN contains(attributes, '"' || k || '"') THEN from_json(json_extract(attributes, '$."' || k || '"'), '["VARCHAR"]') END;
CREATE OR REPLACE MACRO otlp_json_attr_num(attributes, k) AS CASE json_type(attributes, '$."' || k || '"')
  WHEN 'BOOLEAN' THEN CAST(CAST(json_extract_string(attributes, '$."' || k || '"') AS BOOLEAN) AS DOUBLE)
  ELSE try_cast(json_extract_string(attributes, '$."' || k || '"') AS DOUBLE) END;
-- A span's attributes are stored as `extra_attributes` (JSON text) without the string-valued
-- attributes that have their own column (half the bytes); `stripped_attributes` has a bit per
-- attribute left out. This puts them back: the span's full typed attributes object.
CREATE OR REPLACE MACRO otlp_strip_bit(k) AS CASE k
  WHEN 'gen_ai.conversation.id' THEN 1 WHEN 'abtel.experiment.key' THEN 2 WHEN 'abtel.experiment.variation' THEN 4
  WHEN 'abtel.assignment.unit' THEN 8 WHEN 'abtel.assignment.id' THEN 16 WHEN 'gen_ai.operation.name' THEN 32
  WHEN 'gen_ai.request.model' THEN 64 WHEN 'gen_ai.response.model' THEN 128 WHEN 'gen_ai.response.id' THEN 256
  WHEN 'error.type' THEN 512 ELSE 0 END;
CREATE OR REPLACE MACRO otlp_span_attributes(extra_attributes, stripped_attributes, conversation_id, experiment_key,
    variation, assignment_unit, assignment_id, operation_name, request_model, response_model, response_id, error_type) AS
  CASE WHEN coalesce(stripped_attributes, 0) = 0 THEN CAST(extra_attributes AS JSON)
  ELSE json_merge_patch(CAST(extra_attributes AS JSON), json_merge_patch('{}', json_object(
    'gen_ai.conversation.id', CASE WHEN stripped_attributes & 1 <> 0 THEN conversation_id END,
    'abtel.experiment.key', CASE WHEN stripped_attributes & 2 <> 0 THEN experiment_key END,
    'abtel.experiment.variation', CASE WHEN stripped_attributes & 4 <> 0 THEN variation END,
    'abtel.assignment.unit', CASE WHEN stripped_attributes & 8 <> 0 THEN assignment_unit END,
    'abtel.assignment.id', CASE WHEN stripped_attributes & 16 <> 0 THEN assignment_id END,
    'gen_ai.operation.name', CASE WHEN stripped_attributes & 32 <> 0 THEN operation_name END,
    'gen_ai.request.model', CASE WHEN stripped_attributes & 64 <> 0 THEN request_model END,
    'gen_ai.response.model', CASE WHEN stripped_attributes & 128 <> 0 THEN response_model END,
    'gen_ai.response.id', CASE WHEN stripped_attributes & 256 <> 0 THEN response_id END,
    'error.type', CASE WHEN stripped_attributes & 512 <> 0 THEN error_type END)))
  END;
-- A string-array attribute (e.g. abtel.experiments) as VARCHAR[].
CREATE OR REPLACE MACRO otlp_str_list(attrs, k) AS
  json_extract_string(otlp_attr(attrs, k).arrayValue, '$.values[*].stringValue');

-- OTLP unix nanoseconds (string or number) → TIMESTAMP (UTC, µs). 0 or missing → NULL.
CREATE OR REPLACE MACRO otlp_time(ns) AS
  CASE WHEN try_cast(ns AS BIGINT) > 0 THEN make_timestamp(try_cast(ns AS BIGINT) // 1000) END;
-- Hex ids are case-insensitive: lower-cased, empty → NULL.
CREATE OR REPLACE MACRO otlp_id(x) AS nullif(lower(x), '');
-- Enums may be numbers or (protobuf JSON) names.
CREATE OR REPLACE MACRO otlp_span_kind(k) AS coalesce(try_cast(k AS INTEGER), CASE upper(k)
  WHEN 'SPAN_KIND_UNSPECIFIED' THEN 0 WHEN 'SPAN_KIND_INTERNAL' THEN 1 WHEN 'SPAN_KIND_SERVER' THEN 2
  WHEN 'SPAN_KIND_CLIENT' THEN 3 WHEN 'SPAN_KIND_PRODUCER' THEN 4 WHEN 'SPAN_KIND_CONSUMER' THEN 5 END, 0);
CREATE OR REPLACE MACRO otlp_status_code(c) AS coalesce(try_cast(c AS INTEGER), CASE upper(c)
  WHEN 'STATUS_CODE_UNSET' THEN 0 WHEN 'STATUS_CODE_OK' THEN 1 WHEN 'STATUS_CODE_ERROR' THEN 2 END, 0);

-- Why a line carries no rows of its own.
CREATE OR REPLACE MACRO otlp_line_status(j, line) AS CASE
  -- Blank lines carry nothing and are not errors (checked only when the line did not parse).
  WHEN j IS NULL AND (line IS NULL OR trim(line) = '') THEN 'blank'
  WHEN j IS NULL THEN 'invalid'
  WHEN j.resourceSpans IS NULL AND j.resourceLogs IS NULL AND j.resourceMetrics IS NOT NULL THEN 'metrics'
  WHEN j.resourceSpans IS NULL AND j.resourceLogs IS NULL THEN 'not_otlp'
END;

-- One row per span (plus marker rows for lines that carry none, see above).
CREATE OR REPLACE MACRO otlp_spans(lines) AS TABLE
WITH parsed AS (
  SELECT source_file, source_line, line,
    -- json_valid first: an error inside try() re-evaluates its whole chunk row by row, which
    -- made one torn line cost as much as thousands of good ones.
    CASE WHEN json_valid(line) THEN try(json_transform(line, '{"resourceSpans":[{"resource":{"attributes":[{"key":"VARCHAR","value":' || otlp_any_value_struct() || '}]},'
      || '"scopeSpans":[{"scope":{"name":"VARCHAR","version":"VARCHAR"},"spans":[{"traceId":"VARCHAR","spanId":"VARCHAR","parentSpanId":"VARCHAR",'
      || '"name":"VARCHAR","kind":"VARCHAR","startTimeUnixNano":"VARCHAR","endTimeUnixNano":"VARCHAR",'
      || '"attributes":[{"key":"VARCHAR","value":' || otlp_any_value_struct() || '}],'
      || '"events":[{"timeUnixNano":"VARCHAR","name":"VARCHAR","attributes":[{"key":"VARCHAR","value":' || otlp_any_value_struct() || '}]}],'
      || '"status":{"code":"VARCHAR","message":"VARCHAR"}}]}]}],"resourceLogs":"JSON","resourceMetrics":"JSON"}')) END AS j
  FROM query_table(lines)
),
resources AS (
  SELECT source_file, source_line, otlp_line_status(j, line) AS line_status,
    unnest(CASE WHEN otlp_line_status(j, line) IS NULL THEN j.resourceSpans WHEN otlp_line_status(j, line) = 'blank' THEN [] ELSE [NULL] END) AS rs
  FROM parsed
),
scopes AS (
  SELECT source_file, source_line, line_status, rs.resource.attributes AS resource_attrs,
    unnest(CASE WHEN line_status IS NULL THEN rs.scopeSpans ELSE [NULL] END) AS ss
  FROM resources
),
spans AS (
  SELECT source_file, source_line, line_status, resource_attrs, ss.scope.name AS scope_name,
    unnest(CASE WHEN line_status IS NULL THEN ss.spans ELSE [NULL] END) AS s
  FROM scopes
),
keyed AS (
  SELECT *, list_transform(s.attributes, a -> a.key) AS attr_keys FROM spans
),
picked AS (
  SELECT *,
    otlp_attr(resource_attrs, 'service.name') AS a_service,
    otlp_attr_at(s.attributes, attr_keys, 'gen_ai.conversation.id') AS a_conversation,
    otlp_attr_at(s.attributes, attr_keys, 'abtel.experiment.key') AS a_experiment,
    otlp_attr_at(s.attributes, attr_keys, 'abtel.experiment.variation') AS a_variation,
    otlp_attr_at(s.attributes, attr_keys, 'abtel.experiment.version') AS a_version,
    otlp_attr_at(s.attributes, attr_keys, 'abtel.assignment.unit') AS a_unit,
    otlp_attr_at(s.attributes, attr_keys, 'abtel.assignment.id') AS a_assignment_id,
    otlp_attr_at(s.attributes, attr_keys, 'abtel.experiments') AS a_experiments,
    otlp_attr_at(s.attributes, attr_keys, 'abtel.assignment.ids') AS a_assignment_ids,
    otlp_attr_at(s.attributes, attr_keys, 'gen_ai.operation.name') AS a_operation,
    otlp_attr_at(s.attributes, attr_keys, 'gen_ai.request.model') AS a_request_model,
    otlp_attr_at(s.attributes, attr_keys, 'gen_ai.response.model') AS a_response_model,
    otlp_attr_at(s.attributes, attr_keys, 'gen_ai.response.id') AS a_response_id,
    otlp_attr_at(s.attributes, attr_keys, 'gen_ai.usage.input_tokens') AS a_input_tokens,
    otlp_attr_at(s.attributes, attr_keys, 'gen_ai.usage.output_tokens') AS a_output_tokens,
    otlp_attr_at(s.attributes, attr_keys, 'abtel.usage.cost_usd') AS a_cost,
    otlp_attr_at(s.attributes, attr_keys, 'error.type') AS a_error_type
  FROM keyed
)
SELECT
  otlp_id(s.traceId) AS trace_id,
  otlp_id(s.spanId) AS span_id,
  otlp_id(s.parentSpanId) AS parent_span_id,
  s.name AS name,
  CASE WHEN line_status IS NULL THEN otlp_span_kind(s.kind) END AS kind,
  otlp_time(s.startTimeUnixNano) AS start_time,
  otlp_time(s.endTimeUnixNano) AS end_time,
  (try_cast(s.endTimeUnixNano AS BIGINT) - try_cast(s.startTimeUnixNano AS BIGINT)) / 1e6 AS duration_ms,
  CASE WHEN line_status IS NULL THEN otlp_status_code(s.status.code) END AS status_code,
  nullif(s.status.message, '') AS status_message,
  otlp_value_str(a_service) AS service_name,
  nullif(scope_name, '') AS scope_name,
  otlp_value_str(a_conversation) AS conversation_id,
  otlp_value_str(a_experiment) AS experiment_key,
  otlp_value_str(a_variation) AS variation,
  TRY_CAST(otlp_value_num(a_version) AS INTEGER) AS experiment_version,
  otlp_value_str(a_unit) AS assignment_unit,
  otlp_value_str(a_assignment_id) AS assignment_id,
  json_extract_string(a_experiments.arrayValue, '$.values[*].stringValue') AS experiments,
  json_extract_string(a_assignment_ids.arrayValue, '$.values[*].stringValue') AS assignment_ids,
  otlp_value_str(a_operation) AS operation_name,
  otlp_value_str(a_request_model) AS request_model,
  otlp_value_str(a_response_model) AS response_model,
  otlp_value_str(a_response_id) AS response_id,
  otlp_value_num(a_input_tokens) AS input_tokens,
  otlp_value_num(a_output_tokens) AS output_tokens,
  otlp_value_num(a_cost) AS cost_usd,
  otlp_value_str(a_error_type) AS error_type,
  -- The span's attributes as one typed JSON object (text), without the string-valued ones that
  -- have their own column (the first occurrence of a key counts); otlp_span_attributes puts them back.
  CASE WHEN line_status IS NULL THEN coalesce(list_reduce(list_transform(list_filter(s.attributes,
    (a, i) -> list_position(attr_keys, a.key) = i AND a.value.stringValue IS NOT NULL),
    a -> otlp_strip_bit(a.key)), (x, y) -> x | y, 0), 0) END AS stripped_attributes,
  CAST(otlp_attributes_json(list_filter(s.attributes, (a, i) -> list_position(attr_keys, a.key) = i
    AND NOT (a.value.stringValue IS NOT NULL AND otlp_strip_bit(a.key) <> 0))) AS VARCHAR) AS extra_attributes,
  CAST(otlp_attributes_json(resource_attrs) AS VARCHAR) AS resource_attributes,
  -- Span events stay nested here; otlp_span_event_records + otlp_event_rows flatten them next to
  -- log-record events (the base relation otlp_spans_all does not carry this column).
  list_transform(s.events, e -> {
    'time': otlp_time(e.timeUnixNano), 'name': e.name, 'attributes': e.attributes
  }) AS span_events,
  source_file,
  source_line,
  line_status
FROM picked;

-- One row per log record (event_name from OTLP `eventName`, or the `event.name` attribute; NULL for
-- plain logs, which are not events), plus marker rows for lines that carry none.
CREATE OR REPLACE MACRO otlp_log_records(lines) AS TABLE
WITH parsed AS (
  SELECT source_file, source_line, line,
    -- json_valid first: an error inside try() re-evaluates its whole chunk row by row, which
    -- made one torn line cost as much as thousands of good ones.
    CASE WHEN json_valid(line) THEN try(json_transform(line, '{"resourceLogs":[{"resource":{"attributes":[{"key":"VARCHAR","value":' || otlp_any_value_struct() || '}]},'
      || '"scopeLogs":[{"scope":{"name":"VARCHAR"},"logRecords":[{"timeUnixNano":"VARCHAR","observedTimeUnixNano":"VARCHAR",'
      || '"eventName":"VARCHAR","traceId":"VARCHAR","spanId":"VARCHAR",'
      || '"attributes":[{"key":"VARCHAR","value":' || otlp_any_value_struct() || '}]}]}]}],"resourceSpans":"JSON","resourceMetrics":"JSON"}')) END AS j
  FROM query_table(lines)
),
resources AS (
  SELECT source_file, source_line, otlp_line_status(j, line) AS line_status,
    unnest(CASE WHEN otlp_line_status(j, line) IS NULL THEN j.resourceLogs WHEN otlp_line_status(j, line) = 'blank' THEN [] ELSE [NULL] END) AS rl
  FROM parsed
),
scopes AS (
  SELECT source_file, source_line, line_status, rl.resource.attributes AS resource_attrs,
    unnest(CASE WHEN line_status IS NULL THEN rl.scopeLogs ELSE [NULL] END) AS sl
  FROM resources
),
records AS (
  SELECT source_file, source_line, line_status, resource_attrs,
    unnest(CASE WHEN line_status IS NULL THEN sl.logRecords ELSE [NULL] END) AS r
  FROM scopes
),
named AS (
  SELECT *, coalesce(nullif(r.eventName, ''), otlp_value_str(otlp_attr(r.attributes, 'event.name'))) AS event_name
  FROM records
)
SELECT
  coalesce(otlp_time(r.timeUnixNano), otlp_time(r.observedTimeUnixNano)) AS time,
  event_name,
  'log' AS origin,
  otlp_id(r.traceId) AS trace_id,
  otlp_id(r.spanId) AS span_id,
  r.attributes AS attribute_list,
  CAST(NULL AS VARCHAR) AS ctx_conversation_id,
  CAST(NULL AS VARCHAR) AS ctx_experiment_key,
  CAST(NULL AS VARCHAR) AS ctx_variation,
  CAST(NULL AS INTEGER) AS ctx_experiment_version,
  CAST(NULL AS VARCHAR) AS ctx_assignment_unit,
  CAST(NULL AS VARCHAR) AS ctx_assignment_id,
  source_file,
  source_line,
  line_status
FROM named;

-- Span events in the same shape as otlp_log_records (without marker rows): the parent span's
-- experiment context fills in what the event itself does not carry.
CREATE OR REPLACE MACRO otlp_span_event_records(spans) AS TABLE
SELECT
  e.time AS time,
  e.name AS event_name,
  'span_event' AS origin,
  trace_id,
  span_id,
  e.attributes AS attribute_list,
  conversation_id AS ctx_conversation_id,
  experiment_key AS ctx_experiment_key,
  variation AS ctx_variation,
  experiment_version AS ctx_experiment_version,
  assignment_unit AS ctx_assignment_unit,
  assignment_id AS ctx_assignment_id,
  source_file,
  source_line,
  CAST(NULL AS VARCHAR) AS line_status
FROM (SELECT *, unnest(span_events) AS e FROM query_table(spans) WHERE len(span_events) > 0);

-- Event records (from otlp_log_records or otlp_span_event_records, marker rows filtered out) →
-- the typed event columns of the `events` view.
CREATE OR REPLACE MACRO otlp_event_rows(records) AS TABLE
WITH keyed AS (
  SELECT *, list_transform(attribute_list, a -> a.key) AS attr_keys
  FROM query_table(records)
  WHERE line_status IS NULL AND event_name IS NOT NULL
),
picked AS (
  SELECT *,
    otlp_attr_at(attribute_list, attr_keys, 'gen_ai.conversation.id') AS a_conversation,
    otlp_attr_at(attribute_list, attr_keys, 'abtel.experiment.key') AS a_experiment,
    otlp_attr_at(attribute_list, attr_keys, 'abtel.experiment.variation') AS a_variation,
    otlp_attr_at(attribute_list, attr_keys, 'abtel.experiment.version') AS a_version,
    otlp_attr_at(attribute_list, attr_keys, 'abtel.assignment.unit') AS a_unit,
    otlp_attr_at(attribute_list, attr_keys, 'abtel.assignment.id') AS a_assignment_id,
    otlp_attr_at(attribute_list, attr_keys, 'abtel.outcome.name') AS a_outcome_name,
    otlp_attr_at(attribute_list, attr_keys, 'abtel.outcome.value') AS a_outcome_value,
    otlp_attr_at(attribute_list, attr_keys, 'gen_ai.evaluation.name') AS a_evaluation_name,
    otlp_attr_at(attribute_list, attr_keys, 'gen_ai.evaluation.score.value') AS a_score_value,
    otlp_attr_at(attribute_list, attr_keys, 'gen_ai.evaluation.score.label') AS a_score_label,
    otlp_attr_at(attribute_list, attr_keys, 'gen_ai.evaluation.explanation') AS a_explanation,
    otlp_attr_at(attribute_list, attr_keys, 'gen_ai.response.id') AS a_response_id,
    otlp_attr_at(attribute_list, attr_keys, 'abtel.evaluation.judge.model') AS a_judge_model,
    otlp_attr_at(attribute_list, attr_keys, 'abtel.evaluation.judge.version') AS a_judge_version,
    otlp_attr_at(attribute_list, attr_keys, 'abtel.evaluation.sample_rate') AS a_sample_rate,
    otlp_attr_at(attribute_list, attr_keys, 'abtel.evaluation.source') AS a_eval_source,
    otlp_attr_at(attribute_list, attr_keys, 'feature_flag.key') AS a_flag_key,
    coalesce(otlp_attr_at(attribute_list, attr_keys, 'feature_flag.result.variant'), otlp_attr_at(attribute_list, attr_keys, 'feature_flag.variant')) AS a_flag_variant,
    otlp_attr_at(attribute_list, attr_keys, 'feature_flag.result.reason') AS a_flag_reason,
    otlp_attr_at(attribute_list, attr_keys, 'feature_flag.context.id') AS a_flag_context_id
  FROM keyed
)
SELECT
  time,
  event_name,
  origin,
  trace_id,
  span_id,
  coalesce(otlp_value_str(a_conversation), ctx_conversation_id) AS conversation_id,
  coalesce(otlp_value_str(a_experiment), ctx_experiment_key) AS experiment_key,
  coalesce(otlp_value_str(a_variation), ctx_variation) AS variation,
  coalesce(TRY_CAST(otlp_value_num(a_version) AS INTEGER), ctx_experiment_version) AS experiment_version,
  coalesce(otlp_value_str(a_unit), ctx_assignment_unit) AS assignment_unit,
  coalesce(otlp_value_str(a_assignment_id), ctx_assignment_id) AS assignment_id,
  otlp_value_str(a_outcome_name) AS outcome_name,
  otlp_value_num(a_outcome_value) AS outcome_value,
  otlp_value_str(a_evaluation_name) AS evaluation_name,
  otlp_value_num(a_score_value) AS score_value,
  otlp_value_str(a_score_label) AS score_label,
  otlp_value_str(a_explanation) AS explanation,
  otlp_value_str(a_response_id) AS response_id,
  otlp_value_str(a_judge_model) AS judge_model,
  otlp_value_str(a_judge_version) AS judge_version,
  otlp_value_num(a_sample_rate) AS sample_rate,
  otlp_value_str(a_eval_source) AS eval_source,
  otlp_value_str(a_flag_key) AS flag_key,
  otlp_value_str(a_flag_variant) AS flag_variant,
  otlp_value_str(a_flag_reason) AS flag_reason,
  otlp_value_str(a_flag_context_id) AS flag_context_id,
  CAST(otlp_attributes_json(attribute_list) AS VARCHAR) AS attributes,
  source_file,
  source_line
FROM picked;
