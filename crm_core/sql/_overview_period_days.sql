-- Fragment of overview_kpis.sql, from the fact layer's days (_overview_period_lines.sql computes
-- the same from the order lines): the periods start and end on day boundaries, so their days hold
-- exactly their lines. Read only where order_proofs.orders_one_day holds
-- (crm_core/metrics/overview.py): each order then lies in one customer's day, so the days'
-- distinct non-return orders (sale_orders) add up.
-- @include f_days
,
period_customers AS (
    SELECT
        line_date >= $start AS in_period,
        customer_id,
        sum(net_amount) AS net_revenue,
        sum(sale_orders) AS orders
    FROM f_days
    WHERE line_date >= $prev_start AND line_date < $end_excl
    GROUP BY line_date >= $start, customer_id
),
order_kpis AS (
    SELECT
        in_period,
        count(CASE WHEN net_revenue > 0 THEN 1 END) AS active_customers,
        sum(net_revenue) AS revenue,
        CAST(sum(orders) AS BIGINT) AS orders
    FROM period_customers
    GROUP BY in_period
),
buyers AS (
    SELECT customer_id FROM f_days WHERE sale_lines > 0
)
