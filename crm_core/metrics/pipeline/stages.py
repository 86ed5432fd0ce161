"""Lead pipeline stages: known vocabularies, display names and the stage order found in data."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class StageVocabulary:
    """A known pipeline: its open stages in order, and the won / lost terminal stage names."""

    name: str
    stages: tuple[str, ...]
    won: tuple[str, ...]
    lost: tuple[str, ...]


# Known stage vocabularies. The one matching most of the data's stage values wins (ties: the
# shortest). Stages of the data that none names are placed by timing or count (stage_order()).
VOCABULARIES = (
    StageVocabulary("zh_auto", ("新线索", "已联系", "到店/试驾", "报价"), ("成交",), ("战败",)),
    StageVocabulary("maven", ("Prospecting", "Engaging"), ("Won",), ("Lost",)),
    StageVocabulary(
        "en", ("Prospecting", "Qualified", "Proposal", "Negotiation"), ("Won",), ("Lost",)
    ),
    StageVocabulary(
        "salesforce",
        (
            "Prospecting",
            "Qualification",
            "Needs Analysis",
            "Value Proposition",
            "Id. Decision Makers",
            "Perception Analysis",
            "Proposal/Price Quote",
            "Negotiation/Review",
        ),
        ("Closed Won",),
        ("Closed Lost",),
    ),
    StageVocabulary(
        "zh_b2b", ("初步接洽", "需求确认", "方案报价", "谈判审核"), ("赢单",), ("输单", "丢单")
    ),
)
# Outcome values that close a lead whatever its stage column says.
WON_OUTCOMES = ("赢单", "成交", "won", "win", "closed won")
LOST_OUTCOMES = ("输单", "战败", "丢单", "lost", "lose", "closed lost")
# Stable keys (`metrics --json`) and display names of known stages; others keep their own name.
STAGE_NAMES: dict[str, tuple[str, str, str]] = {
    "新线索": ("new_lead", "新线索", "New lead"),
    "已联系": ("contacted", "已联系", "Contacted"),
    "到店/试驾": ("visit_test_drive", "到店/试驾", "Visit / test drive"),
    "报价": ("quote", "报价", "Quote"),
    "成交": ("won", "成交", "Won"),
    "战败": ("lost", "战败", "Lost"),
    "prospecting": ("prospecting", "潜在客户开发", "Prospecting"),
    "engaging": ("engaging", "接洽中", "Engaging"),
    "qualified": ("qualified", "已确认需求", "Qualified"),
    "proposal": ("proposal", "方案/报价", "Proposal"),
    "negotiation": ("negotiation", "谈判", "Negotiation"),
    "won": ("won", "赢单", "Won"),
    "closed won": ("won", "赢单", "Closed won"),
    "lost": ("lost", "输单", "Lost"),
    "closed lost": ("lost", "输单", "Closed lost"),
}


def _norm(s: object) -> str:
    return str(s).strip().lower()


def stage_key(stage: str) -> str:
    """Stable English key of a stage (its own name, lower-cased, for stages not in STAGE_NAMES)."""
    hit = STAGE_NAMES.get(stage) or STAGE_NAMES.get(_norm(stage))
    return hit[0] if hit else _norm(stage).replace(" ", "_")


def stage_label(stage: str, lang: str) -> str:
    """Display name of a stage in `lang`."""
    hit = STAGE_NAMES.get(stage) or STAGE_NAMES.get(_norm(stage))
    return (hit[1] if lang == "zh" else hit[2]) if hit else stage


def label_stages(df: pd.DataFrame, lang: str, stage_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """A copy with stage names shown in `lang`: the values of `stage` / `step` columns and the
    headers of `stage_columns` (e.g. the steps of funnel_by())."""
    out = df.copy()
    for col in ("stage", "step"):
        if col in out:
            out[col] = out[col].map(lambda s: stage_label(s, lang))
    return out.rename(columns={c: stage_label(c, lang) for c in stage_columns})


@dataclass(frozen=True)
class StageOrder:
    """The funnel's open stages in order, the won stage shown last, and how the order was found."""

    stages: tuple[str, ...]
    won: str
    won_values: frozenset[str]
    lost_values: frozenset[str]
    vocabulary: str | None
    inferred: tuple[str, ...]  # stages placed by timing / count, not by a vocabulary
    basis: str  # "vocabulary", "timing" or "count"

    @property
    def steps(self) -> tuple[str, ...]:
        return (*self.stages, self.won)


