-- Grain: one row per customer known as of $as_of (window [$start, $end_excl), global filters),
-- optionally only tier $tier_no or RFM code $rfm_code; best value rank first. monetary is the
-- window's net revenue (gross_revenue - returns_amount).
-- PostgreSQL: no nested loop over the value history (engine/postgres.py, planner_settings).
-- @postgres enable_nestloop=off jit=off
WITH
-- @include value_window
,
-- @include value_base
-- @include value_customers_body
