-- Grain: one row per lifecycle stage present as of $as_of: customers, lifetime revenue and
-- revenue of the last 12 months (to $as_of).
WITH
-- @include f_customers
,
-- @include f_orders
,
-- @include lifecycle
-- @include lifecycle_stage_counts_body
