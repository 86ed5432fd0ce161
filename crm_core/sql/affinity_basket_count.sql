-- Grain: one row: the number of baskets (customers with any item bought, net of returns, in the
-- window) that support and lift divide by, even when no rule passes the thresholds.
WITH
-- @include f_orders
,
-- @include affinity_baskets
SELECT baskets FROM basket_count
