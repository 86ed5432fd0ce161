-- DuckDB only: the register of the connection's shared value windows (crm_core/facts.py): one row
-- per window held in value_window_rows, with the data version and the key it was computed for.
CREATE TEMP TABLE IF NOT EXISTS value_window_keys (
    window_id BIGINT, data_version VARCHAR, window_key VARCHAR, variant VARCHAR
)
