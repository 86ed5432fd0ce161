-- Fragment: the single value window [$start, $end_excl) as of $as_of that value_window_base reads
-- (value_migration defines two windows for value_base instead).
windows AS (
    SELECT
        1 AS w,
        CAST($start AS DATE) AS start_date,
        CAST($end_excl AS DATE) AS end_excl,
        CAST($as_of AS DATE) AS as_of
)
