-- Fragment: `purchase_days` (as _purchase_days.sql computes it from the order lines) from the
-- fact layer's days with a non-return line: the day's amount is their gross; the previous and
-- next purchase day come with customer_days, and are ordered again over the category's days under
-- a category filter (a customer's days pass or fail a customer filter together).
-- @include f_days
,
purchase_days AS (
    SELECT customer_id, line_date AS purchase_date, gross_amount AS amount, prev_date, next_date
    FROM f_days
    WHERE sale_lines > 0 AND CAST($category AS VARCHAR) IS NULL
    UNION ALL
    SELECT
        customer_id,
        line_date,
        gross_amount,
        lag(line_date) OVER (PARTITION BY customer_id ORDER BY line_date),
        lead(line_date) OVER (PARTITION BY customer_id ORDER BY line_date)
    FROM f_days
    WHERE sale_lines > 0 AND CAST($category AS VARCHAR) IS NOT NULL
)
