-- Grain: one row per (dimension, value) that a global filter can take.
SELECT 'region' AS dimension, region AS value FROM customers WHERE region IS NOT NULL
UNION
SELECT 'source', source FROM customers WHERE source IS NOT NULL
UNION
SELECT 'owner', owner FROM customers WHERE owner IS NOT NULL
UNION
SELECT 'segment', segment FROM customers WHERE segment IS NOT NULL
UNION
SELECT 'category', category FROM orders WHERE category IS NOT NULL
ORDER BY dimension, value
