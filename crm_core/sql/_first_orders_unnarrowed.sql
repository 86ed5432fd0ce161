-- Fragment (a SELECT, for a UNION ALL): each customer's first non-return order
-- (customer_id, first_order_at) from the customer_orders summary, for the customers passing the
-- global customer filters and the scope, and none under a category filter. A customer's lines
-- pass or fail a customer filter together, so without a category its first order under the
-- filters is the summary's, built from those lines. The including query adds the category case
-- from its own lines: `SELECT customer_id, min(order_date) ... WHERE $category IS NOT NULL`.
SELECT co.customer_id, co.first_order_at
FROM customer_orders AS co
LEFT JOIN
-- @include f_passing_customers
ON fc.customer_id = co.customer_id
WHERE CAST($category AS VARCHAR) IS NULL
  AND
  -- @include fc_passes
