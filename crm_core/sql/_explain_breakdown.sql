-- Fragment (last in an explain_* query): the including query defines
-- `facts (in_period, region, source, owner, category, tier_no, measure)`, one row per counted
-- unit (an order line, a customer, an order, a complaint) of the previous period
-- (in_period FALSE) or the period (TRUE). Grain of the result: one row per (dimension, value)
-- with the measure in each period; each fact falls under exactly one value per dimension
-- (NULL stays NULL: the blank value), so every dimension's rows sum to the totals.
SELECT
    dimension,
    value,
    sum(CASE WHEN NOT in_period THEN measure ELSE 0 END) AS previous,
    sum(CASE WHEN in_period THEN measure ELSE 0 END) AS current
FROM (
    SELECT 'region' AS dimension, CAST(region AS VARCHAR) AS value, in_period, measure
    FROM facts
    UNION ALL
    SELECT 'source' AS dimension, CAST(source AS VARCHAR) AS value, in_period, measure
    FROM facts
    UNION ALL
    SELECT 'owner' AS dimension, CAST(owner AS VARCHAR) AS value, in_period, measure
    FROM facts
    UNION ALL
    SELECT 'category' AS dimension, CAST(category AS VARCHAR) AS value, in_period, measure
    FROM facts
    UNION ALL
    SELECT 'tier' AS dimension, CAST(tier_no AS VARCHAR) AS value, in_period, measure
    FROM facts
) AS u
GROUP BY dimension, value
ORDER BY dimension, value
