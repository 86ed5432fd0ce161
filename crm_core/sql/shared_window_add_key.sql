-- DuckDB only: register a shared window once its rows are in its `<kind>_rows` table.
INSERT INTO shared_window_keys VALUES (
    CAST($kind AS VARCHAR), CAST($window_id AS BIGINT), CAST($data_version AS VARCHAR),
    CAST($window_key AS VARCHAR), CAST($variant AS VARCHAR)
)
