-- Grain: one row per (dimension, value) with the complaints received in the previous period
-- [$prev_start, $start) and in the period [$start, $end_excl), under the global filters (the
-- complaints tile's rows). A complaint counts under its own region (else its customer's), its
-- customer's source and account owner, its complaint category (a complaint type, not a product
-- category) and its customer's value tier in the period. Rules: docs/metrics.md, "Why did it
-- change".
-- PostgreSQL: no nested loop over value_customers (engine/postgres.py, planner_settings).
-- @postgres enable_nestloop=off jit=off
WITH
-- @include value_window
,
-- @include value_base
,
-- @include f_complaints
,
facts AS (
    SELECT
        k.received_at >= $start AS in_period,
        coalesce(k.region, c.region) AS region,
        c.source,
        c.owner,
        k.category,
        v.tier_no,
        1 AS measure
    FROM f_complaints AS k
    LEFT JOIN customers AS c ON c.customer_id = k.customer_id
    LEFT JOIN value_customers AS v ON v.w = 1 AND v.customer_id = k.customer_id
    WHERE k.received_at >= $prev_start AND k.received_at < $end_excl
)
-- @include explain_breakdown
