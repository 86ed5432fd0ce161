"""The churn model in words: the numbers of the page's note on a fit the data cannot pin down."""

from __future__ import annotations

from typing import Any

from crm_core.metrics import clv_models as models
from crm_core.present import i18n


def not_identified_facts(summary: dict[str, Any]) -> dict[str, str]:
    """The numbers of the page's technical note on a not-identified fit (a `clv_json` block):
    a, b and b's standard error to 3 significant digits ("∞" when infinite), the profile factor
    and the smaller of the two profile log-likelihood drops ("–" when the profile was not flat)."""
    bg, se = summary["bgnbd"], summary.get("standard_errors") or {}
    drops = [
        min(float(r["b_div"]), float(r["b_mul"]))
        for r in summary.get("reasons", [])
        if r.get("code") == "flat_likelihood"
    ]
    se_b = se.get("b")
    return {
        "a": f"{bg['a']:.3g}",
        "b": f"{bg['b']:.3g}",
        "se_b": "∞" if se_b is None else f"{se_b:.3g}",
        "factor": f"{models.PROFILE_FACTOR:g}",
        "drop": f"{drops[0]:.2g}" if drops else i18n.MISSING,
    }
