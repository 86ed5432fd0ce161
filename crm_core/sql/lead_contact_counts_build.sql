-- DuckDB only: the connection's shared contact counts (crm_core/engine/facts.py) start afresh
-- with one window. Grain: one row per (window, lead named by an interaction by its as-of day).
CREATE OR REPLACE TEMP TABLE lead_contact_counts_rows AS
-- @include lead_contact_counts_select
