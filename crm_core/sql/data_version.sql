-- Grain: one row that changes whenever data is loaded or rolled back: a cache key for results
-- computed from the data (e.g. the churn and CLV model fits).
SELECT
    count(*) AS load_files,
    coalesce(max(load_id), 0) AS last_load_id,
    coalesce(sum(load_id) FILTER (WHERE status = 'loaded'), 0) AS live_load_ids
FROM load_history
