-- Grain: one row per customer with complaints received in [$start, $end_excl) (one month of the
-- complaint trend, on the receipt clock), under the global filters and the scope; complaints
-- without a customer id form one row with a NULL id, so the rows' complaints add up to the
-- month's bar. With $by set (one of category, channel, severity, product, owner, checked in
-- drill.py), only the complaints of the clicked group: the value $grp, or a blank value when
-- $grp is NULL. Most complaints first, then by id.
WITH
-- @include f_complaints
,
split AS (
    SELECT
        k.*,
        CASE CAST($by AS VARCHAR)
            WHEN 'category' THEN k.category
            WHEN 'channel' THEN k.channel
            WHEN 'severity' THEN k.severity
            WHEN 'product' THEN k.product
            WHEN 'owner' THEN k.owner
        END AS grp
    FROM f_complaints AS k
)
SELECT
    k.customer_id,
    c.name,
    coalesce(max(k.region), c.region) AS region,
    c.owner,
    count(*) AS complaints,
    min(k.received_at) AS first_received_at,
    max(k.received_at) AS last_received_at
FROM split AS k
LEFT JOIN customers AS c ON c.customer_id = k.customer_id
WHERE k.received_at >= CAST($start AS TIMESTAMP)
  AND k.received_at < CAST($end_excl AS TIMESTAMP)
  AND (
      CAST($by AS VARCHAR) IS NULL
      OR k.grp = CAST($grp AS VARCHAR)
      OR (CAST($grp AS VARCHAR) IS NULL AND k.grp IS NULL)
  )
GROUP BY k.customer_id, c.name, c.region, c.owner
ORDER BY complaints DESC, k.customer_id
