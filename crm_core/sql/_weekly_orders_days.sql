-- Fragment: _weekly_orders_lines.sql's `week_orders` added up from the fact layer's days
-- (_f_days.sql), where each order lies in one customer's day (crm_core/metrics/weekly.py reads
-- it only where facts.day_orders_add_up holds): the days' distinct non-return orders and net
-- amounts in the week add up to the week's.
-- @include f_days
,
week_orders AS (
    SELECT
        CAST(coalesce(sum(sale_orders), 0) AS BIGINT) AS orders,
        coalesce(sum(net_amount), 0) AS revenue
    FROM f_days
    WHERE line_date >= CAST($start AS DATE) AND line_date < CAST($end_excl AS DATE)
)
