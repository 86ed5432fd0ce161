-- Grain: one row per audited action (sign-ins, loads, exports, …), newest first, at most $limit.
SELECT logged_at, actor, action, detail, rows
FROM audit_log
ORDER BY logged_at DESC, action
LIMIT $limit
