-- Grain: one row per value of $by (category, owner, severity, channel; 'all' = one row) over
-- the complaints received in [$start, $end_excl): SLA outcomes of the accept and resolve stages
-- (see the complaints_clock fragment) and breach rates = breached / (met + breached).
WITH
-- @include f_complaints
,
-- @include complaints_clock
,
period AS (
    SELECT
        CASE $by
            WHEN 'category' THEN category
            WHEN 'owner' THEN owner
            WHEN 'severity' THEN severity
            WHEN 'channel' THEN channel
            ELSE 'all'
        END AS grp,
        accept_sla,
        resolve_sla
    FROM c_sla
    WHERE received_at >= $start AND received_at < $end_excl
),
counted AS (
    SELECT
        grp,
        count(*) AS complaints,
        count(CASE WHEN accept_sla = 'met' THEN 1 END) AS accept_met,
        count(CASE WHEN accept_sla = 'breached' THEN 1 END) AS accept_breached,
        count(CASE WHEN accept_sla = 'pending' THEN 1 END) AS accept_pending,
        count(CASE WHEN resolve_sla = 'met' THEN 1 END) AS resolve_met,
        count(CASE WHEN resolve_sla = 'breached' THEN 1 END) AS resolve_breached,
        count(CASE WHEN resolve_sla = 'pending' THEN 1 END) AS resolve_pending,
        count(CASE WHEN accept_sla = 'invalid' OR resolve_sla = 'invalid' THEN 1 END) AS invalid
    FROM period
    GROUP BY grp
)
SELECT
    *,
    CAST(accept_breached AS DOUBLE) / NULLIF(accept_met + accept_breached, 0)
        AS accept_breach_rate,
    CAST(resolve_breached AS DOUBLE) / NULLIF(resolve_met + resolve_breached, 0)
        AS resolve_breach_rate
FROM counted
ORDER BY complaints DESC, grp
