-- Fragment of overview_monthly.sql, from the order lines: `months` (month, net revenue, orders,
-- buying customers) of the period [$start, $end_excl), and `buyer_days` (customer_id, order_date)
-- of the non-return lines passing the filters. _overview_months_days.sql computes the same from
-- the fact layer's days.
-- @include f_orders
,
month_customers AS (
    SELECT
        CAST(date_trunc('month', order_date) AS DATE) AS month,
        customer_id,
        sum(net_amount) AS revenue,
        count(DISTINCT CASE WHEN NOT is_return THEN order_id END) AS orders
    FROM f_lines
    WHERE order_date >= $start AND order_date < $end_excl
    GROUP BY 1, 2
),
months AS (
    -- An order belongs to one customer, so per-customer distinct orders add up.
    SELECT
        month,
        sum(revenue) AS revenue,
        sum(orders) AS orders,
        count(CASE WHEN revenue > 0 THEN 1 END) AS customers
    FROM month_customers
    GROUP BY month
),
buyer_days AS (
    SELECT customer_id, order_date FROM f_orders
)
