-- Fragment: the fact layer's days passing the global filters and the scope, as _f_orders.sql
-- filters the order lines: `f_days` holds one row per (customer, day with order lines) from
-- customer_days, or from order_days (that category's lines of the day) under a category filter,
-- where prev_date / next_date are NULL (a reader needing them orders the filtered days itself).
f_days AS (
    SELECT d.*
    FROM (
        SELECT
            customer_id, line_date, orders, lines, sale_lines, has_bought, net_amount, gross_amount,
            returns_amount, profit, prev_date, next_date, sale_orders
        FROM customer_days
        WHERE CAST($category AS VARCHAR) IS NULL
        UNION ALL
        SELECT
            customer_id, line_date, orders, lines, sale_lines, has_bought, net_amount, gross_amount,
            returns_amount, profit, NULL AS prev_date, NULL AS next_date, sale_orders
        FROM order_days
        WHERE order_days.category = $category
    ) AS d
    LEFT JOIN
    -- @include f_passing_customers
    ON fc.customer_id = d.customer_id
    WHERE
    -- @include fc_passes
)
