-- Fragment: leads passing the global filters, created in [$start, $end_excl) (NULL = open).
-- Source and owner are the lead's own; region and segment come from its customer, so a lead
-- with no customer passes only while those filters are unset. Product category does not apply.
f_leads AS (
    SELECT l.*
    FROM leads AS l
    LEFT JOIN customers AS c ON c.customer_id = l.customer_id
    WHERE (CAST($region AS VARCHAR) IS NULL OR c.region = $region)
      AND (CAST($source AS VARCHAR) IS NULL OR l.source = $source)
      AND (CAST($owner AS VARCHAR) IS NULL OR l.owner = $owner)
      AND (CAST($segment AS VARCHAR) IS NULL OR c.segment = $segment)
      AND (CAST($start AS TIMESTAMP) IS NULL OR l.created_at >= CAST($start AS TIMESTAMP))
      AND (CAST($end_excl AS TIMESTAMP) IS NULL OR l.created_at < CAST($end_excl AS TIMESTAMP))
)
