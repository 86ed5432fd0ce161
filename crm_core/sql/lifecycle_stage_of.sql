-- Grain: one row per customer known by $as_of: its lifecycle stage only (stage transitions).
WITH
-- @include f_customers
,
-- @include f_orders
,
-- @include lifecycle
SELECT customer_id, stage
FROM lifecycle
