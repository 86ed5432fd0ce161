-- Fragment: the rows of one shared lifecycle-stages window: one row per customer known by
-- $as_of under the global filters, with its stage, rule and the facts behind them (the columns
-- of lifecycle_customers.sql), from the shared purchase days $days_id; tagged with $window_id.
WITH
-- @include f_customers
,
-- @include lifecycle_shared
SELECT
    CAST($window_id AS BIGINT) AS window_id,
    -- @include lifecycle_columns
FROM lifecycle
