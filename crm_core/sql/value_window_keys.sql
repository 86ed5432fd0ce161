-- DuckDB only. Grain: one row per shared value window this connection holds, oldest first.
SELECT window_id, data_version, window_key, variant
FROM value_window_keys
ORDER BY window_id
