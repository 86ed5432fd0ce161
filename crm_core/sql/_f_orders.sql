-- Fragment: non-return order lines passing the global filters. A customer missing from the
-- customers table passes only while no customer filter is set.
f_orders AS (
    SELECT o.*
    FROM orders AS o
    LEFT JOIN customers AS c ON c.customer_id = o.customer_id
    WHERE NOT o.is_return
      AND (CAST($region AS VARCHAR) IS NULL OR c.region = $region)
      AND (CAST($source AS VARCHAR) IS NULL OR c.source = $source)
      AND (CAST($owner AS VARCHAR) IS NULL OR c.owner = $owner)
      AND (CAST($segment AS VARCHAR) IS NULL OR c.segment = $segment)
      AND (CAST($category AS VARCHAR) IS NULL OR o.category = $category)
)
