-- Grain: one row per customer whose first purchase day is on or before $calibration_end: the
-- BG/NBD and Gamma-Gamma inputs (Fader, Hardie & Lee 2005). A purchase is a customer-day with a
-- sale line whose net spend (sales minus the returns dated that day) is > 0, or = 0 with no
-- return that day: split baskets are one purchase; an order cancelled the same day is none; a
-- zero-value sale still is a transaction (CDNOW has them; the published fit counts them). Times
-- are whole days; crm_core/clv.py divides them by the unit. Read from the fact layer's days
-- (_f_days.sql: one row per customer and day with order lines, that day's sums), which hold
-- exactly the per-day sums this grain needs, at any calibration or observation date.
--   frequency (x)       purchase days up to $calibration_end - 1 (repeat purchases)
--   recency_days (t_x)  first to last purchase day up to $calibration_end
--   age_days (T)        first purchase day to $calibration_end
--   monetary_value      mean net amount of the repeat purchase days (first excluded; 0 when x = 0)
--   holdout_frequency   purchase days in ($calibration_end, $observation_end]
--   calibration_revenue net spend of every day up to $calibration_end (past value; returns on a
--                       day without a purchase count here, not in monetary_value)
WITH
-- @include f_days
,
-- @include clv_daily_days
-- @include clv_summary_tail