def _classify(stage: pd.Series, outcome: pd.Series, won: set[str], lost: set[str]) -> pd.Series:
    st, oc = stage.map(_norm), outcome.fillna("").map(_norm)
    cls = pd.Series("open", index=stage.index)
    cls[st.isin(lost) | oc.isin({_norm(x) for x in LOST_OUTCOMES})] = "lost"
    cls[st.isin(won) | oc.isin({_norm(x) for x in WON_OUTCOMES})] = "won"
    return cls


def stage_order(
    stats: pd.DataFrame, vocabularies: tuple[StageVocabulary, ...] = VOCABULARIES
) -> StageOrder:
    """Order the stages of pipeline_stage_stats rows: the best-matching vocabulary's stages in
    its order (all of them: a lead at stage k reached every stage before k), and stages it does
    not name placed by median days from creation to entering them (when stage_changed_at is
    known) or else by lead count, larger first. Stages closed by outcome are terminal."""
    values = {_norm(s): s for s in stats["stage"].dropna().unique()}
    best, best_hits = None, 0
    for v in vocabularies:
        names = {_norm(s) for s in (*v.stages, *v.won, *v.lost)}
        hits = len(names & values.keys())
        if hits > best_hits or (
            best is not None and hits == best_hits and hits and len(names) < _size(best)
        ):
            best, best_hits = v, hits
    won_values = {_norm(s) for s in best.won} if best else set()
    lost_values = {_norm(s) for s in best.lost} if best else set()
    cls = _classify(stats["stage"], stats["outcome"], won_values, lost_values)
    by_stage = stats.assign(cls=cls, key=stats["stage"].map(_norm))
    # A stage whose leads are all won (lost) by outcome is a terminal stage of this data.
    terminal = by_stage.groupby("key")["cls"].agg(lambda c: c.iloc[0] if c.nunique() == 1 else "")
    won_values |= set(terminal[terminal == "won"].index)
    lost_values |= set(terminal[terminal == "lost"].index)
    known = [s for s in (best.stages if best else ()) if _norm(s) not in won_values | lost_values]
    known_keys = {_norm(s) for s in known}
    unknown = [
        values[k]
        for k in sorted(values)
        if k not in known_keys and k not in won_values and k not in lost_values
    ]
    # Lead-weighted mean of the (stage, outcome) groups' medians: a sort key, not a statistic.
    x = by_stage["median_days_to_stage"].astype(float)
    w = by_stage["with_stage_time"].astype(float).where(x.notna(), 0.0)
    sums = by_stage.assign(wx=w * x.fillna(0.0), w=w).groupby("key")[["wx", "w"]].sum()
    timing = (sums["wx"] / sums["w"]).where(sums["w"] > 0)
    counts = by_stage.groupby("key")["leads"].sum()
    use_timing = bool(unknown) and timing.reindex([_norm(s) for s in unknown]).notna().all()

    def sort_key(stage: str) -> float:
        k = _norm(stage)
        return float(timing.get(k, math.nan)) if use_timing else -float(counts.get(k, 0))

    ordered = list(known)
    for u in sorted(unknown, key=sort_key):
        pos = next(
            (
                i
                for i, s in enumerate(ordered)
                if not math.isnan(sort_key(s)) and sort_key(s) > sort_key(u)
            ),
            len(ordered),
        )
        ordered.insert(pos, u)
    won_name = (
        best.won[0] if best else next((values[k] for k in sorted(won_values) if k in values), "won")
    )
    return StageOrder(
        stages=tuple(ordered),
        won=won_name,
        won_values=frozenset(won_values | {_norm(won_name)}),
        lost_values=frozenset(lost_values),
        vocabulary=best.name if best else None,
        inferred=tuple(unknown),
        basis="vocabulary" if not unknown else ("timing" if use_timing else "count"),
    )


def _size(v: StageVocabulary) -> int:
    return len(v.stages) + len(v.won) + len(v.lost)
