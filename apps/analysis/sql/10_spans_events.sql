-- spans and events: the flattened OTLP data.
-- Base relations (defined by 00_sources.sql in the duckdb CLI, or by @abtel/files' attachOtlp in
-- abtel): otlp_spans_all (one row per span) and otlp_events_all (events from log records with an
-- event name and from span events; origin says which).

-- `attributes` (all attributes as one object with typed values; unknown attributes are kept) is
-- stored as JSON text and typed JSON here; look one up with otlp_json_attr_str/otlp_json_attr_num
-- (attributes, key) or json_extract.
-- Spans store their attributes without the string-valued ones that have their own column
-- (extra_attributes + stripped_attributes); `attributes` puts them back when a query reads it.
CREATE OR REPLACE VIEW spans AS
SELECT * EXCLUDE (stripped_attributes, extra_attributes) REPLACE (CAST(resource_attributes AS JSON) AS resource_attributes),
       otlp_span_attributes(extra_attributes, stripped_attributes, conversation_id, experiment_key, variation,
         assignment_unit, assignment_id, operation_name, request_model, response_model, response_id, error_type) AS attributes
FROM otlp_spans_all;

CREATE OR REPLACE VIEW events AS
SELECT * REPLACE (CAST(attributes AS JSON) AS attributes)
FROM otlp_events_all;
