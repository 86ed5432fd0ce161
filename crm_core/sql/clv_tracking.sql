-- Grain: one row per (kind, purchase_date): how many customers of the cohort (first purchase day
-- on or before $calibration_end) made their first purchase ('trial') or a repeat purchase
-- ('repeat', up to $observation_end) on that day. A purchase is a customer-day as in
-- clv_summary (a same-day cancellation leaves none). Feeds the cumulative repeat-purchase
-- tracking chart (Fader et al. 2005, Fig. 3).
WITH
-- @include f_orders
,
daily AS (
    SELECT customer_id, CAST(order_date AS DATE) AS purchase_date
    FROM f_lines
    WHERE CAST(order_date AS DATE) <= CAST($observation_end AS DATE)
    GROUP BY customer_id, CAST(order_date AS DATE)
    HAVING count(CASE WHEN NOT is_return THEN 1 END) > 0
       AND (sum(net_amount) > 0 OR count(CASE WHEN is_return THEN 1 END) = 0)
),
firsts AS (
    SELECT customer_id, min(purchase_date) AS first_date
    FROM daily
    GROUP BY customer_id
    HAVING min(purchase_date) <= CAST($calibration_end AS DATE)
)
SELECT 'trial' AS kind, first_date AS purchase_date, count(*) AS customers
FROM firsts
GROUP BY first_date
UNION ALL
SELECT 'repeat' AS kind, d.purchase_date, count(*) AS customers
FROM daily AS d
JOIN firsts AS f ON f.customer_id = d.customer_id
WHERE d.purchase_date > f.first_date
GROUP BY d.purchase_date
ORDER BY kind, purchase_date
