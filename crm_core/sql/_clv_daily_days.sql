-- Fragment (needs f_days before it): `daily (customer_id, purchase_date, amount, is_purchase)`,
-- the churn model's customer-days up to $observation_end from the fact layer's days
-- (clv_summary.sql's purchase rule: a sale line, and net spend > 0 or no return that day).
daily AS (
    SELECT
        customer_id,
        line_date AS purchase_date,
        net_amount AS amount,
        -- lines - sale_lines: the day's return lines
        sale_lines > 0 AND (net_amount > 0 OR lines = sale_lines) AS is_purchase
    FROM f_days
    WHERE line_date <= CAST($observation_end AS DATE)
),
