"""Number formats of crm_core.i18n: compact tile values, exact values, missing values."""

from __future__ import annotations

import math

import pytest

from crm_core import i18n


@pytest.mark.parametrize(
    ("value", "en", "zh"),
    [
        (5000, "5,000", "5,000"),
        (9999.4, "9,999", "9,999"),
        (13735, "13.7K", "1.37万"),
        (99950, "100K", "10.0万"),
        (999499, "999K", "99.9万"),
        (999999, "1.00M", "100万"),
        (14_569_171, "14.6M", "1,457万"),
        (480_706_782.35, "481M", "4.81亿"),
        (1_273_289_950.79, "1.27B", "12.7亿"),
        (99_996_000, "100M", "1.00亿"),
        (-67_656_317, "-67.7M", "-6,766万"),
        (12e12, "12.0T", "12.0万亿"),
    ],
)
def test_compact_numbers(value: float, en: str, zh: str) -> None:
    assert i18n.fmt_compact(value, "en") == en
    assert i18n.fmt_compact(value, "zh") == zh


def test_compact_keeps_small_numbers_and_their_decimals() -> None:
    assert i18n.fmt_compact(4.0, "en", 2) == "4.00"
    assert i18n.fmt_compact(66.04, "zh", 1) == "66.0"


@pytest.mark.parametrize("missing", [None, math.nan, float("nan")])
def test_missing_values_are_a_dash(missing: object) -> None:
    for fmt in (i18n.fmt_compact, i18n.fmt_exact, i18n.fmt_pct, i18n.fmt_change):
        assert fmt(missing) == i18n.MISSING


def test_exact_has_every_digit() -> None:
    assert i18n.fmt_exact(480_706_782.35) == "480,706,782"
    assert i18n.fmt_exact(480_706_782.35, 2) == "480,706,782.35"
