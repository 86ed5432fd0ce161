-- Fragment: the rows of one shared value window (_value_window_base.sql over the window of
-- value_window, one row per customer known by its as-of date), tagged with its window_id.
WITH
-- @include value_window
,
-- @include value_window_base
SELECT CAST($window_id AS BIGINT) AS window_id, value_customers.*
FROM value_customers
