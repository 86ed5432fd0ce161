-- Grain: one row per RFM 8-segment code ('HHH' … 'LLL': R, F, M high/low against the mean)
-- among customers buying in [$start, $end_excl), as of $as_of, under the global filters.
WITH
-- @include value_window
,
-- @include value_base
-- @include value_segments_body
