-- Grain: one row per handling stage (received, accepted, handled, feedback, closed) over the
-- complaints received in [$start, $end_excl): how many reached it (its own or a later stage's
-- time is logged), how many have its time logged, and the hours since the latest earlier stage
-- present (median, P90) over non-negative durations; negative ones are counted as errors.
WITH
-- @include f_complaints
,
-- @include complaints_clock
,
period AS (
    SELECT * FROM c_clock WHERE received_at >= $start AND received_at < $end_excl
),
stages AS (
    SELECT * FROM (
        VALUES (0, 'received'), (1, 'accepted'), (2, 'handled'), (3, 'feedback'), (4, 'closed')
    ) AS s (stage_no, stage)
),
long AS (
    SELECT
        s.stage_no,
        s.stage,
        CASE s.stage_no
            WHEN 0 THEN p.s_received
            WHEN 1 THEN coalesce(p.s_accepted, p.s_handled, p.s_feedback, p.s_closed)
            WHEN 2 THEN coalesce(p.s_handled, p.s_feedback, p.s_closed)
            WHEN 3 THEN coalesce(p.s_feedback, p.s_closed)
            ELSE p.s_closed
        END AS reached_h,
        CASE s.stage_no
            WHEN 0 THEN p.s_received
            WHEN 1 THEN p.s_accepted
            WHEN 2 THEN p.s_handled
            WHEN 3 THEN p.s_feedback
            ELSE p.s_closed
        END AS logged_h,
        CASE s.stage_no
            WHEN 1 THEN p.accept_h
            WHEN 2 THEN p.handle_h
            WHEN 3 THEN p.feedback_h
            WHEN 4 THEN p.close_h
        END AS hours
    FROM period AS p
    CROSS JOIN stages AS s
)
SELECT
    stage_no,
    stage,
    count(reached_h) AS reached,
    count(logged_h) AS logged,
    count(CASE WHEN hours >= 0 THEN hours END) AS measured,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY CASE WHEN hours >= 0 THEN hours END) AS median_h,
    percentile_cont(0.9) WITHIN GROUP (ORDER BY CASE WHEN hours >= 0 THEN hours END) AS p90_h,
    count(CASE WHEN hours < 0 THEN hours END) AS errors
FROM long
GROUP BY stage_no, stage
ORDER BY stage_no
