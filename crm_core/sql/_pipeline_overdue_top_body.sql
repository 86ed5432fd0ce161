-- Fragment: what pipeline_overdue_top.sql selects from `lead_rows` (_pipeline_lead_rows.sql).
,
ranked AS (
    SELECT
        *,
        row_number() OVER (
            ORDER BY days_overdue DESC, CASE WHEN owner IS NULL THEN 1 ELSE 0 END, owner, lead_id
        ) AS overdue_rank
    FROM lead_rows
    WHERE NOT closed_by_as_of
      AND days_overdue > 0
      AND (
          closed_at IS NOT NULL
          OR strpos(
              CAST($open_pairs AS VARCHAR),
              chr(31) || coalesce(stage, chr(30)) || chr(29) || coalesce(outcome, chr(30))
              || chr(31)
          ) > 0
      )
),
top_rows AS (
    SELECT * FROM ranked WHERE overdue_rank <= CAST($limit AS INTEGER)
)
SELECT
    -- @include pipeline_overdue_columns
    ,
    overdue_rank,
    row_number() OVER (
        ORDER BY CASE WHEN owner IS NULL THEN 1 ELSE 0 END, owner, days_overdue DESC, lead_id
    ) AS list_rank
FROM top_rows
ORDER BY overdue_rank
