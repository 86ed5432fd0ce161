-- Grain: one row over the complaints received in [$start, $end_excl) (NULL bounds = all time):
-- complaints; median hours received -> closed over complaints with a closed time whatever their
-- status (a closed time before receipt is a data error: counted, left out); resolve and accept
-- SLA breach rates; rated complaints and the satisfied share (score >= $satisfied_min).
WITH
-- @include f_complaints
,
-- @include complaints_clock
,
period AS (
    SELECT *
    FROM c_sla
    WHERE (CAST($start AS TIMESTAMP) IS NULL OR received_at >= $start)
      AND (CAST($end_excl AS TIMESTAMP) IS NULL OR received_at < $end_excl)
)
SELECT
    count(*) AS complaints,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY CASE WHEN resolution_h >= 0 THEN resolution_h END)
        AS median_resolution_hours,
    count(CASE WHEN resolution_h < 0 THEN 1 END) AS resolution_time_errors,
    CAST(count(CASE WHEN resolve_sla = 'breached' THEN 1 END) AS DOUBLE)
        / NULLIF(count(CASE WHEN resolve_sla IN ('met', 'breached') THEN 1 END), 0)
        AS sla_breach_rate,
    CAST(count(CASE WHEN accept_sla = 'breached' THEN 1 END) AS DOUBLE)
        / NULLIF(count(CASE WHEN accept_sla IN ('met', 'breached') THEN 1 END), 0)
        AS accept_breach_rate,
    count(satisfaction) AS rated,
    CAST(count(CASE WHEN satisfaction >= $satisfied_min THEN 1 END) AS DOUBLE)
        / NULLIF(count(satisfaction), 0) AS satisfied_share
FROM period
