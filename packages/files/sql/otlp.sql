-- OTLP JSON → flat rows, as plain DuckDB SQL (runs unchanged in the duckdb CLI).
--
-- abtel itself parses raw files with its own scanner (@abtel/files, src/internal/scan.ts and
-- flatten.ts) into the same columns; these macros are the SQL-only path for the duckdb CLI (and
-- the reference the scanner's semantics follow), plus helpers both paths use
-- (otlp_json_attr_str/otlp_json_attr_num over the `attributes` JSON).
--
-- Input: any relation with columns (source_file VARCHAR, source_line BIGINT, line VARCHAR), one
-- OTLP JSON document per row (a JSON Lines line, or a whole pretty-printed file). Pass its name
-- to the table macros: `FROM otlp_spans('my_lines')`, `FROM otlp_log_records('my_lines')`.
--
-- Why an explicit structure (json_transform) instead of read_json's inference: inference truncates
-- doubles that look like integers, compares mixed int/string values as text and fails on attribute
-- kinds first seen after its sample. Numbers are read as coalesce(doubleValue, intValue) because
-- the JavaScript SDK sends whole-number doubles as intValue (and int64 may be a JSON string).
--
-- A line that is not valid JSON (torn write), not an OTLP object, or a traces/logs line that breaks
-- the OTLP shape rule of abtel's reader (src/internal/otlp-shape.ts, see below: a list that is not
-- an array of objects, an id that is not hex of its length, a name that is not a string) is never
-- dropped silently nor read in part: it is one marker row with line_status 'invalid', 'metrics' or
-- 'not_otlp' and no data (ids, names, times, values NULL), from both macros, or for a traces/logs
-- line from the macro of each signal it carries. These are the lines abtel's reader reports, with
-- the same status; readers filter on line_status IS NULL and report the rest.

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

-- The OTLP shape rule of abtel's own reader, stated in src/internal/otlp-shape.ts (the one rule both
-- paths follow): a traces or logs line is read only when its resource, scope and span/log record
-- lists are arrays of objects (or absent/null), its ids are hex of their length (32 digits for a
-- trace id, 16 for a span or parent span id; absent, null or empty is read as NULL) and span
-- names, span event names and log `eventName`s are strings (or absent/null). Any other traces or
-- logs line is one 'not_otlp' line as a whole, as the collector would have refused it; read
-- leniently, `{"resourceSpans": 5}` vanished and a span with `"traceId": "zz"` and `"name": 42`
-- became a span named "42" that no trace could join.
--
-- How, at little more than the cost of the reading itself (json_type over each `[*]` path of the
-- rule parses the line once per path: 22 paths made otlp_spans ≈ 2.8× slower): the reading's
-- json_transform keeps ids and names as JSON text, so they keep their JSON type (json_transform
-- writes a value back with only the escapes JSON needs: a hex id is exactly '"' || hex || '"', a
-- string starts with '"'), and reads an item that is JSON null as NULL. The columns decode them
-- (otlp_json_id, otlp_json_text). The other signal, kept as JSON text, is read with the same
-- fields by otlp_spans_shape / otlp_logs_shape when a line carries both. What json_transform cannot
-- tell apart is left to json_type over the line, only on the lines where it occurs: a list read as
-- NULL (absent or null, or not an array) and an item with every field read NULL (an object without
-- them, or not an object). CASE guards each of these, not OR: DuckDB evaluates both sides of an OR.
CREATE OR REPLACE MACRO otlp_spans_shape(resource_spans_json) AS json_transform(resource_spans_json,
  '[{"scopeSpans":[{"spans":[{"traceId":"JSON","spanId":"JSON","parentSpanId":"JSON","name":"JSON",'
  || '"events":[{"name":"JSON","timeUnixNano":"VARCHAR"}]}]}]}]');
CREATE OR REPLACE MACRO otlp_logs_shape(resource_logs_json) AS json_transform(resource_logs_json,
  '[{"scopeLogs":[{"logRecords":[{"traceId":"JSON","spanId":"JSON","eventName":"JSON","timeUnixNano":"VARCHAR",'
  || '"observedTimeUnixNano":"VARCHAR"}]}]}]');
