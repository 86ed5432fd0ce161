-- Fragment: `week_orders`, one row: the week's orders (distinct non-return orders with a line
-- in [$start, $end_excl)) and net revenue (the returns dated in the week count against it), from
-- the order lines of _f_orders.sql. _weekly_orders_days.sql adds up the same from the days.
week_orders AS (
    SELECT
        (SELECT count(DISTINCT order_id) FROM f_orders
         WHERE order_date >= $start AND order_date < $end_excl) AS orders,
        (SELECT coalesce(sum(net_amount), 0) FROM f_lines
         WHERE order_date >= $start AND order_date < $end_excl) AS revenue
)
