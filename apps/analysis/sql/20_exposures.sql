-- Experiments whose exposures come from OpenFeature `feature_flag.evaluation` events
-- (exposure.source = feature_flag): flag key → experiment key. abtel fills it from the
-- definitions; in the duckdb CLI: INSERT INTO exposure_flags VALUES ('my-flag', 'my-experiment');
CREATE TABLE IF NOT EXISTS exposure_flags (flag_key VARCHAR, experiment_key VARCHAR);

-- exposures: the first exposure per (experiment, unit); duplicates removed, units that were
-- assigned but never exposed are not here at all. The unit is abtel.assignment.id when the
-- experiment randomises on something other than the conversation, else the conversation id.

CREATE OR REPLACE VIEW exposure_events AS
SELECT experiment_key, coalesce(assignment_id, conversation_id) AS unit_id, conversation_id, variation,
       experiment_version, time, attributes, 'abtel' AS source, assignment_unit
FROM events
WHERE event_name = 'abtel.exposure' AND experiment_key IS NOT NULL AND coalesce(assignment_id, conversation_id) IS NOT NULL
UNION ALL
SELECT f.experiment_key, coalesce(e.flag_context_id, e.assignment_id, e.conversation_id) AS unit_id, e.conversation_id,
       e.flag_variant AS variation, e.experiment_version, e.time, e.attributes, 'feature_flag' AS source, e.assignment_unit
FROM events e JOIN exposure_flags f ON e.flag_key = f.flag_key
WHERE e.event_name = 'feature_flag.evaluation' AND coalesce(e.flag_context_id, e.assignment_id, e.conversation_id) IS NOT NULL;

-- experiment_units: what each experiment randomises, as its exposures say (abtel's analysis reads
-- the definition instead): abtel.assignment.unit, or the conversation when an exposure without it
-- is keyed by its conversation (as a definition's default unit is). unit_metrics and evaluations
-- find an event's unit in each experiment with it (abtel_unit_id).
CREATE OR REPLACE VIEW experiment_units AS
SELECT experiment_key, mode(coalesce(assignment_unit, CASE WHEN unit_id = conversation_id THEN 'conversation' END)) AS unit
FROM exposure_events GROUP BY experiment_key;

-- The order that decides which exposure of a unit is its first: the earliest, then by variation;
-- exposures tied on both (a user exposed in two conversations at one instant, a flag evaluated
-- twice) by conversation, version and a hash of their attributes, so that the choice is fixed
-- rather than whichever row DuckDB meets first. abtel's prepared units (prepare.ts) take their
-- first exposure by this order too: the two must pick the same row.
CREATE OR REPLACE MACRO abtel_exposure_order(t, v, conversation, version, attrs) AS
  {'time': t, 'variation': v, 'conversation_id': conversation, 'experiment_version': version, 'attributes': hash(attrs)};

CREATE OR REPLACE VIEW exposures AS
WITH ranked AS (
  SELECT *, row_number() OVER (PARTITION BY experiment_key, unit_id
                               ORDER BY abtel_exposure_order(time, variation, conversation_id, experiment_version, attributes)) AS rank,
         count(*) OVER (PARTITION BY experiment_key, unit_id) AS exposure_count,
         count(DISTINCT variation) OVER (PARTITION BY experiment_key, unit_id) AS variation_count
  FROM exposure_events
)
SELECT experiment_key, unit_id, conversation_id, variation, experiment_version,
       time AS first_exposure_time, exposure_count, variation_count,
       -- abtel.segment.<name> of the first exposure, as {"name": "value"}.
       coalesce(CAST(to_json(map_from_entries(list_transform(
         list_filter(json_keys(attributes), k -> starts_with(k, 'abtel.segment.')),
         k -> {'key': substr(k, 15), 'value': json_extract_string(attributes, '$."' || k || '"')}))) AS JSON), '{}'::JSON) AS segments,
       attributes
FROM ranked
WHERE rank = 1;
