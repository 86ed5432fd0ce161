-- DuckDB only: unregister one shared value window (its rows go with value_window_drop_rows).
DELETE FROM value_window_keys WHERE window_id = $window_id
