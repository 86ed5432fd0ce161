-- DuckDB only. Grain: one row per shared window of kind $kind this connection holds, oldest
-- first.
SELECT window_id, data_version, window_key, variant
FROM shared_window_keys
WHERE kind = $kind
ORDER BY window_id
