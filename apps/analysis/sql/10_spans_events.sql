-- spans and events: the flattened OTLP data.
-- Base relations (defined by 00_sources.sql in the duckdb CLI, or by @abtel/files' attachOtlp in
-- abtel): otlp_spans_all (one row per span) and otlp_events_all (events from log records with an
-- event name and from span events; origin says which).

-- `attributes` (all attributes, typed JSON values) is rendered only when a query reads it;
-- `attribute_list` keeps the typed OTLP list for fast lookups (otlp_attr(attribute_list, key)).
CREATE OR REPLACE VIEW spans AS
SELECT * EXCLUDE (attribute_list, resource_attribute_list),
       otlp_attributes_json(attribute_list) AS attributes,
       otlp_attributes_json(resource_attribute_list) AS resource_attributes,
       attribute_list
FROM otlp_spans_all;

CREATE OR REPLACE VIEW events AS
SELECT * EXCLUDE (attribute_list),
       otlp_attributes_json(attribute_list) AS attributes,
       attribute_list
FROM otlp_events_all;

-- Experiments whose exposures come from OpenFeature `feature_flag.evaluation` events
-- (exposure.source = feature_flag): flag key → experiment key. abtel fills it from the
-- definitions; in the duckdb CLI: INSERT INTO exposure_flags VALUES ('my-flag', 'my-experiment');
CREATE TABLE IF NOT EXISTS exposure_flags (flag_key VARCHAR, experiment_key VARCHAR);
