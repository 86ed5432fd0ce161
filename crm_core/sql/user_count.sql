-- Grain: one row: how many sign-in accounts the users table holds.
SELECT count(*) AS users FROM users
