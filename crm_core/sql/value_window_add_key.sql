-- DuckDB only: register a shared value window once its rows are in value_window_rows.
INSERT INTO value_window_keys VALUES (
    CAST($window_id AS BIGINT), CAST($data_version AS VARCHAR), CAST($window_key AS VARCHAR),
    CAST($variant AS VARCHAR)
)
