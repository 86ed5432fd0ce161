-- Grain: one row per (dimension, value) with the net revenue (sales minus returns, each line on
-- its own date) of the previous period [$prev_start, $start) and of the period
-- [$start, $end_excl), under the global filters: the revenue tile's lines, split by the
-- customer's region / source / owner, the line's product category and the customer's value
-- tier in the period (value_base over the period's window). Rules: docs/metrics.md, "Why did it
-- change".
-- PostgreSQL: no nested loop over value_customers (engine/postgres.py, planner_settings).
-- @postgres enable_nestloop=off jit=off
WITH
-- @include value_window
,
-- @include value_base
,
facts AS (
    SELECT
        o.order_date >= $start AS in_period,
        c.region,
        c.source,
        c.owner,
        o.category,
        v.tier_no,
        o.net_amount AS measure
    FROM f_lines AS o
    LEFT JOIN customers AS c ON c.customer_id = o.customer_id
    LEFT JOIN value_customers AS v ON v.w = 1 AND v.customer_id = o.customer_id
    WHERE o.order_date >= $prev_start AND o.order_date < $end_excl
)
-- @include explain_breakdown
