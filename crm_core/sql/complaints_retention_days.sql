-- DuckDB only: complaints_retention.sql (same grain, groups, reference dates and rules) with the
-- never-complainers, nearly every reference, decided from the fact layer's customer_days instead
-- of a join of each reference to every order line after it. Read where the catalog holds the fact
-- layer (crm_core/metrics/complaints_outcomes.py); PostgreSQL and Spark run
-- complaints_retention.sql.
--
-- Retention compares order times, so a day decides a reference only where every time on it gives
-- the same answer. The follow-up (ref_at, ref_at + $days days] of a reference on ref_day holds
-- every time of the days strictly between ref_day and ref_day + $days, some times of those two
-- days, and nothing else. A never-complainer's reference is the first non-return line of ref_day,
-- its first purchase day (customer_days with a non-return line) in the window; from that day's row
-- (next_date: the next purchase day; sale_lines: its non-return lines):
-- * next purchase day strictly between: retained;
-- * none up to ref_day + $days, and one line on ref_day (no later one that day): not retained;
-- * otherwise its order lines decide (`unsure`), as they do whether it is a reference at all when
--   ref_day is the day of the last time a reference may have (`last_ref_day`).
-- The complainants (a few per cent of the references) and those unsure ones read their own order
-- lines from ref_day to ref_day + $days; no other order line is read. The customer filters pass or
-- drop all of a customer's lines and days alike (complaints are never filtered by product
-- category: $category is NULL). Order lines always name a customer (a required column).
WITH
-- @include f_complaints
,
-- @include complaints_clock
,
-- @include f_days
,
horizon AS (
    SELECT
        max(last_order_at) AS last_order_at,
        -- The day of the last time a reference may have (its follow-up ends by the last order).
        CAST(max(last_order_at) - CAST($days AS INTEGER) * INTERVAL '1 day' AS DATE) AS last_ref_day
    FROM customer_orders
),
-- @include complaints_retention_firsts
-- Never-complainers: the first purchase day in the window (its previous one is before $start).
never AS (
    SELECT
        d.customer_id,
        d.line_date AS ref_day,
        CASE
            WHEN d.line_date = h.last_ref_day THEN NULL  -- a reference only if early enough
            WHEN d.next_date < d.line_date + CAST($days AS INTEGER) THEN TRUE
            WHEN d.sale_lines > 1 THEN NULL
            WHEN d.next_date = d.line_date + CAST($days AS INTEGER) THEN NULL
            ELSE FALSE
        END AS retained
    FROM f_days AS d
    CROSS JOIN horizon AS h
    WHERE d.sale_lines > 0
      AND d.line_date >= CAST($start AS DATE)
      AND d.line_date < CAST($end_excl AS DATE)
      AND d.line_date <= h.last_ref_day
      AND (d.prev_date IS NULL OR d.prev_date < CAST($start AS DATE))
      AND NOT EXISTS (SELECT 1 FROM complaints AS k WHERE k.customer_id = d.customer_id)
),
-- The references their order lines decide: every complainant, the unsure never-complainers.
unsure AS (
    SELECT
        customer_id,
        CASE WHEN resolve_sla IN ('met', 'breached') THEN resolve_sla ELSE 'unknown' END AS grp,
        CAST(ref_at AS DATE) AS ref_day,
        ref_at
    FROM firsts
    WHERE rn = 1
    UNION ALL
    SELECT customer_id, 'never' AS grp, ref_day, NULL AS ref_at
    FROM never
    WHERE retained IS NULL
),
-- Their non-return lines from ref_day to ref_day + $days, as f_orders (_f_orders.sql) filters the
-- lines: those of a customer passing the customer filters (always, without one), judged once per
-- reference rather than per line. A complainant's customer may fail them while the complaint
-- passes (its own region): a reference without lines, as in complaints_retention.sql.
unsure_lines AS (
    SELECT u.customer_id, u.grp, o.order_date
    FROM unsure AS u
    LEFT JOIN
    -- @include f_passing_customers
    ON fc.customer_id = u.customer_id
    JOIN orders AS o
        ON o.customer_id = u.customer_id
       AND o.order_date >= u.ref_day
       AND o.order_date < u.ref_day + (CAST($days AS INTEGER) + 1) * INTERVAL '1 day'
    WHERE NOT o.is_return
      AND (CAST($category AS VARCHAR) IS NULL OR o.category = $category)
      AND o.order_date >= $start
      AND o.order_date < $end_excl + (CAST($days AS INTEGER) + 1) * INTERVAL '1 day'
      AND
      -- @include fc_passes
),
-- A never-complainer's reference: its first line of ref_day (complaints_retention.sql's min).
unsure_refs AS (
    SELECT
        u.customer_id,
        u.grp,
        coalesce(u.ref_at, (
            SELECT min(l.order_date)
            FROM unsure_lines AS l
            WHERE l.customer_id = u.customer_id AND l.grp = u.grp
        )) AS ref_at
    FROM unsure AS u
),
unsure_verdicts AS (
    SELECT
        r.customer_id,
        r.grp,
        EXISTS (
            SELECT 1
            FROM unsure_lines AS l
            WHERE l.customer_id = r.customer_id AND l.grp = r.grp
              AND l.order_date > r.ref_at
              AND l.order_date <= r.ref_at + CAST($days AS INTEGER) * INTERVAL '1 day'
        ) AS retained
    FROM unsure_refs AS r
    CROSS JOIN horizon AS h
    WHERE r.ref_at + CAST($days AS INTEGER) * INTERVAL '1 day' <= h.last_order_at
),
verdicts AS (
    SELECT 'never' AS grp, retained FROM never WHERE retained IS NOT NULL
    UNION ALL
    SELECT grp, retained FROM unsure_verdicts
)
SELECT
    grp AS customer_group,
    count(*) AS customers,
    count(CASE WHEN retained THEN 1 END) AS retained,
    CAST(count(CASE WHEN retained THEN 1 END) AS DOUBLE) / count(*) AS retention
FROM verdicts
GROUP BY grp
ORDER BY CASE grp WHEN 'met' THEN 0 WHEN 'breached' THEN 1 WHEN 'unknown' THEN 2 ELSE 3 END
