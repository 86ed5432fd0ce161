-- Fragment: derived table `fc (customer_id, passes)`: the customers passing the global customer
-- filters and the scope, and none while no customer filter or scope is set (every row passes
-- then, customers missing from the customers table included). _f_orders.sql and _f_days.sql
-- LEFT JOIN it and keep `fc.passes OR <no customer filter set>`.
(
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
) AS fc
