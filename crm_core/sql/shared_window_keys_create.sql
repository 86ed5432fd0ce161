-- DuckDB only: the register of the connection's shared windows (crm_core/facts.py): one row per
-- window held in a `<kind>_rows` table, with the data version and the key it was computed for.
CREATE TEMP TABLE IF NOT EXISTS shared_window_keys (
    kind VARCHAR, window_id BIGINT, data_version VARCHAR, window_key VARCHAR, variant VARCHAR
)
