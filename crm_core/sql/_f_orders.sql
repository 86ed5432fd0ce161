-- Fragment: order lines passing the global filters and the scope. `f_lines` holds every line,
-- returns included, with `net_amount` (a sale's amount; a return line's -|amount|, whatever sign
-- the export gave it); `f_orders` holds the non-return lines. A customer missing from the
-- customers table passes only while no customer filter or scope is set. Net vs gross:
-- docs/metrics.md.
-- Customers are joined only under a customer filter (the joined set is empty otherwise): joining
-- every order line to its customer costs more than the rest of most queries (bench/RESULTS.md).
f_lines AS (
    SELECT
        o.*,
        CASE WHEN o.is_return THEN -abs(o.amount) ELSE o.amount END AS net_amount
    FROM orders AS o
    LEFT JOIN
    -- @include f_passing_customers
    ON fc.customer_id = o.customer_id
    WHERE (CAST($category AS VARCHAR) IS NULL OR o.category = $category)
      AND
      -- @include fc_passes
),
f_orders AS (
    SELECT * FROM f_lines WHERE NOT is_return
)
