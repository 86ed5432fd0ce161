-- Grain: one row per account, by name: its scope and where its weekly digest goes.
SELECT name, role, regions, owners, email, webhook, webhook_format, lang
FROM users
ORDER BY name
