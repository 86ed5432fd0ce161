-- Grain: as clv_order_range.sql, from the order lines (a meeting snapshot frozen before the fact
-- layer existed): one row: first and last day with a non-return order line under the global
-- filters (the last one is the default "as of" date of the churn and CLV models).
WITH
-- @include f_orders
SELECT CAST(min(order_date) AS DATE) AS first_date, CAST(max(order_date) AS DATE) AS last_date
FROM f_orders
