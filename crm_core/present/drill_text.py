"""Drill-down lists in words: tier, segment and stage keys as names, headers from the catalogue."""

from __future__ import annotations

import pandas as pd

from crm_core.metrics import pipeline, value
from crm_core.present import i18n
from crm_core.present.lifecycle_text import stage_labels


def labelled(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A drill list as a page shows it: tier, RFM segment, lifecycle stage and lead stage keys as
    display names in `lang`, headers from the catalogue (drill.col.*); values otherwise as is."""
    out = df.copy()
    if "tier" in out:
        out["tier"] = out["tier"].map(lambda k: value.tier_name(k, lang))
    if "rfm_segment" in out:
        names = {s.key: s.name(lang) for s in value.SEGMENTS}
        out["rfm_segment"] = out["rfm_segment"].map(names)
    if "stage" in out and "lead_id" not in out:
        out["stage"] = out["stage"].map(stage_labels(lang))
    elif "stage" in out:
        out["stage"] = out["stage"].map(lambda s: pipeline.stage_label(s, lang))
    return out.rename(columns=lambda c: i18n.t(f"drill.col.{c}", lang))
