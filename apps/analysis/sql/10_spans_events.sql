-- spans and events: the flattened OTLP data.
-- Base relations (defined by 00_sources.sql in the duckdb CLI, or by @abtel/files' attachOtlp in
-- abtel): otlp_spans_all (one row per span) and otlp_events_all (events from log records with an
-- event name and from span events; origin says which).

-- `attributes` (all attributes as one object with typed values; unknown attributes are kept) is
-- stored as JSON text and typed JSON here; look one up with otlp_json_attr_str/otlp_json_attr_num
-- (attributes, key) or json_extract.
CREATE OR REPLACE VIEW spans AS
SELECT * REPLACE (CAST(attributes AS JSON) AS attributes, CAST(resource_attributes AS JSON) AS resource_attributes)
FROM otlp_spans_all;

CREATE OR REPLACE VIEW events AS
SELECT * REPLACE (CAST(attributes AS JSON) AS attributes)
FROM otlp_events_all;
