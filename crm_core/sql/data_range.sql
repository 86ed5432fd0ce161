-- Grain: one row: first and last day with a non-return order, read from the fact layer's
-- customer_days (crm_core/engine/summaries.py) rather than from every order line; the same days.
SELECT min(line_date) AS first_date, max(line_date) AS last_date
FROM customer_days
WHERE sale_lines > 0
