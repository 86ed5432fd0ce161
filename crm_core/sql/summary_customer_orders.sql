-- Grain: one row per customer with at least one non-return order line.
-- Value metrics ignore returns; `returned` keeps their (negative) value visible.
-- Built from fact_lines (_fact_lines.sql: every line), so that an append rebuilds the rows of the
-- customers it touched alone (crm_core/engine/summaries.py, merge).
WITH
-- @include fact_lines
SELECT
    customer_id,
    min(order_date) AS first_order_at,
    max(order_date) AS last_order_at,
    count(DISTINCT order_id) AS orders,
    sum(amount) AS revenue,
    sum(cost) AS cost
FROM fact_lines
WHERE NOT is_return
GROUP BY customer_id
