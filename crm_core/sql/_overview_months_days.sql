-- Fragment of overview_monthly.sql, from the fact layer's days (_overview_months_lines.sql
-- computes the same from the order lines): the period and the months start and end on day
-- boundaries, so their days hold exactly their lines. Read only where
-- order_proofs.orders_one_day holds (crm_core/metrics/overview.py): each order then lies in one
-- customer's day, so the days' distinct non-return orders (sale_orders) add up.
-- @include f_days
,
month_customers AS (
    SELECT
        CAST(date_trunc('month', line_date) AS DATE) AS month,
        customer_id,
        sum(net_amount) AS revenue,
        sum(sale_orders) AS orders
    FROM f_days
    WHERE line_date >= $start AND line_date < $end_excl
    GROUP BY 1, 2
),
months AS (
    SELECT
        month,
        sum(revenue) AS revenue,
        sum(orders) AS orders,
        count(CASE WHEN revenue > 0 THEN 1 END) AS customers
    FROM month_customers
    GROUP BY month
),
buyer_days AS (
    SELECT customer_id, line_date AS order_date FROM f_days WHERE sale_lines > 0
)
