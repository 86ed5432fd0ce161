"""The Complaints page's tables in words: the spike list, satisfaction by resolution time."""

from __future__ import annotations

import pandas as pd

from crm_core.metrics.complaints import spike_triggers

SPIKE_TABLE_COLUMNS = (
    "start_date", "end_date", "complaints", "baseline", "trigger_z", "triggers_text", "drivers_text"
)  # fmt: skip


def spike_table(
    spikes: pd.DataFrame, flagged: tuple[tuple[str, ...], ...], total_label: str
) -> pd.DataFrame:
    """The spike fortnights as the page lists them (ComplaintsReport.spikes and .spike_flagged):
    SPIKE_TABLE_COLUMNS, triggers_text being complaints.spike_triggers (`total_label` where the
    total crossed, then the categories that did)."""
    lists = pd.Series([list(f) for f in flagged], spikes.index, object)
    flags = pd.DataFrame({"total_flagged": spikes["total_flagged"], "flagged": lists})
    shown = spikes.assign(triggers_text=spike_triggers(flags, total_label))
    return shown[list(SPIKE_TABLE_COLUMNS)]


def rated_buckets(
    by_resolution: pd.DataFrame, names: dict[str, str]
) -> tuple[pd.Series, pd.Series, list[str]]:
    """satisfaction_by_resolution for its chart: the names of the buckets someone rated (labels
    named through `names`), their satisfied shares, and the names of the buckets nobody rated
    (they have no share: named, not drawn)."""
    # map, not Series.replace: replace would try each of the page's ~100 names on the column.
    named = by_resolution["label"].map(lambda label: names.get(label, label))
    rated = by_resolution["rated"] > 0
    return named[rated], by_resolution.loc[rated, "satisfied_share"], list(named[~rated])
