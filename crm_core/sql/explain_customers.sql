-- Grain: one row per (dimension, value) with the active customers (net revenue > 0 in the
-- period, as the active-customers tile counts them) of the previous period [$prev_start, $start)
-- and of the period [$start, $end_excl), under the global filters. A customer counts under its
-- region / source / owner, its value tier in the period, and its main category in that period:
-- the category of its largest net revenue (ties: the first name; blank last). Rules:
-- docs/metrics.md, "Why did it change".
-- PostgreSQL: no nested loop over value_customers (engine/postgres.py, planner_settings).
-- @postgres enable_nestloop=off jit=off
WITH
-- @include value_window
,
-- @include value_base
,
e_lines AS (
    SELECT customer_id, category, net_amount, order_date >= $start AS in_period
    FROM f_lines
    WHERE order_date >= $prev_start AND order_date < $end_excl
),
e_categories AS (
    SELECT
        in_period,
        customer_id,
        category,
        sum(net_amount) AS net_revenue
    FROM e_lines
    GROUP BY in_period, customer_id, category
),
e_ranked AS (
    SELECT
        in_period,
        customer_id,
        category,
        sum(net_revenue) OVER (PARTITION BY in_period, customer_id) AS customer_revenue,
        row_number() OVER (
            PARTITION BY in_period, customer_id
            ORDER BY net_revenue DESC, CASE WHEN category IS NULL THEN 1 ELSE 0 END, category
        ) AS rn
    FROM e_categories
),
facts AS (
    SELECT
        r.in_period,
        c.region,
        c.source,
        c.owner,
        r.category,
        v.tier_no,
        1 AS measure
    FROM e_ranked AS r
    LEFT JOIN customers AS c ON c.customer_id = r.customer_id
    LEFT JOIN value_customers AS v ON v.w = 1 AND v.customer_id = r.customer_id
    WHERE r.rn = 1 AND r.customer_revenue > 0
)
-- @include explain_breakdown
