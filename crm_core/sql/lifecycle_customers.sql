-- Grain: one row per customer known by $as_of (customers table and order-only customers, under
-- the global filters): lifecycle stage, the rule that placed it and the numbers behind it.
WITH
-- @include f_customers
,
-- @include f_orders
,
-- @include lifecycle
-- @include lifecycle_customers_body
