-- Fragment: non-return order lines passing the global filters and the scope. A customer missing
-- from the customers table passes only while no customer filter or scope is set.
-- Customers are joined only under a customer filter (the joined set is empty otherwise): joining
-- every order line to its customer costs more than the rest of most queries (bench/RESULTS.md).
f_orders AS (
    SELECT o.*
    FROM orders AS o
    LEFT JOIN (
        SELECT customer_id, TRUE AS passes
        FROM customers AS c
        WHERE (CAST($region AS VARCHAR) IS NOT NULL OR CAST($source AS VARCHAR) IS NOT NULL
               OR CAST($owner AS VARCHAR) IS NOT NULL OR CAST($segment AS VARCHAR) IS NOT NULL
               OR CAST($regions AS VARCHAR) IS NOT NULL OR CAST($owners AS VARCHAR) IS NOT NULL)
          AND (CAST($region AS VARCHAR) IS NULL OR c.region = $region)
          AND (CAST($source AS VARCHAR) IS NULL OR c.source = $source)
          AND (CAST($owner AS VARCHAR) IS NULL OR c.owner = $owner)
          AND (CAST($segment AS VARCHAR) IS NULL OR c.segment = $segment)
          AND (CAST($regions AS VARCHAR) IS NULL
               OR strpos(CAST($regions AS VARCHAR), chr(31) || c.region || chr(31)) > 0)
          AND (CAST($owners AS VARCHAR) IS NULL
               OR strpos(CAST($owners AS VARCHAR), chr(31) || c.owner || chr(31)) > 0)
    ) AS fc ON fc.customer_id = o.customer_id
    WHERE NOT o.is_return
      AND (CAST($category AS VARCHAR) IS NULL OR o.category = $category)
      AND (fc.passes OR (CAST($region AS VARCHAR) IS NULL AND CAST($source AS VARCHAR) IS NULL
                         AND CAST($owner AS VARCHAR) IS NULL AND CAST($segment AS VARCHAR) IS NULL
                         AND CAST($regions AS VARCHAR) IS NULL
                         AND CAST($owners AS VARCHAR) IS NULL))
)
