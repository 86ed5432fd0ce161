-- Grain: one row per customer of a stage as of $as_of under the global filters (the first
-- $limit of each stage by revenue): the columns of lifecycle_customers.sql.
WITH
-- @include f_customers
,
-- @include f_orders
,
-- @include lifecycle
-- @include lifecycle_members_body
