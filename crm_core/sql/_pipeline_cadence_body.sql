-- Fragment: what pipeline_cadence.sql selects from `lead_rows` (_pipeline_lead_rows.sql).
SELECT
    coalesce(grade, '–') AS grade,
    count(*) AS leads,
    sum(CASE WHEN contacts = 0 THEN 1 ELSE 0 END) AS never_contacted,
    min(required_days) AS required_days,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY actual_days) AS median_actual_days,
    -- DOUBLE, not a decimal literal: Spark would keep 5 decimals of a DECIMAL average.
    avg(CAST(CASE
        WHEN actual_days IS NULL THEN NULL
        WHEN actual_days <= required_days THEN 1
        ELSE 0
    END AS DOUBLE)) AS on_cadence_share,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY hours_to_first_contact)
        AS median_hours_to_first_contact
FROM lead_rows
GROUP BY coalesce(grade, '–')
