-- Fragment: the distinct non-return orders of a group of `fact_lines`, as the Overview and the
-- complaint trend count orders (_f_orders.sql's lines, whatever their amount).
count(DISTINCT CASE WHEN NOT is_return THEN order_id END) AS sale_orders
