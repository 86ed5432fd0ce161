-- Fragment: complaints of customers passing the global customer filters (region, source, owner,
-- segment; the product-category filter is for orders and does not apply). A complaint with no
-- known customer passes only while no customer filter is set.
f_complaints AS (
    SELECT k.*
    FROM complaints AS k
    LEFT JOIN customers AS c ON c.customer_id = k.customer_id
    WHERE (CAST($region AS VARCHAR) IS NULL OR c.region = $region)
      AND (CAST($source AS VARCHAR) IS NULL OR c.source = $source)
      AND (CAST($owner AS VARCHAR) IS NULL OR c.owner = $owner)
      AND (CAST($segment AS VARCHAR) IS NULL OR c.segment = $segment)
)
