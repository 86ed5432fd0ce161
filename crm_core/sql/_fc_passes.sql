-- Fragment: a condition, after `LEFT JOIN <f_passing_customers> ON fc.customer_id = ...`: the
-- row's customer passes the global customer filters and the scope, or none of them is set (then
-- every row passes, customers missing from the customers table included).
(fc.passes OR (CAST($region AS VARCHAR) IS NULL AND CAST($source AS VARCHAR) IS NULL
               AND CAST($owner AS VARCHAR) IS NULL AND CAST($segment AS VARCHAR) IS NULL
               AND CAST($regions AS VARCHAR) IS NULL AND CAST($owners AS VARCHAR) IS NULL))
