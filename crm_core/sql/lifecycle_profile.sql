-- Grain: one row per (stage, end pattern, source, purchases, first-purchase quarter) of the
-- customers known by $as_of under the global filters: customers, revenue, revenue_12m.
WITH
-- @include f_customers
,
-- @include f_orders
,
-- @include lifecycle
-- @include lifecycle_profile_body
