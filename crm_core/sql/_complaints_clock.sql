-- Fragment (after f_complaints): every complaint with its handling clock in hours and its SLA
-- outcome per SLA stage. c_epoch is the only place that turns timestamps into numbers (epoch
-- seconds, exact for whole seconds, so their differences are exact hours * 3600): a dialect
-- shim swaps its EXTRACT(EPOCH ...) expressions and nothing else.
--
-- Rules (docs/metrics.md, "Complaints"):
-- * A stage's duration runs from the latest earlier stage that is present (an unlogged
--   acceptance makes "handled" run from receipt). A negative duration is a data error: it is
--   left out of durations and medians and counted.
-- * SLA clocks run from receipt. Accepted = the acceptance time, else the earliest later stage
--   logged (an upper bound); resolved = handled, else feedback, else closed.
-- * Outcome per SLA stage: met (hours <= allowed, the boundary counts as met), breached (later,
--   or still not done and older than allowed at the as-of time), pending (not done, still in
--   time), invalid (a stage time before receipt).
-- * SLA hours by severity: the high and low values get their own hours, anything else (the
--   medium value, blanks, unknown labels) the medium hours.
c_epoch AS (
    SELECT
        f.*,
        EXTRACT(EPOCH FROM f.received_at) AS s_received,
        EXTRACT(EPOCH FROM f.accepted_at) AS s_accepted,
        EXTRACT(EPOCH FROM f.handled_at) AS s_handled,
        EXTRACT(EPOCH FROM f.feedback_at) AS s_feedback,
        EXTRACT(EPOCH FROM f.closed_at) AS s_closed,
        EXTRACT(EPOCH FROM CAST($as_of AS TIMESTAMP)) AS s_as_of
    FROM f_complaints AS f
),
c_clock AS (
    SELECT
        h.*,
        (s_accepted - s_received) / 3600.0 AS accept_h,
        (s_handled - coalesce(s_accepted, s_received)) / 3600.0 AS handle_h,
        (s_feedback - coalesce(s_handled, s_accepted, s_received)) / 3600.0 AS feedback_h,
        (s_closed - coalesce(s_feedback, s_handled, s_accepted, s_received)) / 3600.0 AS close_h,
        (s_closed - s_received) / 3600.0 AS resolution_h,
        (coalesce(s_accepted, s_handled, s_feedback, s_closed) - s_received) / 3600.0
            AS to_accept_h,
        (coalesce(s_handled, s_feedback, s_closed) - s_received) / 3600.0 AS to_resolve_h,
        (s_as_of - s_received) / 3600.0 AS age_h,
        CASE severity
            WHEN $sev_high THEN $sla_accept_high
            WHEN $sev_low THEN $sla_accept_low
            ELSE $sla_accept_mid
        END AS sla_accept_h,
        CASE severity
            WHEN $sev_high THEN $sla_resolve_high
            WHEN $sev_low THEN $sla_resolve_low
            ELSE $sla_resolve_mid
        END AS sla_resolve_h
    FROM c_epoch AS h
),
c_sla AS (
    SELECT
        k.*,
        CASE
            WHEN to_accept_h < 0 THEN 'invalid'
            WHEN to_accept_h <= sla_accept_h THEN 'met'
            WHEN to_accept_h > sla_accept_h THEN 'breached'
            WHEN age_h > sla_accept_h THEN 'breached'
            ELSE 'pending'
        END AS accept_sla,
        CASE
            WHEN to_resolve_h < 0 THEN 'invalid'
            WHEN to_resolve_h <= sla_resolve_h THEN 'met'
            WHEN to_resolve_h > sla_resolve_h THEN 'breached'
            WHEN age_h > sla_resolve_h THEN 'breached'
            ELSE 'pending'
        END AS resolve_sla
    FROM c_clock AS k
)
