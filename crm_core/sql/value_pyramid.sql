-- Grain: one row per value tier that has customers (tier_no 1-4 active, 5 sleeping,
-- 6 prospect) as of $as_of over the window [$start, $end_excl), under the global filters.
-- Revenue is net of returns. Shares are of the active tiers' total (a sleeping customer's
-- returns in the window make its tier's net negative; it has no share).
-- Ratios are DOUBLE: Spark keeps only 6 decimals of a DECIMAL / DECIMAL quotient.
WITH
-- @include value_window
,
-- @include value_base
-- @include value_pyramid_body
