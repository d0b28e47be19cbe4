-- spans and events: the flattened OTLP data.
-- Base relations (defined by 00_sources.sql in the duckdb CLI, or by @abtel/files' attachOtlp in
-- abtel): otlp_spans_all (one row per span) and otlp_events_all (events from log records with an
-- event name and from span events; origin says which).

CREATE OR REPLACE VIEW spans AS
SELECT * FROM otlp_spans_all;

CREATE OR REPLACE VIEW events AS
SELECT * FROM otlp_events_all;

-- Experiments whose exposures come from OpenFeature `feature_flag.evaluation` events
-- (exposure.source = feature_flag): flag key → experiment key. abtel fills it from the
-- definitions; in the duckdb CLI: INSERT INTO exposure_flags VALUES ('my-flag', 'my-experiment');
CREATE TABLE IF NOT EXISTS exposure_flags (flag_key VARCHAR, experiment_key VARCHAR);
