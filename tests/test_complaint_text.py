"""The Complaints page's tables in words: hand-made results, what the page lists and draws."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from crm_core.present import complaint_text


def test_spike_table_names_what_crossed_the_rule() -> None:
    spikes = pd.DataFrame(
        {
            "start_date": [dt.date(2026, 3, 2), dt.date(2026, 6, 1)],
            "end_date": [dt.date(2026, 3, 15), dt.date(2026, 6, 14)],
            "complaints": [32, 40],
            "baseline": [20.5, 21.0],
            "z": [2.2, 3.4],
            "drivers_text": ["A +11, B +4", None],
            "total_flagged": [False, True],
            "trigger_z": [3.3, 3.4],
        }
    )
    table = complaint_text.spike_table(spikes, (("A", "B"), ()), "Total")
    # Row 1: only categories A and B crossed; row 2: only the total did.
    assert table["triggers_text"].tolist() == ["A、B", "Total"]
    assert list(table.columns) == list(complaint_text.SPIKE_TABLE_COLUMNS)


def test_rated_buckets_draw_only_what_someone_rated() -> None:
    res = pd.DataFrame(
        {
            "bucket": [0, 1, 5],
            "label": ["≤4", "4–24", "open"],
            "complaints": [10, 4, 3],
            "rated": [8, 0, 2],
            "satisfied_share": [0.75, None, 0.5],
        }
    )
    x, shares, unrated = complaint_text.rated_buckets(res, {"open": "Open"})
    # Buckets 0 and 5 have ratings (8 and 2): drawn, "open" named; bucket 1 (0 rated) is not.
    assert x.tolist() == ["≤4", "Open"] and shares.tolist() == [0.75, 0.5]
    assert unrated == ["4–24"]
