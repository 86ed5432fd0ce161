-- Grain: one row per (dimension, value) with the orders (distinct non-return order ids, as the
-- orders tile counts them) of the previous period [$prev_start, $start) and of the period
-- [$start, $end_excl), under the global filters. An order counts under its customer's region /
-- source / owner and value tier in the period (an order id shared by several customers: the
-- first customer id) and its main category: the category of its largest amount (ties: the first
-- name; blank last). Rules: docs/metrics.md, "Why did it change".
-- PostgreSQL: no nested loop over value_customers (engine/postgres.py, planner_settings).
-- @postgres enable_nestloop=off jit=off
WITH
-- @include value_window
,
-- @include value_base
,
e_categories AS (
    SELECT
        order_date >= $start AS in_period,
        order_id,
        category,
        min(customer_id) AS customer_id,
        sum(amount) AS amount
    FROM f_orders
    WHERE order_date >= $prev_start AND order_date < $end_excl AND order_id IS NOT NULL
    GROUP BY order_date >= $start, order_id, category
),
e_ranked AS (
    SELECT
        in_period,
        order_id,
        category,
        min(customer_id) OVER (PARTITION BY in_period, order_id) AS customer_id,
        row_number() OVER (
            PARTITION BY in_period, order_id
            ORDER BY amount DESC, CASE WHEN category IS NULL THEN 1 ELSE 0 END, category
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
    WHERE r.rn = 1
)
-- @include explain_breakdown
