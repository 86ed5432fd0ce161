-- DuckDB only: the connection's shared lifecycle stages (crm_core/engine/facts.py) start afresh
-- with one window. Grain: one row per (window, customer known by its as-of day).
CREATE OR REPLACE TEMP TABLE lifecycle_stages_rows AS
-- @include lifecycle_stages_select
