-- DuckDB only: value_pareto.sql (same grain and columns) read from the shared value window
-- $window_id (crm_core/facts.py): its buyers are the customers with net window revenue > 0.
WITH
buyers AS (
    SELECT customer_id, revenue FROM value_window_rows WHERE window_id = $window_id AND revenue > 0
),
-- @include value_pareto_body