-- An id or a name read as JSON, as the columns' text (after the rule: an id is "hex", "" or null,
-- a name a JSON string or null).
CREATE OR REPLACE MACRO otlp_json_id(x) AS otlp_id(trim(x, '"'));
CREATE OR REPLACE MACRO otlp_json_text(x) AS json_extract_string(x, '$');
CREATE OR REPLACE MACRO otlp_all_true(bools) AS coalesce(list_bool_and(bools), true);
CREATE OR REPLACE MACRO otlp_any_true(bools) AS coalesce(list_bool_or(bools), false);
CREATE OR REPLACE MACRO otlp_trace_id_ok(x) AS x IS NULL OR regexp_full_match(x, '"([0-9a-fA-F]{32})?"');
CREATE OR REPLACE MACRO otlp_span_id_ok(x) AS x IS NULL OR regexp_full_match(x, '"([0-9a-fA-F]{16})?"');
CREATE OR REPLACE MACRO otlp_name_ok(x) AS x IS NULL OR starts_with(x, '"');
-- json_type over a `[*]` path gives one type per match ([] when nothing matches; a wildcard over
-- something that is not an array matches nothing, and that level's own check refuses it).
CREATE OR REPLACE MACRO otlp_all_lists(types) AS otlp_all_true(list_transform(types, t -> t IN ('ARRAY', 'NULL')));
CREATE OR REPLACE MACRO otlp_all_objects(types) AS otlp_all_true(list_transform(types, t -> t = 'OBJECT'));
-- No object in the line has a key ending in `tail` (e.g. 'Logs"' for resourceLogs), decided
-- without parsing: a key is in the text as written unless a \u escape spells one of its letters
-- (JSON has no other escape for a letter), so a line with neither has none. The tail starts with
-- a rare character, which the search skips along by (a leading '"' made it ten times slower).
CREATE OR REPLACE MACRO otlp_key_absent(line, tail) AS NOT contains(line, '\u') AND NOT contains(line, tail);
-- Whether the line has the top-level key `k` with a value other than null, when the typed reading
-- read it as NULL (absent or null, or not an array): usually absent, which otlp_key_absent tells.
CREATE OR REPLACE MACRO otlp_key_present(line, k, tail) AS CASE
  WHEN otlp_key_absent(line, tail) THEN false
  ELSE coalesce(json_type(line, '$.' || k), 'NULL') <> 'NULL' END;

-- What the typed reading decides alone: no item is JSON null, ids and names have the right type.
CREATE OR REPLACE MACRO otlp_traces_items_ok(resource_spans) AS otlp_all_true(list_transform(resource_spans, r ->
  r IS NOT NULL AND otlp_all_true(list_transform(r.scopeSpans, s ->
    s IS NOT NULL AND otlp_all_true(list_transform(s.spans, sp ->
      sp IS NOT NULL AND otlp_trace_id_ok(sp.traceId) AND otlp_span_id_ok(sp.spanId) AND otlp_span_id_ok(sp.parentSpanId)
      AND otlp_name_ok(sp.name) AND otlp_all_true(list_transform(sp.events, e -> e IS NOT NULL AND otlp_name_ok(e.name)))))))));
-- What it cannot tell apart: a list read as NULL, an item with every field read NULL (span events
-- read as NULL apart: otlp_span_events_lists_ok).
CREATE OR REPLACE MACRO otlp_traces_unsure(resource_spans) AS otlp_any_true(list_transform(resource_spans, r ->
  r.scopeSpans IS NULL OR otlp_any_true(list_transform(r.scopeSpans, s ->
    s.spans IS NULL OR otlp_any_true(list_transform(s.spans, sp ->
      coalesce(sp.traceId, sp.spanId, sp.parentSpanId, sp.name) IS NULL AND sp.events IS NULL
      OR otlp_any_true(list_transform(sp.events, e -> coalesce(e.name, e.timeUnixNano) IS NULL))))))));
-- The rule over the line itself (one parse per path), for the lines otlp_traces_unsure names.
CREATE OR REPLACE MACRO otlp_traces_exact_ok(line) AS
  otlp_all_objects(json_type(line, '$.resourceSpans[*]'))
  AND otlp_all_lists(json_type(line, '$.resourceSpans[*].scopeSpans'))
  AND otlp_all_objects(json_type(line, '$.resourceSpans[*].scopeSpans[*]'))
  AND otlp_all_lists(json_type(line, '$.resourceSpans[*].scopeSpans[*].spans'))
  AND otlp_all_objects(json_type(line, '$.resourceSpans[*].scopeSpans[*].spans[*]'))
  AND otlp_all_lists(json_type(line, '$.resourceSpans[*].scopeSpans[*].spans[*].events'))
  AND otlp_all_objects(json_type(line, '$.resourceSpans[*].scopeSpans[*].spans[*].events[*]'));
-- Span events read as NULL: often simply absent (proto3 JSON omits empty lists, as the collector's
-- file exporter writes them), so only their own level is asked when the line names events at all.
CREATE OR REPLACE MACRO otlp_span_events_lists_ok(line, resource_spans) AS CASE
  WHEN NOT otlp_any_true(list_transform(resource_spans, r -> otlp_any_true(list_transform(r.scopeSpans, s ->
    otlp_any_true(list_transform(s.spans, sp -> sp.events IS NULL)))))) THEN true
  WHEN otlp_key_absent(line, 'events"') THEN true
  ELSE otlp_all_lists(json_type(line, '$.resourceSpans[*].scopeSpans[*].spans[*].events')) END;
CREATE OR REPLACE MACRO otlp_logs_items_ok(resource_logs) AS otlp_all_true(list_transform(resource_logs, r ->
  r IS NOT NULL AND otlp_all_true(list_transform(r.scopeLogs, s ->
    s IS NOT NULL AND otlp_all_true(list_transform(s.logRecords, lr ->
      lr IS NOT NULL AND otlp_trace_id_ok(lr.traceId) AND otlp_span_id_ok(lr.spanId) AND otlp_name_ok(lr.eventName)))))));
CREATE OR REPLACE MACRO otlp_logs_unsure(resource_logs) AS otlp_any_true(list_transform(resource_logs, r ->
  r.scopeLogs IS NULL OR otlp_any_true(list_transform(r.scopeLogs, s ->
    s.logRecords IS NULL OR otlp_any_true(list_transform(s.logRecords, lr ->
      coalesce(lr.traceId, lr.spanId, lr.eventName, lr.timeUnixNano, lr.observedTimeUnixNano) IS NULL))))));
CREATE OR REPLACE MACRO otlp_logs_exact_ok(line) AS
  otlp_all_objects(json_type(line, '$.resourceLogs[*]'))
  AND otlp_all_lists(json_type(line, '$.resourceLogs[*].scopeLogs'))
  AND otlp_all_objects(json_type(line, '$.resourceLogs[*].scopeLogs[*]'))
  AND otlp_all_lists(json_type(line, '$.resourceLogs[*].scopeLogs[*].logRecords'))
  AND otlp_all_objects(json_type(line, '$.resourceLogs[*].scopeLogs[*].logRecords[*]'));

-- Whether the line's traces / logs follow the rule, from whether the line carries them and their
-- typed reading (the macro's own signal, or otlp_spans_shape / otlp_logs_shape of the other one;
-- NULL when not an array).
CREATE OR REPLACE MACRO otlp_traces_ok(line, present, resource_spans) AS CASE
  WHEN NOT present THEN true
  WHEN resource_spans IS NULL OR NOT otlp_traces_items_ok(resource_spans) THEN false
  WHEN otlp_traces_unsure(resource_spans) THEN otlp_traces_exact_ok(line)
  ELSE otlp_span_events_lists_ok(line, resource_spans) END;
CREATE OR REPLACE MACRO otlp_logs_ok(line, present, resource_logs) AS CASE
  WHEN NOT present THEN true
  WHEN resource_logs IS NULL OR NOT otlp_logs_items_ok(resource_logs) THEN false
  WHEN otlp_logs_unsure(resource_logs) THEN otlp_logs_exact_ok(line)
  ELSE true END;

-- Why a line carries no rows of its own. `has_own`: the line carries the macro's own signal;
-- `has_spans`, `has_logs`: it carries spans, logs (a top-level list other than absent or null);
-- `resource_spans`, `resource_logs`: their typed readings. A line that carries only the other
-- signal is not this macro's (no rows, no marker, as for a good one): the other macro reads or
-- marks it. One that carries neither is marked by both.
CREATE OR REPLACE MACRO otlp_line_status(j, line, has_own, has_spans, has_logs, resource_spans, resource_logs) AS CASE
  -- Blank lines carry nothing and are not errors (checked only when the line did not parse).
  WHEN j IS NULL AND (line IS NULL OR trim(line) = '') THEN 'blank'
  -- Valid JSON that is no object at all (a bare `null`), as abtel's reader classifies it.
  WHEN j IS NULL AND json_valid(line) THEN 'not_otlp'
  WHEN j IS NULL THEN 'invalid'
  WHEN NOT has_spans AND NOT has_logs THEN CASE WHEN j.resourceMetrics IS NOT NULL THEN 'metrics' ELSE 'not_otlp' END
  WHEN NOT has_own THEN NULL
  -- The whole line, both signals: abtel's reader reads a line as a whole or not at all.
  WHEN NOT (otlp_traces_ok(line, has_spans, resource_spans) AND otlp_logs_ok(line, has_logs, resource_logs)) THEN 'not_otlp'
END;

-- One row per span (plus marker rows for lines that carry none, see above).
CREATE OR REPLACE MACRO otlp_spans(lines) AS TABLE
WITH parsed AS (
  SELECT source_file, source_line, line,
    -- json_valid first: an error inside try() re-evaluates its whole chunk row by row, which
    -- made one torn line cost as much as thousands of good ones.
    CASE WHEN json_valid(line) THEN try(json_transform(line, '{"resourceSpans":[{"resource":{"attributes":[{"key":"VARCHAR","value":' || otlp_any_value_struct() || '}]},'
      || '"scopeSpans":[{"scope":{"name":"VARCHAR","version":"VARCHAR"},"spans":[{"traceId":"JSON","spanId":"JSON","parentSpanId":"JSON",'
      || '"name":"JSON","kind":"VARCHAR","startTimeUnixNano":"VARCHAR","endTimeUnixNano":"VARCHAR",'
      || '"attributes":[{"key":"VARCHAR","value":' || otlp_any_value_struct() || '}],'
      || '"events":[{"timeUnixNano":"VARCHAR","name":"JSON","attributes":[{"key":"VARCHAR","value":' || otlp_any_value_struct() || '}]}],'
      || '"status":{"code":"VARCHAR","message":"VARCHAR"}}]}]}],"resourceLogs":"JSON","resourceMetrics":"JSON"}')) END AS j
  FROM query_table(lines)
),
-- The status once per line. Which signals the line carries: logs from their JSON text, spans (read
-- as NULL when not an array) from the line itself; the logs a traces line also carries are read
-- for the rule by otlp_logs_shape.
signals AS (
  SELECT *,
    CASE WHEN j IS NULL THEN false WHEN j.resourceSpans IS NOT NULL THEN true
      ELSE otlp_key_present(line, 'resourceSpans', 'Spans"') END AS has_spans,
    j.resourceLogs IS NOT NULL AS has_logs,
    CASE WHEN j.resourceSpans IS NOT NULL AND starts_with(j.resourceLogs, '[') THEN otlp_logs_shape(j.resourceLogs) END AS resource_logs
  FROM parsed
),
classified AS (
  SELECT source_file, source_line, j,
    otlp_line_status(j, line, has_spans, has_spans, has_logs, j.resourceSpans, resource_logs) AS line_status
  FROM signals
),
resources AS (
  SELECT source_file, source_line, line_status,
    unnest(CASE WHEN line_status IS NULL THEN j.resourceSpans WHEN line_status = 'blank' THEN [] ELSE [NULL] END) AS rs
  FROM classified
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
  otlp_json_id(s.traceId) AS trace_id,
  otlp_json_id(s.spanId) AS span_id,
  otlp_json_id(s.parentSpanId) AS parent_span_id,
  otlp_json_text(s.name) AS name,
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
    'time': otlp_time(e.timeUnixNano), 'name': otlp_json_text(e.name), 'attributes': e.attributes
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
      || '"eventName":"JSON","traceId":"JSON","spanId":"JSON",'
      || '"attributes":[{"key":"VARCHAR","value":' || otlp_any_value_struct() || '}]}]}]}],"resourceSpans":"JSON","resourceMetrics":"JSON"}')) END AS j
  FROM query_table(lines)
),
-- The status once per line (see otlp_spans).
signals AS (
  SELECT *,
    j.resourceSpans IS NOT NULL AS has_spans,
    CASE WHEN j IS NULL THEN false WHEN j.resourceLogs IS NOT NULL THEN true
      ELSE otlp_key_present(line, 'resourceLogs', 'Logs"') END AS has_logs,
    CASE WHEN j.resourceLogs IS NOT NULL AND starts_with(j.resourceSpans, '[') THEN otlp_spans_shape(j.resourceSpans) END AS resource_spans
  FROM parsed
),
classified AS (
  SELECT source_file, source_line, j,
    otlp_line_status(j, line, has_logs, has_spans, has_logs, resource_spans, j.resourceLogs) AS line_status
  FROM signals
),
resources AS (
  SELECT source_file, source_line, line_status,
    unnest(CASE WHEN line_status IS NULL THEN j.resourceLogs WHEN line_status = 'blank' THEN [] ELSE [NULL] END) AS rl
  FROM classified
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
  SELECT *, coalesce(nullif(otlp_json_text(r.eventName), ''), otlp_value_str(otlp_attr(r.attributes, 'event.name'))) AS event_name
  FROM records
)
SELECT
  coalesce(otlp_time(r.timeUnixNano), otlp_time(r.observedTimeUnixNano)) AS time,
  event_name,
  'log' AS origin,
  otlp_json_id(r.traceId) AS trace_id,
  otlp_json_id(r.spanId) AS span_id,
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
