-- Grain: the account named $user (zero or one row), with what a sign-in checks.
SELECT name, password_hash, role, regions, owners, failed_logins, locked_until
FROM users
WHERE name = $user
