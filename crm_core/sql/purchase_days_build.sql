-- DuckDB only: the connection's shared purchase days (crm_core/facts.py) start afresh with one
-- window. Grain: one row per (customer, purchase day).
CREATE OR REPLACE TEMP TABLE purchase_days_rows AS
-- @include purchase_days_select
