-- Grain: one row per channel of the marketing_spend table with spend in the months of the
-- period (months from $start's month to $end_excl's last day): channel, spend (sum of amount),
-- months (distinct months with a spend row). Only the source filter applies: spend is not split
-- by region, owner, customer type or category.
SELECT
    channel,
    sum(amount) AS spend,
    count(DISTINCT month) AS months
FROM marketing_spend
WHERE month >= CAST(date_trunc('month', CAST($start AS DATE)) AS DATE)
  AND month < CAST($end_excl AS DATE)
  AND (CAST($source AS VARCHAR) IS NULL OR channel = $source)
GROUP BY channel
ORDER BY channel
