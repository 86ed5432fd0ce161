-- Grain: one row per customer known by $as_of: its lifecycle stage only (stage transitions).
WITH
-- @include f_customers
,
-- @include f_orders
,
-- @include lifecycle
-- @include lifecycle_stage_of_body
