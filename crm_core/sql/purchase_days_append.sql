-- DuckDB only: one more shared purchase-days window (crm_core/facts.py) beside those held.
-- Grain: one row per (customer, purchase day).
INSERT INTO purchase_days_rows
-- @include purchase_days_select
