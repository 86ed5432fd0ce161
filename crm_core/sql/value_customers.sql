-- Grain: one row per customer known as of $as_of (window [$start, $end_excl), global filters),
-- optionally only tier $tier_no or RFM code $rfm_code; best value rank first. monetary is the
-- window's net revenue (gross_revenue - returns_amount).
WITH
-- @include value_window
,
-- @include value_base
-- @include value_customers_body
