-- Fragment: leads passing the global filters and the scope, created in [$start, $end_excl)
-- (NULL = open). Region, source and owner are the lead's own, else its customer's: a lead that
-- never became a customer is filtered by its own values. Customer type and product category do
-- not apply to leads (crm_core/filters.py APPLIES; the pages say so).
f_leads AS (
    SELECT l.*
    FROM leads AS l
    -- The customers are joined only under a filter or a scope (their values decide nothing
    -- otherwise): joining every lead to a million customers costs more than most lead queries.
    LEFT JOIN (
        SELECT customer_id, region, source, owner
        FROM customers
        WHERE CAST($region AS VARCHAR) IS NOT NULL OR CAST($source AS VARCHAR) IS NOT NULL
           OR CAST($owner AS VARCHAR) IS NOT NULL OR CAST($regions AS VARCHAR) IS NOT NULL
           OR CAST($owners AS VARCHAR) IS NOT NULL
    ) AS c ON c.customer_id = l.customer_id
    WHERE (CAST($region AS VARCHAR) IS NULL OR coalesce(l.region, c.region) = $region)
      AND (CAST($source AS VARCHAR) IS NULL OR coalesce(l.source, c.source) = $source)
      AND (CAST($owner AS VARCHAR) IS NULL OR coalesce(l.owner, c.owner) = $owner)
      AND (CAST($regions AS VARCHAR) IS NULL
           OR strpos(CAST($regions AS VARCHAR), chr(31) || coalesce(l.region, c.region) || chr(31))
              > 0)
      AND (CAST($owners AS VARCHAR) IS NULL
           OR strpos(CAST($owners AS VARCHAR), chr(31) || coalesce(l.owner, c.owner) || chr(31))
              > 0)
      AND (CAST($start AS TIMESTAMP) IS NULL OR l.created_at >= CAST($start AS TIMESTAMP))
      AND (CAST($end_excl AS TIMESTAMP) IS NULL OR l.created_at < CAST($end_excl AS TIMESTAMP))
)
