"""Why a figure changed, in words: the takeaway sentence, contributor labels, the JSON document."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from crm_core.metrics import explain, value
from crm_core.metrics.explain import Contributor, Explanation
from crm_core.metrics.overview import Period
from crm_core.present import i18n


def contributor_label(c: Contributor, lang: str) -> str:
    """A contributor as a page, a chart or the JSON names it: its value, a tier's name, or
    "blank" / "others" in words."""
    if c.kind != "value":
        return i18n.t(f"explain.{c.kind}", lang)
    if c.dimension == "tier" and c.value in value.TIER_KEYS:
        return value.tier_name(c.value, lang)
    return str(c.value)


def _pct(x: Decimal | None) -> str:
    return i18n.MISSING if x is None else i18n.fmt_change(float(x))


def takeaway(e: Explanation, lang: str = "zh") -> str:
    """One sentence: the metric's change, its factors' changes and the top contributor's share,
    e.g. "营收 −12%：客户数 −3%，客单价 −9%；区域「华南」贡献了变化的 70%"."""
    name = i18n.t(f"explain.metrics.{e.metric}", lang)
    if e.change == 0:
        return i18n.t("explain.unchanged", lang, metric=name)
    amount = i18n.fmt_number(float(e.change), lang, 2 if explain.is_money(e.metric) else 0)
    head = (
        _pct(e.change_pct)
        if e.change_pct is not None
        else (amount if e.change < 0 else "+" + amount)
    )
    parts = [
        f"{i18n.t(f'explain.components.{k}', lang)} {_pct(v)}" for k, v in e.factor_changes.items()
    ]
    if e.metric == "customers":
        parts = [
            i18n.t(f"explain.components.{k}", lang)
            + f" {'+' if v > 0 else ''}{i18n.fmt_number(float(v), lang)}"
            for k, v in e.components.items()
        ]
    text = i18n.t("explain.takeaway_head", lang, metric=name, change=head)
    if parts:
        text += i18n.t("explain.colon", lang) + i18n.t("explain.joiner", lang).join(parts)
    top = e.top_contributor()
    if top:
        c, share = top
        text += i18n.t(
            "explain.takeaway_top",
            lang,
            dimension=i18n.t(f"explain.dimensions.{c.dimension}", lang),
            value=contributor_label(c, lang),
            share=i18n.fmt_pct(float(share), 0),
        )
    return text


def _num(x: Decimal, metric: str) -> float | int:
    return int(x) if x == x.to_integral_value() and not explain.is_money(metric) else float(x)


def _period_json(p: Period) -> dict[str, str]:
    return {"start": p.start.isoformat(), "end": p.end.isoformat()}


def to_json(e: Explanation, lang: str = "zh") -> dict[str, Any]:
    """The `explain --json` document: {metric, period, previous_period, previous, current,
    change, components, residual, not_applicable, contributors: [{dimension, value, kind, label,
    change}], takeaway}; components + residual == change and each dimension's contributors sum
    to change, to the cent."""
    return {
        "metric": e.metric,
        "period": _period_json(e.period),
        "previous_period": _period_json(e.previous_period),
        "previous": _num(e.previous, e.metric),
        "current": _num(e.current, e.metric),
        "change": _num(e.change, e.metric),
        "components": {k: _num(v, e.metric) for k, v in e.components.items()},
        "residual": _num(e.residual, e.metric),
        "not_applicable": (
            None
            if e.not_applicable is None
            else {
                "factor": e.not_applicable,
                "reason": i18n.t(
                    "explain.not_applicable",
                    lang,
                    factor=i18n.t(f"explain.components.{e.not_applicable}", lang),
                ),
            }
        ),
        "contributors": [
            {
                "dimension": c.dimension,
                "value": c.value,
                "kind": c.kind,
                "label": contributor_label(c, lang),
                "change": _num(c.change, e.metric),
            }
            for c in e.contributors
        ],
        "takeaway": takeaway(e, lang),
    }
