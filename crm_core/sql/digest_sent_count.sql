-- Grain: one row: how often the digest named by $detail ("<user> week=<monday> via=<channel>")
-- was recorded as sent; a digest is never sent twice.
SELECT count(*) AS sent
FROM audit_log
WHERE action = 'digest_sent' AND detail = $detail
