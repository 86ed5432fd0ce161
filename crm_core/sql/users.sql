-- Grain: one row per account, by name; never the password hash.
SELECT
    name,
    role,
    regions,
    owners,
    password_hash IS NOT NULL AS has_password,
    created_at,
    changed_at,
    failed_logins,
    locked_until,
    email,
    webhook,
    webhook_format,
    lang
FROM users
ORDER BY name
