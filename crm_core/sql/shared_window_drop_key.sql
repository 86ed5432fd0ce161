-- DuckDB only: unregister one shared window (its rows go with `<kind>_drop_rows`).
DELETE FROM shared_window_keys WHERE kind = $kind AND window_id = $window_id
